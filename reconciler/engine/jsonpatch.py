"""RFC 6902 JSON Patch for persona updates: pure, no I/O.

:func:`diff` turns (the remote persona document, the attributes the file declares) into patch operations that
touch ONLY the declared attributes; everything the file leaves out is the server's and is never named in a
patch. Nested mappings (``layers.llm.model``) are compared key by key; lists and scalars are compared whole.

A small recursive diff rather than deepdiff: the walk is driven by the desired side (deepdiff reports every
difference, including the undeclared attributes we must ignore, which would then have to be filtered back
out), ``add`` vs ``replace`` follows directly from whether the remote key exists, and the paths come out as
JSON Pointers without translating deepdiff's ``root['layers']['llm']`` notation. (deepdiff is not a
dependency: an unordered list such as a tag set compares as a sorted copy, no library needed.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class _Absent:
    """A declared removal: the attribute must not exist on the server (``remove`` when it does)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def escape(token: str) -> str:
    """One JSON Pointer reference token (RFC 6901): ``~`` -> ``~0`` first, then ``/`` -> ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def pointer(parts: Sequence[str]) -> str:
    """The JSON Pointer of a key path: ``("layers", "llm", "model")`` -> ``/layers/llm/model``."""
    return "".join("/" + escape(p) for p in parts)


def encode_value(value: Any) -> Any:
    """The one place a patch value is encoded. The docs type ``value`` as a string and one example sends a
    boolean as ``"true"``, but the persona document itself holds booleans, numbers, lists and objects; we send
    the JSON type the field has (what RFC 6902 means). Should the live API turn out to accept strings only,
    this function is the single switch."""
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``True`` is not ``1`` and ``1`` is not ``"1"``; ``1 == 1.0`` (JSON has one number type)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def diff(remote: Mapping[str, Any], desired: Mapping[str, Any], prefix: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Patch operations making the declared attributes of ``remote`` equal ``desired``; none when they are.

    - a declared key missing remotely: ``add`` (a missing parent is added whole, with its declared subtree;
      the persona kind never asks for that on an update: a declared object the server did not return may be
      hidden, so it is left out as not comparable);
    - a declared mapping over a remote mapping: compared key by key (undeclared keys untouched);
    - any other difference: ``replace`` (lists are replaced whole: their order is meaningful);
    - :data:`ABSENT`: ``remove`` when the key exists remotely, nothing otherwise.
    """
    ops: list[dict[str, Any]] = []
    for key, want in desired.items():
        path = (*prefix, str(key))
        if want is ABSENT:
            if key in remote:
                ops.append({"op": "remove", "path": pointer(path)})
            continue
        if key not in remote:
            ops.append({"op": "add", "path": pointer(path), "value": encode_value(want)})
        elif isinstance(want, Mapping) and isinstance(remote[key], Mapping):
            ops.extend(diff(remote[key], want, path))
        elif not same(remote[key], encode_value(want)):
            ops.append({"op": "replace", "path": pointer(path), "value": encode_value(want)})
    return ops
