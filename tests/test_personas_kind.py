"""kinds/personas/kind.py: the persona kind's references (issue 27), its re-point of a replaced object, and an
update whose tools change (attach/detach calls, not the PATCH)."""

from __future__ import annotations

from reconciler.engine.kind import Reference
from reconciler.kinds.personas.kind import PERSONAS
from reconciler.kinds.personas.models import DesiredPersona, RemotePersona


def test_references_are_data_for_every_registered_wired_kind():
    refs = {r.kind: r for r in PERSONAS.references}
    assert refs["replicas"] == Reference("default_replica", "replicas", "default_replica_id")
    assert refs["documents"] == Reference("documents", "documents", "document_ids", many=True)
    assert refs["pronunciation_dictionaries"].id_field == "layers.tts.pronunciation_dictionary_id"


def test_the_document_binds_cited_names_and_drops_them():
    d = DesiredPersona("p", {"system_prompt": "x", "documents": ["hb"]}, cited={"documents": ("hb",)})
    assert PERSONAS.document(d, None, {("documents", "hb"): "d1"}) == {"system_prompt": "x", "document_ids": ["d1"]}
    assert PERSONAS.create_payload(d, None, {("documents", "hb"): "d1"})["document_ids"] == ["d1"]


class Client:
    def __init__(self, personas):
        self.personas, self.patches, self.calls = personas, [], []

    def list_personas(self):
        return self.personas

    def update_persona(self, pid, ops, **kwargs):
        self.patches.append((pid, ops))
        return True

    def _call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json))
        return {"data": []}


def test_repoint_moves_every_user_persona_from_the_old_object_to_the_new():
    ps = [RemotePersona.from_api({"persona_id": "p1", "persona_name": "a", "persona_type": "user",
                                  "document_ids": ["d0", "d1"]}),
          RemotePersona.from_api({"persona_id": "p2", "persona_name": "b", "persona_type": "user",
                                  "document_ids": ["d9"]}),
          RemotePersona.from_api({"persona_id": "p3", "persona_name": "s", "persona_type": "system",
                                  "document_ids": ["d1"]})]
    c = Client(ps)
    ref = Reference("documents", "documents", "document_ids", many=True)
    lines = PERSONAS.repoint(c, ref, "d1", "d2")
    assert c.patches == [("p1", [{"op": "replace", "path": "/document_ids", "value": ["d0", "d2"]}])]
    assert lines == ["persona a (p1): document_ids re-pointed from d1 to d2"]
    assert PERSONAS.repoint(c, Reference("default_replica", "replicas", "default_replica_id"), "r1", "r2") == []


def test_an_update_of_tools_attaches_after_the_patch():
    c = Client([])
    PERSONAS.update(c, "p1", [{"op": "replace", "path": "/system_prompt", "value": "y"},
                              {"op": "replace", "path": "/tool_ids", "value": ["t1"]}])
    assert c.patches == [("p1", [{"op": "replace", "path": "/system_prompt", "value": "y"}])]
    assert [(m, p) for m, p, _ in c.calls] == [("GET", "/v2/pals/p1/tools"), ("POST", "/v2/pals/p1/tools")]
