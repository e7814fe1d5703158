"""The simulator's RFC 6902 JSON Patch applier (what a server does with a PATCH of JSON Patch operations), for
every kind whose PATCH is JSON Patch (personas, guardrails, objectives, pronunciation dictionaries). All or
nothing: :func:`apply_patch` returns a patched copy or raises :class:`PatchError` (the server's 422)."""

from __future__ import annotations

import copy
from typing import Any


class PatchError(Exception):
    """A JSON Patch that cannot be applied (the server answers 422)."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc: Any, path: Any) -> tuple[Any, str | int]:
    """(parent container, last key) of a JSON Pointer; PatchError when the parent does not exist."""
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"bad path {path!r}")
    if path == "":
        raise PatchError("the whole document cannot be replaced")
    tokens = [_unescape(t) for t in path.split("/")[1:]]
    cur = doc
    for t in tokens[:-1]:
        cur = _child(cur, t)
    last = tokens[-1]
    if isinstance(cur, list):
        if last == "-":
            return cur, len(cur)
        if not last.isdigit() or (last != "0" and last.startswith("0")):
            raise PatchError(f"bad array index {last!r}")
        return cur, int(last)
    if not isinstance(cur, dict):
        raise PatchError(f"{path} has no parent object")
    return cur, last


def _child(cur: Any, token: str) -> Any:
    if isinstance(cur, dict) and token in cur:
        return cur[token]
    if isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
        return cur[int(token)]
    raise PatchError(f"no {token!r}")


def _get(doc: Any, path: str) -> Any:
    parent, key = _walk(doc, path)
    if isinstance(parent, list):
        if not isinstance(key, int) or key >= len(parent):
            raise PatchError(f"no {path}")
        return parent[key]
    if key not in parent:
        raise PatchError(f"no {path}")
    return parent[key]


def _add(doc: Any, path: str, value: Any) -> None:
    parent, key = _walk(doc, path)
    if isinstance(parent, list):
        if key > len(parent):
            raise PatchError(f"index out of range in {path}")
        parent.insert(key, value)
    else:
        parent[key] = value


def _remove(doc: Any, path: str) -> Any:
    value = _get(doc, path)
    parent, key = _walk(doc, path)
    del parent[key]
    return value


def apply_patch(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    """A patched deep copy of ``doc`` (all or nothing); PatchError on any bad or failing operation."""
    if not isinstance(ops, list):
        raise PatchError("a JSON Patch is an array")
    out = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise PatchError("an operation is an object with 'op'")
        _apply_one(out, op)
    return out


def _apply_one(out: Any, op: dict[str, Any]) -> None:
    kind, path = op["op"], op.get("path")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise PatchError(f"{kind} needs a value")
    if kind == "add":
        _add(out, path, copy.deepcopy(op["value"]))
    elif kind == "remove":
        _remove(out, path)
    elif kind == "replace":
        _get(out, path)
        parent, key = _walk(out, path)
        parent[key] = copy.deepcopy(op["value"])
    elif kind in ("move", "copy"):
        _move_or_copy(out, kind, path, op.get("from"))
    elif kind == "test":
        if _get(out, path) != op["value"] or type(_get(out, path)) is not type(op["value"]):
            raise PatchError(f"test failed at {path}")
    else:
        raise PatchError(f"unknown op {kind!r}")


def _move_or_copy(out: Any, kind: str, path: Any, source: Any) -> None:
    if not isinstance(source, str):
        raise PatchError(f"{kind} needs 'from'")
    if kind == "move" and (path == source or str(path).startswith(source + "/")):
        raise PatchError("cannot move a value into itself")
    value = _remove(out, source) if kind == "move" else copy.deepcopy(_get(out, source))
    _add(out, path, value)
