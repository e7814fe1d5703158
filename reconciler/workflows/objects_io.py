"""``status``, ``output`` and ``export`` for the kinds the generic engine plans (issue 27), through kind hooks only.

- status: one row per declared object (``kind``, ``name``, ``id`` or None when absent), with the kind's view
  hook ``status_row(remote)`` (``kinds/<kind>/view.py``) merged in when it has one;
- output: ``TAVUS_<NOUN>_<NAME>=<id>`` for every declared object found (``TAVUS_TOOL_ACME_LOOKUP``);
- export: each kind's ``export_entry(remote)`` (the file entry that adopts the object, pinned by id), for the
  managed objects in ``--name-prefix``, appended as the kind's section of the exported file.
Names nothing of any kind.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping, Sequence
from typing import Any


def _view(kind: Any) -> Any | None:
    package = type(kind).__module__.rpartition(".")[0]
    try:
        return importlib.import_module(f"{package}.view")
    except ModuleNotFoundError as e:
        if e.name != f"{package}.view":
            raise
        return None


def _kinds() -> list[Any]:
    from reconciler.engine.planner import generic_kinds

    return generic_kinds()


def _found(kind: Any, desired: Any, listed: Sequence[Any]) -> Any | None:
    how, value = kind.identity(desired)
    for r in listed:
        if (kind.remote_id(r) if how == "id" else kind.remote_name(r)) == value and kind.managed(r):
            return r
    return None


def status_rows(config: Any, objects: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    rows = []
    for k in _kinds():
        view = _view(k)
        for d in config.objects.get(k.key, ()):
            r = _found(k, d, objects.get(k.key, ()))
            row: dict[str, Any] = {"kind": k.key, "name": k.name_of(d), "id": k.remote_id(r) if r else None}
            if r is not None and view is not None and hasattr(view, "status_row"):
                row.update({key: v for key, v in view.status_row(r).items() if key not in row})
            rows.append(row)
    return rows


def status_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Text: one block per kind (``TOOLS``), one line per declared object."""
    from reconciler.api.redact import escape_control, redact_text

    out: list[str] = []
    for key in dict.fromkeys(r["kind"] for r in rows):
        out.append(f"\n{key.upper().replace('_', ' ')}")
        for r in (r for r in rows if r["kind"] == key):
            out.append(escape_control(redact_text(f"  {r['name']}  {r['id'] or 'absent'}") or ""))
    return out


def env_name(noun: str, name: str) -> str:
    return "TAVUS_" + re.sub(r"[^A-Z0-9]+", "_", f"{noun} {name}".upper()).strip("_")


def output_ids(config: Any, objects: Mapping[str, Sequence[Any]]) -> tuple[dict[str, str], list[str]]:
    """(env name -> id of every declared object found, notes for the declared ones not found)."""
    ids: dict[str, str] = {}
    notes: list[str] = []
    for row in status_rows(config, objects):
        from reconciler.kinds import kind

        noun = kind(row["kind"]).noun
        if row["id"]:
            ids[env_name(noun, row["name"])] = row["id"]
        else:
            notes.append(f"{noun} {row['name']}: not found on the account (run apply first)")
    return ids, notes


def export_sections(client: Any, name_prefix: str | None) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """kind key -> the entries adopting its managed objects in scope (each kind's ``export_entry``), and the
    warnings the kinds gave (a secret written as a ``${VAR}`` to set, say)."""
    sections: dict[str, list[dict[str, Any]]] = {}
    warnings: list[str] = []
    for k in _kinds():
        hook = getattr(k, "export_entry", None)
        if hook is None:
            continue
        scope = getattr(k, "in_scope", None)
        entries = []
        for r in k.list(client):
            name = k.remote_name(r)
            inside = scope(name, name_prefix) if callable(scope) else not name_prefix or str(name).startswith(
                name_prefix)
            if k.managed(r) and name and inside:
                entry, notes = hook(r)
                entries.append(entry)
                warnings += notes
        if entries:
            sections[k.key] = sorted(entries, key=lambda e: str(e.get("name")))
    return sections, warnings


def with_objects(status_json: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """``status --format json`` with the generic kinds' rows under ``objects`` (only when there are some: the
    document is unchanged for a file of replicas and personas)."""
    if not rows:
        return status_json
    import json

    doc = json.loads(status_json)
    doc["objects"] = [dict(r) for r in rows]
    from reconciler.views.render import _redact_deep

    return json.dumps(_redact_deep(doc), indent=2) + "\n"


def sections_yaml(sections: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """The exported sections as YAML to append to the export (empty when there are none)."""
    if not sections:
        return ""
    import yaml

    return "".join(yaml.safe_dump({key: [dict(e) for e in entries]}, sort_keys=False, allow_unicode=True,
                                  width=120) for key, entries in sections.items())
