"""How the plan document shows a persona's change (the view hook ``document_fields``; see
reconciler/views/plan_document.py): the nested diff (secrets masked), what could not be compared, the
replica it points at, what is resent, whether editor drafts are discarded. Plan text shows a persona as any
generic kind's object (reconciler/views/plan_text.py)."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.personas.wiring import created_replica
from reconciler.views.common import _redact_deep, redact_text


def document_fields(c: Any) -> dict:
    """A persona change's extra keys: the nested diff (secrets masked), what could not be compared."""
    return {
        "kind": "personas",
        "persona_id": redact_text(c.object_id),
        "diff": [{"path": p, "before": _redact_deep(old), "after": _redact_deep(new)} for p, old, new in c.diff],
        "uncomparable": list(c.uncomparable),
        **({"default_replica": ref} if (ref := created_replica(c)) else {}),
        **({"resent": list(c.resent)} if c.resent else {}),
        **({"discard_editor_drafts": True} if c.discard_drafts else {}),
    }
