"""Turning the live inventory into text for other tools: ``export`` (a replicas file that adopts what
exists) and ``output`` (the name -> replica_id map of ready replicas, like Terraform outputs). Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from reconciler.models import RemoteReplica
from reconciler.redact import escape_control
from reconciler.resolver import ready_outputs  # noqa: F401 - output's query lives with the resolver

SCHEMA_URL = "https://raw.githubusercontent.com/tavus-reconciler/tavus-reconciler/main/schemas/replicas.schema.json"


def export_yaml(remote: Sequence[RemoteReplica], *, source: str, when: str, version: str,
                name_prefix: str | None = None, include_system: bool = False,
                schema_ref: str = SCHEMA_URL) -> tuple[str, list[str]]:
    """A valid replicas file pinning every exported replica, and warnings for the user.

    Entries are sorted by name. A name held by several remote replicas is exported once (the newest,
    pinned) and the others as commented-out entries: names must be unique in a file, and guessing
    which one the user means would be wrong. Plan on the result is ``No changes.`` by construction.
    """
    import yaml

    chosen = [r for r in remote
              if (include_system or r.replica_type != "system") and (not name_prefix or r.name.startswith(name_prefix))]
    by_name: dict[str, list[RemoteReplica]] = {}
    for r in chosen:  # API order is newest first: the first of a name is the newest
        by_name.setdefault(r.name, []).append(r)
    warnings: list[str] = []
    entries, duplicates, stock = [], [], []
    for name in sorted(by_name):
        keep, *others = by_name[name]
        clean = _visible(name) or keep.replica_id
        if clean != name:  # a declared name may not hold invisible characters: pinned, so plan renames it
            warnings.append(f"{keep.replica_id}: its name has invisible or control characters; exported as "
                            f"{clean!r} (plan will rename it to that)")
        entry = {"name": clean, "replica_id": keep.replica_id}
        if keep.model_name in ("phoenix-3", "phoenix-4"):
            entry["model_name"] = keep.model_name
        entries.append(entry)
        if keep.replica_type == "system":
            stock.append(keep.replica_id)
        for other in others:
            duplicates.append((name, keep.replica_id, other))
            warnings.append(f"{len(others) + 1} remote replicas are named {name!r}: exported {keep.replica_id} "
                            f"(newest); {other.replica_id} is left as a comment")
    doc: dict = {"version": 1}
    if name_prefix:
        doc["settings"] = {"prune": False, "scope": {"name_prefix": name_prefix}}
    doc["replicas"] = entries
    header = (f"# yaml-language-server: $schema={schema_ref}\n"
              f"# Exported by tavus-reconciler {version} on {when} from {source}\n"
              f"# {len(entries)} replica(s), pinned by replica_id: `plan` on this file shows no changes.\n")
    if stock:
        header += ("# Entries marked \"stock\" are Tavus stock (system) replicas: read-only references that are never\n"
                   "# renamed, replaced or deleted; their name here is only a label for this file.\n")
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
    for rid in stock:  # ids are unique, so each pinned line is found once
        body = body.replace(f"\n  replica_id: {rid}\n",
                            f"\n  replica_id: {rid}   # stock replica (read-only): never renamed or deleted\n", 1)
    if duplicates:
        # commented out so that removing the leading "# " gives entries indented like the ones above
        body += "\n# Replicas whose name another replica already has (names must be unique in this file).\n"
        body += "# Give one a new name and uncomment it to manage it, or delete it:\n"
        for name, kept, other in duplicates:
            body += (f"# - name: {escape_control(json.dumps(name, ensure_ascii=False))}   # same name as {kept}\n"
                     f"#   replica_id: {other.replica_id}\n")
    return header + body, warnings


def _visible(name: str) -> str:
    from reconciler.redact import is_invisible

    return "".join(ch for ch in name if not is_invisible(ch)).strip()


def env_name(name: str) -> str:
    return "TAVUS_REPLICA_" + re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def format_outputs(ready: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(ready, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "env":
        names: dict[str, str] = {}
        for name in sorted(ready):
            var = env_name(name)
            if var in names:
                raise ValueError(f"{name!r} and {names[var]!r} both map to {var}: rename one")
            names[var] = name
        return "".join(f"{env_name(n)}={ready[n]}\n" for n in sorted(ready))
    width = max((len(n) for n in ready), default=0)
    return "".join(escape_control(f"{n:<{width}}  {ready[n]}") + "\n" for n in sorted(ready))
