"""``show PLANFILE``: a saved plan rendered again, as text, JSON or markdown, without touching the API.

The saved document (render.plan_document, URLs already redacted) is turned back into a Plan so that the
same renderers that printed it at ``plan`` time print it now. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds.replicas.models import RemoteReplica


def _remote(item: Mapping) -> RemoteReplica:
    progress = item.get("progress")
    text = None if progress is None else f"{progress}/100"
    preview = item.get("phase") == "preview"  # issue 25: a preview stays one when shown again
    return RemoteReplica(replica_id=str(item.get("replica_id") or ""), name=str(item.get("name") or ""),
                         status=str(item.get("status") or ""), training_progress=None if preview else text,
                         finetunes=preview, finetune_progress=text if preview else None)


def plan_from_document(doc: Mapping) -> Plan:
    """Raises ValueError/KeyError/TypeError on a document this version cannot read."""
    changes = tuple(
        Change(Action(c["action"]), str(c["name"]), str(c.get("reason") or ""),
               object_id=c.get("replica_id") or c.get("persona_id"), before=c.get("before"), after=c.get("after"),
               **_persona_fields(c))
        for c in doc.get("changes", ())
    )
    return Plan(
        changes=changes,
        pending=tuple(_remote(r) for r in doc.get("pending", ())),
        unmanaged=tuple(_remote(r) for r in doc.get("unmanaged", ())),
        errors=tuple(str(e) for e in doc.get("errors", ())),
        warnings=tuple(str(w) for w in doc.get("warnings", ())),
        missing_vars=tuple(str(v) for v in doc.get("missing_vars", ())),
        forgotten=tuple(_remote(r) for r in doc.get("forgotten", ())),
        unmanaged_personas=tuple(_persona(p) for p in doc.get("unmanaged_personas", ())),
        uncompared=tuple((str(u["name"]), tuple(str(a) for a in u.get("attributes", ())))
                         for u in doc.get("uncompared", ())),
        forgotten_personas=tuple(_persona(p) for p in doc.get("forgotten_personas", ())),
        rollout=_rollout(doc["rollout"]) if doc.get("rollout") is not None else None,
        safety=_safety(doc),
    )


def _safety(doc: Mapping):
    """The scope, policy rules and mass-change guard the plan was checked with (issue 28), or None."""
    from reconciler.engine.policy import from_document

    return from_document(doc)


def _persona(item: Mapping):
    from reconciler.kinds.personas.models import RemotePersona

    return RemotePersona(persona_id=str(item.get("persona_id") or ""), name=str(item.get("name") or ""))


def _persona_fields(c: Mapping) -> dict:
    """A persona change's fields as saved (render._persona_fields), so it is shown as it was at plan time."""
    if c.get("kind") != "personas":
        return {}
    from reconciler.kinds.personas.wiring import replica_ref

    return {"kind": "personas",
            "refs": (replica_ref(c["default_replica"]),) if c.get("default_replica") else (),
            "diff": tuple((str(d["path"]), d.get("before"), d.get("after")) for d in c.get("diff", ())),
            "uncomparable": tuple(str(a) for a in c.get("uncomparable", ())),
            "resent": tuple(str(a) for a in c.get("resent", ())),
            "discard_drafts": c.get("discard_editor_drafts") is True}


def _rollout(doc: Mapping):
    """The plan's rollout (issue 19) from its document; settings are checked, as the file's would be."""
    from reconciler.engine.rollout import VERIFY_CHOICES, Rollout, RolloutSettings, Step

    size, canary, verify = doc["max_replacing"], doc["canary"], doc["verify"]
    if type(size) is not int or size < 1 or type(canary) is not int or canary < 0 or verify not in VERIFY_CHOICES:
        raise ValueError("rollout settings out of range")
    steps = tuple(Step(str(s["name"]), s.get("replica_id"), str(s.get("phase") or "create"), s.get("successor_id"),
                       bool(s.get("canary")), int(s["batch"])) for s in doc.get("steps", ()))
    return Rollout(RolloutSettings(size, canary, verify), steps)
