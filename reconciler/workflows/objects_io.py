"""``status``, ``output`` and ``export`` of the generic engine's kinds (issue 27: documents...): one row, one
output and one exported entry per object, through kind hooks (``status_row``, ``export_entry``); names no kind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.engine.kind import WithReadiness, WithScopeSpelling, has
from reconciler.engine.status import Phase


def _declared(config: Any, k: Any) -> list[Any]:
    return list(config.objects.get(k.key, ()))


def _match(k: Any, d: Any, listed: Sequence[Any]) -> list[Any]:
    how, value = k.identity(d)
    if how == "id":
        return [r for r in listed if k.remote_id(r) == value]
    return [r for r in listed if k.managed(r) and k.remote_name(r) == value]


def _prefix(k: Any, prefix: str | None) -> str | None:
    """The scope prefix as the kind's names spell it (:class:`~reconciler.engine.kind.WithScopeSpelling`)."""
    return k.scope_prefix(prefix) if prefix is not None and has(k, WithScopeSpelling) else prefix


def _in_scope(k: Any, settings: Any, name: str) -> bool:
    if has(k, WithScopeSpelling) and settings.name_prefix is not None:
        return name.startswith(_prefix(k, settings.name_prefix))
    return settings.in_scope(name)


def _row(k: Any, name: str, r: Any | None) -> dict[str, Any]:
    if r is None:
        return {"name": name, "id": None, "phase": "absent", "managed": True}
    row: dict[str, Any] = {"name": name, "id": k.remote_id(r), "managed": True}
    if has(k, WithReadiness):
        row["phase"] = k.phase(r).value
    hook = getattr(k, "status_row", None)
    if hook is not None:
        row.update(hook(r))
    return row


def status_rows(config: Any, kinds: Sequence[Any], listed: Mapping[str, Sequence[Any]]) -> dict[str, list[dict]]:
    """kind key -> a row per declared object (absent ones too), then the unmanaged ones in scope."""
    out: dict[str, list[dict]] = {}
    for k in kinds:
        if k.key not in config.objects:
            continue
        items = list(listed.get(k.key, ()))
        rows, claimed = [], set()
        for d in _declared(config, k):
            found = _match(k, d, items)
            claimed.update(k.remote_id(r) for r in found)
            rows.append(_row(k, k.name_of(d), found[0] if len(found) == 1 else None))
        for r in items:
            name = k.remote_name(r)
            if k.remote_id(r) not in claimed and k.managed(r) and _in_scope(k, config.settings, name):
                rows.append({**_row(k, name, r), "managed": False})
        out[k.key] = rows
    return out


def status_text(rows: Mapping[str, list[dict]], kinds: Sequence[Any]) -> str:
    """One section per kind (``DOCUMENTS``), a line per object: name, id, status, progress or error."""
    from reconciler.api.redact import escape_control

    lines = []
    for k in kinds:
        if k.key not in rows:
            continue
        lines.append(f"\n{k.key.upper().replace('_', ' ')}")
        for r in rows[k.key]:
            where = r["id"] or "absent" if r["managed"] else f"{r['id']} (unmanaged)"
            state = r.get("status") or r.get("phase") or ""
            extra = f"  {r['error_message']}" if r.get("error_message") else (
                f"  {r['progress']:.0f}%" if isinstance(r.get("progress"), float) and state != "ready" else "")
            lines.append(escape_control(f"  {r['name']}  {where}  {state}{extra}".rstrip()))
    return "\n".join(lines) + ("\n" if lines else "")


def ready_ids(config: Any, kinds: Sequence[Any], listed: Mapping[str, Sequence[Any]]
              ) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """(name -> (kind noun, id) of every declared object ready to use, notes on the others)."""
    ready: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    for k in kinds:
        for d in _declared(config, k) if k.key in config.objects else ():
            found = _match(k, d, list(listed.get(k.key, ())))
            name = k.name_of(d)
            if len(found) != 1:
                notes.append(f"{k.noun} {name}: " + ("not created yet" if not found else "ambiguous"))
            elif has(k, WithReadiness) and k.phase(found[0]) is not Phase.READY:
                notes.append(f"{k.noun} {name}: {k.not_ready(found[0])}")
            else:
                ready[name] = (k.noun, k.remote_id(found[0]))
    return ready, notes


def exported(kinds: Sequence[Any], listed: Mapping[str, Sequence[Any]], name_prefix: str | None,
             warnings: list[str]) -> tuple[dict[str, list[dict]], dict[str, dict[str, str]]]:
    """(kind key -> the file entries adopting its objects, kind key -> {id: exported name}) for the kinds with an
    ``export_entry`` hook. A name held by several objects is exported once (the first listed), like replicas."""
    from reconciler.workflows.export import _escape_vars, _visible

    sections: dict[str, list[dict]] = {}
    names: dict[str, dict[str, str]] = {}
    for k in kinds:
        hook = getattr(k, "export_entry", None)
        if hook is None:
            continue
        entries, seen = [], set()
        for r in sorted(listed.get(k.key, ()), key=lambda r: k.remote_name(r) or ""):
            name = _visible(k.remote_name(r) or "") or k.remote_id(r)
            if not k.managed(r) or (name_prefix and not name.startswith(_prefix(k, name_prefix) or "")):
                continue
            if name in seen:
                warnings.append(f"several {k.key} are named {name!r}: exported the first; {k.remote_id(r)} is not "
                                "exported")
                continue
            seen.add(name)
            entries.append(_escape_vars(hook(r, name, warnings)))  # the file interpolates ${...}: written $${
            names.setdefault(k.key, {})[k.remote_id(r)] = name
        if entries:
            sections[k.key] = entries
    return sections, names
