"""The plan as a document: the JSON-able dict described by schemas/plan.schema.json (URLs and secrets
redacted), its JSON text, and what ``plan --format json|markdown`` prints when there is no plan."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from reconciler.api.redact import escape_control, has_secret
from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds import DEFAULT_KIND
from reconciler.views.common import (
    FORMAT_VERSION,
    JsonSafeWriter,
    _json_safe,
    _object_rows,
    _oid,
    _redact_attrs,
    _redact_deep,
    redact_text,
    view_hook,
)
from reconciler.views.json_text import Rows, dumps_indented, write_indented
from reconciler.views.md import _md_code, _md_text


def plan_document(plan: Plan, *, file: str) -> dict:
    """The plan as a JSON-able dict (described by schemas/plan.schema.json); URLs redacted."""
    return {
        "format_version": FORMAT_VERSION,
        "file": file,
        "changes": [
            {
                "action": c.action.value,
                "name": redact_text(c.name),
                "replica_id": redact_text(c.object_id) if c.kind == DEFAULT_KIND else None,
                "reason": redact_text(c.reason),
                "before": _redact_attrs(c.before),
                "after": _redact_attrs(c.after),
                **({"phase": c.phase or "create", "successor_id": redact_text(c.successor_id)}
                   if c.action is Action.REPLACE else {}),
                **_change_fields(c),
            }
            for c in plan.changes
        ],
        "pending": [
            {"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status,
             "progress": r.progress_percent, **({"phase": "preview"} if r.preview else {})}
            for r in plan.pending
        ],
        # remote names are untrusted: one may be a presigned URL or the key itself (found by the API fuzz test)
        "unmanaged": [_replica_row(r) for r in plan.unmanaged],
        "forgotten": [{"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status}
                      for r in plan.forgotten],
        **({"forgotten_personas": [{"name": redact_text(p.name or ""), "persona_id": redact_text(p.persona_id)}
                                   for p in plan.forgotten_personas]} if plan.forgotten_personas else {}),
        **({"forgotten_objects": [{"kind": key, "name": redact_text(getattr(o, "name", "") or ""),
                                   "id": redact_text(_oid(key, o))} for key, o in plan.forgotten_objects]}
           if plan.forgotten_objects else {}),
        **({"unmanaged_personas": [{"name": redact_text(p.name), "persona_id": redact_text(p.persona_id)}
                                   for p in plan.unmanaged_personas],
            "uncompared": [{"name": redact_text(n), "attributes": list(a)} for n, a in plan.uncompared]}
           if plan.unmanaged_personas or plan.uncompared else {}),
        **({"unmanaged_objects": _object_rows(plan.unmanaged_objects)} if plan.unmanaged_objects else {}),
        **({"checked": [{"kind": k, "name": redact_text(n)} for k, n in plan.checked]}
           if plan.checked is not None else {}),
        "errors": [redact_text(e) for e in plan.errors],
        "warnings": [redact_text(w) for w in plan.warnings],
        "missing_vars": list(plan.missing_vars),
        "summary": plan.summary,
        **({"rollout": _rollout_document(plan)} if plan.rollout is not None else {}),
        **(_safety_document(plan) if plan.safety is not None else {}),
    }


def _safety_document(plan: Plan) -> dict:
    """``scope``, ``policy`` and ``mass_change`` (issue 28): what plan and apply checked."""
    from reconciler.engine.policy import document

    return _redact_deep(document(plan.safety))


def _rollout_document(plan: Plan) -> dict:
    from reconciler.views import rollout_view

    doc = rollout_view.document(plan.rollout)
    doc["steps"] = [{**st, "name": redact_text(st["name"])} for st in doc["steps"]]
    return doc


def _change_fields(c: Change) -> dict:
    """A change's keys beyond the common ones: the kind's view hook ``document_fields(change)``
    (``kinds/<kind>/view.py``), or the generic kind's (:func:`_object_fields`)."""
    hook = view_hook(c.kind, "document_fields")
    return hook(c) if hook is not None else _object_fields(c)


def _object_fields(c: Change) -> dict:
    """A generic kind's change (reconciler.engine.objects): its kind, the object's id, the nested diff."""
    return {"kind": c.kind, "object_id": redact_text(c.object_id),
            "diff": [{"path": p, "before": _redact_deep(old), "after": _redact_deep(new)} for p, old, new in c.diff]}


def _replica_row(r) -> dict:
    return {"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status}


def _replica_rows(chunk) -> list[dict]:
    """:func:`_replica_row` of every replica in ``chunk``; names and ids that redaction would leave as they are
    (no URL, no ``=``, no registered secret: decided on the chunk at once) are taken as they are, without two
    calls a replica (100,000 unmanaged: about 0.1 s)."""
    text = "\n".join([f"{r.name}\n{r.replica_id}" for r in chunk])
    if "://" in text or "=" in text or has_secret(text):
        return [_replica_row(r) for r in chunk]
    return [{"name": r.name, "replica_id": r.replica_id, "status": r.status} for r in chunk]


def _json_document(plan: Plan, *, file: str) -> dict:
    from dataclasses import replace

    document = plan_document(replace(plan, unmanaged=()), file=file)
    document["unmanaged"] = Rows(plan.unmanaged, _replica_rows)  # (the rows plan_document makes, in the same place)
    return document


def plan_json(plan: Plan, *, file: str) -> str:
    return _json_safe(dumps_indented(_json_document(plan, file=file), end="\n"))


def write_plan_json(plan: Plan, write: Callable[[str], object], *, file: str) -> None:
    """:func:`plan_json`'s text handed to ``write`` in pieces as it is made: a 100,000-replica plan's 10 MB
    of JSON is never held whole (issue 29: 20 MB off its peak memory)."""
    safe = JsonSafeWriter(write)
    write_indented(_json_document(plan, file=file), safe, end="\n")
    safe.close()


def plan_failure(errors: Sequence[str], *, file: str, fmt: str) -> str:
    """What ``plan --format json|markdown`` prints when there is no plan (a bad file, a refused API call): a
    document carrying the errors, so a PR comment or a consumer shows why instead of nothing."""
    errors = [redact_text(escape_control(e)) or "" for e in errors]
    if fmt == "json":
        doc = {"format_version": FORMAT_VERSION, "file": file, "failed": True, "errors": errors}
        return _json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"
    out = [f"### tavus-reconciler plan failed: {_md_code(file, cell=False)}", ""]
    out += [f"> **Error:** {_md_text(e)}" + ("" if i == len(errors) - 1 else "  ") for i, e in enumerate(errors)]
    out += ["", "No plan was made, so nothing can be applied: fix the errors above and plan again.", ""]
    return "\n".join(out)
