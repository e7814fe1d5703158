"""``status``, ``output`` and ``export`` for the kinds the generic engine plans (issue 27: documents, guardrails,
objectives...): pure functions over the file's declared entries and the listed objects; they name no kind.

- :func:`status_rows`: one row per declared object (present with its id, or absent), then the unmanaged
  objects in scope; a kind with readiness (:class:`~reconciler.engine.kind.WithReadiness`) reports its phase.
- :func:`output_ids`: ``{"<noun>:<name>": id}`` of every declared object that exists (what CI passes on).
- :func:`export_sections`: the file sections adopting the listed objects in scope (pinned by id), for the kinds
  that say how (``export_entry(remote, name, warnings)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.engine.kind import WithReadiness, has


def _planned(kinds: Sequence[Any], config: Any, listed: Mapping[str, Sequence[Any]]) -> Any:
    from reconciler.engine.objects import plan_objects

    settings = config.settings
    return plan_objects(kinds, {k: list(v) for k, v in config.objects.items()}, listed, prune=False,
                        in_scope=settings.in_scope, name_prefix=settings.name_prefix,
                        removed=getattr(config, "removed_names", ()))


def _by_id(k: Any, listed: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    return {k.remote_id(r): r for r in listed.get(k.key, ())}


def status_rows(kinds: Sequence[Any], config: Any, listed: Mapping[str, Sequence[Any]]) -> list[dict]:
    """Rows ``{kind, name, id, phase, managed}`` of the generic kinds the file declares or lists."""
    plan = _planned(kinds, config, listed)
    rows: list[dict] = []
    for k in kinds:
        found = _by_id(k, listed)
        for d in config.objects.get(k.key, ()):
            name = k.name_of(d)
            oid = plan.ids.get((k.key, name))
            remote = found.get(oid) if oid else None
            phase = "absent" if remote is None else (k.phase(remote).value if has(k, WithReadiness) else "present")
            rows.append({"kind": k.noun, "name": name, "id": oid if remote is not None else None, "phase": phase,
                         "managed": True})
    for key, r in plan.unmanaged:
        k = next(x for x in kinds if x.key == key)
        rows.append({"kind": k.noun, "name": k.remote_name(r), "id": k.remote_id(r), "phase": "present",
                     "managed": False})
    return rows


def output_ids(kinds: Sequence[Any], config: Any, listed: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """``{"<noun>:<name>": id}`` of the declared objects that exist."""
    return {f"{r['kind']}:{r['name']}": r["id"] for r in status_rows(kinds, config, listed)
            if r["managed"] and r["id"]}


def absent(config: Any, found: Mapping[str, str]) -> list[str]:
    """The ``"<noun>:<name>"`` keys of declared objects that :func:`output_ids` did not find."""
    from reconciler.kinds import kind

    return [f"{kind(key).noun}:{kind(key).name_of(d)}" for key, entries in config.objects.items() for d in entries
            if f"{kind(key).noun}:{kind(key).name_of(d)}" not in found]


def export_sections(kinds: Sequence[Any], listed: Mapping[str, Sequence[Any]], *, name_prefix: str | None,
                    warnings: list[str]) -> dict[str, list[dict]]:
    """kind key -> the entries adopting its listed objects in scope (by name prefix, spelled the kind's way)."""
    out: dict[str, list[dict]] = {}
    for k in kinds:
        if not hasattr(k, "export_entry"):
            continue
        prefix = name_prefix
        if prefix is not None and hasattr(k, "scope_prefix"):
            prefix = k.scope_prefix(prefix)
        entries = []
        for r in listed.get(k.key, ()):
            name = k.remote_name(r)
            if not k.managed(r) or not name or (prefix is not None and not name.startswith(prefix)):
                continue
            entries.append(k.export_entry(r, name, warnings))
        if entries:
            out[k.key] = entries
    return out


def listed_objects(client: Any, config: Any) -> tuple[list[Any], dict[str, list[Any]]]:
    """(the generic kinds, kind key -> listed objects) for the kinds the file declares (one listing each,
    concurrently: ``reconciler.workflows.inventory``)."""
    from reconciler.engine.planner import generic_kinds
    from reconciler.workflows.inventory import object_inventory

    return generic_kinds(), object_inventory(client, config)


def status_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text status of the generic kinds' rows (names redacted and escaped like every output)."""
    from reconciler.api.redact import escape_control, redact_text

    out = ["", "OBJECTS"]
    for r in rows:
        where = (r["id"] or "absent") if r["managed"] else f"{r['id']} (unmanaged)"
        phase = f"  {r['phase']}" if r["managed"] and r["id"] and r["phase"] != "present" else ""
        out.append(escape_control(redact_text(f"  {r['kind']} {r['name']}  {where}{phase}") or ""))
    return out


def export_text(client: Any, name_prefix: str | None, warnings: list[str]) -> str:
    """The generic kinds' sections of an export, as YAML (``${`` written ``$${``: the file interpolates)."""
    import yaml

    from reconciler.engine.planner import generic_kinds
    from reconciler.workflows.export import _escape_vars

    kinds = [k for k in generic_kinds() if hasattr(k, "export_entry")]
    sections = export_sections(kinds, {k.key: k.list(client) for k in kinds}, name_prefix=name_prefix,
                               warnings=warnings)
    return yaml.safe_dump(_escape_vars(sections), sort_keys=False, allow_unicode=True, width=1000) if sections else ""
