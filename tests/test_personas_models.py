"""kinds/personas/models.py: what a persona cites by name (issue 27) and the remote document it is read from."""

from __future__ import annotations

from reconciler.kinds.personas.models import DesiredPersona, RemotePersona


def test_a_desired_persona_cites_nothing_unless_told():
    assert DesiredPersona("p", {}).cited == {}
    assert DesiredPersona("p", {}, cited={"documents": ("hb",)}).cited["documents"] == ("hb",)


def test_the_remote_document_keeps_every_reference_field():
    r = RemotePersona.from_api({"persona_id": "p1", "document_ids": ["d1"], "guardrail_ids": ["g1"],
                                "tool_ids": ["t1"], "layers": {"tts": {"pronunciation_dictionary_id": "pd1"}}})
    assert r.document_ids == ("d1",)
    assert r.document["guardrail_ids"] == ["g1"] and r.document["tool_ids"] == ["t1"]
    assert r.document["layers"]["tts"]["pronunciation_dictionary_id"] == "pd1"
