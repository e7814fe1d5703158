"""The file's JSON Schema, assembled from a base and every registered kind's fragment (issue 26).

The base (``schemas/document.schema.json``, installed as ``reconciler.schemas``) holds what no kind owns:
``version``, ``settings``, ``defaults``, ``removed``. Each kind's folder holds ``schema.json``:
``{"section": <the schema of the list under "<key>:">, "$defs": {...}}``. :func:`document_schema` puts each
section under ``properties.<key>`` (in the registry's order) and merges the ``$defs``; a ``$defs`` name two
parts define differently is an error. ``$defs.kind_key`` (the kinds a policy rule such as ``never_prune`` may
name) is the registered kinds' keys, so a new kind is one without touching the base.
``schemas/replicas.schema.json`` is the published, complete schema (editors point at it): :func:`main` writes
it, tests/test_schema.py keeps it equal to the assembly.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.resources
import json
import sys
from collections.abc import Sequence
from typing import Any

BASE_FILE = "document.schema.json"
FRAGMENT_FILE = "schema.json"


class SchemaAssemblyError(Exception):
    """Two schema parts disagree (a programming error in a kind folder, caught by the tests)."""


def _read(package: str, filename: str) -> dict:
    return json.loads(importlib.resources.files(package).joinpath(filename).read_text(encoding="utf-8"))


def fragment(kind: Any) -> dict:
    """The schema fragment of ``kind``, read from the folder of the module that defines it."""
    package = type(kind).__module__.rpartition(".")[0]
    return _read(package, FRAGMENT_FILE)


def assemble(base: dict, parts: Sequence[tuple[str, dict]]) -> dict:
    """``base`` with each ``(key, fragment)`` section under ``properties.<key>`` and its ``$defs`` merged."""
    out = {k: copy.deepcopy(v) for k, v in base.items() if k != "$comment"}
    props = out.setdefault("properties", {})
    defs = out.setdefault("$defs", {})
    defs["kind_key"] = {"description": "A kind: the key of one of the file's lists.", "enum": [k for k, _ in parts]}
    for key, part in parts:
        if key in props:
            raise SchemaAssemblyError(f"schema section {key!r} is defined twice")
        props[key] = copy.deepcopy(part["section"])
        for name, sub in part.get("$defs", {}).items():
            if name in defs and defs[name] != sub:
                raise SchemaAssemblyError(f"$defs {name!r} of kind {key} differs from an earlier definition")
            defs[name] = copy.deepcopy(sub)
    return out


@functools.cache
def document_schema() -> dict:
    """The complete schema of the file (cached: treat as read-only)."""
    from reconciler.kinds import registered

    return assemble(_read("reconciler.schemas", BASE_FILE), [(k.key, fragment(k)) for k in registered()])


def main(argv: Sequence[str] = ()) -> int:
    """``python -m reconciler.engine.schema``: print the assembled schema (to refresh replicas.schema.json)."""
    sys.stdout.write(json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
