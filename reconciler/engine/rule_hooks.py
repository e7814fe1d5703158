"""The hooks a kind's rules module offers the loader (``reconciler.engine.validation``; issue 26), looked up
by name so that the loader names no kind. See validation.py's docstring for the hooks and what each means."""

from __future__ import annotations

from typing import Any


def hooks(name: str) -> list[tuple[str, Any]]:
    """(kind key, value) of the hook ``name`` for every registered kind whose rules module defines it, in the
    order of work (``reconciler.kinds.kinds``: a referenced kind before the kinds referencing it)."""
    from reconciler.engine.rules import rules_of
    from reconciler.kinds import kinds

    out = []
    for k in kinds():
        module = rules_of(k)
        if module is not None and hasattr(module, name):
            out.append((k.key, getattr(module, name)))
    return out


def keys_with(flag: str) -> frozenset[str]:
    """The kinds whose rules module sets ``flag`` true."""
    return frozenset(key for key, value in hooks(flag) if value)


def identity_keys() -> frozenset[str]:
    """The fields whose ``${VAR}`` value is an identity (shown everywhere), not a secret: every kind's."""
    keys = {"name", "name_prefix"}
    for _key, more in hooks("IDENTITY_KEYS"):
        keys |= set(more)
    return frozenset(keys)


def file_hints() -> dict[str, str]:
    """The words of the YAML loader's messages that show what a file looks like (reconciler.engine.yamlpos)."""
    out: dict[str, str] = {}
    for _key, hints in reversed(hooks("FILE_HINTS")):  # the first kind's words win
        out.update(hints)
    return out


def nouns() -> str:
    """Every kind's object, in words, in the registry's order: ``replica, persona, ... and tool``."""
    from reconciler.kinds import registered

    nouns = [k.noun for k in registered()]
    return ", ".join(nouns[:-1]) + " and " + nouns[-1] if len(nouns) > 1 else "".join(nouns)
