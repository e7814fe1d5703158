"""A persona change in the plan document (reconciler/kinds/personas/view.py)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change
from reconciler.kinds.personas.view import document_fields
from reconciler.kinds.personas.wiring import replica_ref

SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def test_fields_redacted_and_optional_keys_only_when_set():
    c = Change(Action.UPDATE, "p", "x", kind="personas", object_id="p1", diff=(("layers.x", None, SIGNED),))
    fields = document_fields(c)
    assert set(fields) == {"kind", "persona_id", "diff", "uncomparable"} and "SECRETSIG" not in str(fields)
    full = document_fields(Change(Action.CREATE, "p", "x", kind="personas", refs=(replica_ref("r"),), resent=("a",),
                                  discard_drafts=True))
    assert full["default_replica"] == "r" and full["resent"] == ["a"] and full["discard_editor_drafts"] is True
