"""The loader's hook for a kind's semantic rules (``kinds/<kind>/rules.py``; issue 26).

After the schema check, every registered kind that has a ``rules`` module and is not planned by a
kind-specific path yet gets ``parse(entries, ctx)`` with its list (``ctx``: :class:`RuleContext`); what it
returns lands in ``Config.objects[<key>]``. A rule reports through ``ctx.error`` / ``ctx.warn`` with a path
from the document's root; the loader locates it (``FILE:LINE:COL: message``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


class RuleContext:
    def __init__(self, doc: Any, diags: Any, settings: Any, declared: Mapping[str, set[str]]):
        self.doc, self.diags, self.settings = doc, diags, settings
        self._declared = declared

    def error(self, path: tuple, message: str) -> None:
        self.diags.error(self.doc.at(tuple(path)), message)

    def warn(self, path: tuple, message: str) -> None:
        self.diags.warning(self.doc.at(tuple(path)), message)

    def missing_vars(self, path: tuple) -> tuple[str, ...]:
        """The unset ``${VAR}``s at ``path`` (as the loader found them)."""
        return tuple(self.doc.missing.get(tuple(path), ()))

    def declared(self, key: str) -> set[str]:
        """The names the file declares under ``key:`` (for did-you-mean on references)."""
        return set(self._declared.get(key, set()))


def rules_of(kind: Any) -> Any | None:
    """``kinds/<kind>/rules.py`` when the kind's folder has one."""
    package = type(kind).__module__.rpartition(".")[0]
    try:
        return importlib.import_module(f"{package}.rules")
    except ModuleNotFoundError as e:
        if e.name != f"{package}.rules":
            raise
        return None


def _names(entries: Any) -> set[str]:
    if not isinstance(entries, list):
        return set()
    return {e["name"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("name"), str)}


def load_objects(doc: Any, diags: Any, settings: Any, kinds: Any) -> dict[str, tuple]:
    """kind key -> the desired entries its rules built, for the kinds the generic engine plans."""
    root = doc.root
    declared = {k.key: _names(root.get(k.key)) for k in kinds}
    ctx = RuleContext(doc, diags, settings, declared)
    out: dict[str, tuple] = {}
    for k in kinds:
        if getattr(k, "legacy_path", False):
            continue
        module = rules_of(k)
        entries = root.get(k.key)
        if module is not None and isinstance(entries, list):
            out[k.key] = tuple(module.parse(entries, ctx))
    return out
