"""JSON text as ``json.dumps(indent=2, ensure_ascii=False)`` writes it, byte for byte, about 5x faster, and
rows of a long list made a chunk at a time while they are encoded (:class:`Rows`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

_SCALARS = (str, int, float, bool, type(None))


class Rows:
    """A long list of a document (a plan's unmanaged replicas), made into row dicts a chunk at a time while
    they are encoded (100,000 row dicts at once were 18 MB of a large plan's peak memory)."""

    CHUNK = 2000

    def __init__(self, items: Sequence[object], rows: Callable[[Sequence[object]], list[dict]]):
        self.items = items
        self.rows = rows  # a chunk of items -> their row dicts

    def chunks(self):
        for i in range(0, len(self.items), self.CHUNK):
            yield self.rows(self.items[i:i + self.CHUNK])


def _json_key(key: object) -> str:
    return json.dumps(key, ensure_ascii=False) if isinstance(key, str) else json.dumps({key: 0})[1:-4]


def _flat_objects(rows: Sequence[dict], inner: str, deeper: str) -> str:
    """Non-empty flat objects as list items, indented, without the first "{" and the last "}"."""
    text = json.dumps(rows, ensure_ascii=False, separators=("," + deeper, ": "))
    return text.replace("}," + deeper + "{", inner + "}," + inner + "{" + deeper)[2:-2]


class _Sink:
    """Where :func:`write_indented` puts the pieces: handed to ``write`` about ``SIZE`` characters at a time,
    so a 10 MB document is never held whole (nor its pieces and their join at once)."""

    SIZE = 1 << 18

    def __init__(self, write: Callable[[str], object]):
        self._write, self._parts, self._size = write, [], 0

    def append(self, piece: str) -> None:
        self._parts.append(piece)
        self._size += len(piece)
        if self._size >= self.SIZE:
            self.flush()

    def __iadd__(self, pieces: list[str]) -> _Sink:
        for piece in pieces:
            self.append(piece)
        return self

    def flush(self) -> None:
        if self._parts:
            text = "".join(self._parts)
            self._parts, self._size = [], 0
            self._write(text)


def write_indented(value: object, write: Callable[[str], object], *, end: str = "") -> None:
    """:func:`dumps_indented`'s text handed to ``write`` in pieces of about 256 KiB, made as it is written:
    the same text once joined (a plan's unmanaged rows are made a chunk at a time, :class:`Rows`)."""
    sink = _Sink(write)
    _indented(value, 0, sink)  # type: ignore[arg-type]  (a list's append and +=)
    sink.append(end)
    sink.flush()


def dumps_indented(value: object, *, end: str = "") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False) + end``, byte for byte, about 5x faster: with
    ``indent`` the json module falls back to its pure-Python encoder (0.17 s for a 10,000-replica plan); here
    every container of scalars is one call of the C encoder, its item separator carrying the newline and
    indent. The pieces are joined once (a 100,000-replica plan's text is 10 MB: few copies of it at a time)."""
    out: list[str] = []
    _indented(value, 0, out)
    out.append(end)
    return "".join(out)


def _indented(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, Rows):
        _indented_rows(value, level, out)
    elif isinstance(value, dict | list | tuple) and not value:
        out.append("{}" if isinstance(value, dict) else "[]")
    elif isinstance(value, dict):
        _indented_dict(value, level, out)
    elif isinstance(value, list | tuple):
        _indented_list(value, level, out)
    else:
        out.append(json.dumps(value, ensure_ascii=False))


def _indented_rows(value: Rows, level: int, out: list[str]) -> None:
    if not value.items:
        out.append("[]")
        return
    inner = "\n" + "  " * (level + 1)
    deeper = inner + "  "
    out += ["[", inner, "{", deeper]
    for i, rows in enumerate(value.chunks()):
        if i:
            out.append(inner + "}," + inner + "{" + deeper)
        out.append(_flat_objects(rows, inner, deeper))
    out += [inner, "}", "\n" + "  " * level + "]"]


def _indented_dict(value: dict, level: int, out: list[str]) -> None:
    inner = "\n" + "  " * (level + 1)
    close = "\n" + "  " * level + "}"
    if all(isinstance(v, _SCALARS) for v in value.values()):
        out += ["{", inner, json.dumps(value, ensure_ascii=False, separators=("," + inner, ": "))[1:-1], close]
        return
    out.append("{")
    for i, (k, v) in enumerate(value.items()):
        out += ["," + inner if i else inner, _json_key(k), ": "]
        _indented(v, level + 1, out)
    out.append(close)


def _indented_list(value: list | tuple, level: int, out: list[str]) -> None:
    inner = "\n" + "  " * (level + 1)
    close = "\n" + "  " * level + "]"
    if all(type(v) is dict and v and all(isinstance(x, _SCALARS) for x in v.values()) for v in value):
        # a list of flat objects (the unmanaged replicas): one C-encoder call for all of them. Its separator
        # holds a newline, which JSON text has nowhere else (a string's is escaped), so "}" + separator +
        # "{" can only be the border between two objects: there the list's own indent is put back
        deeper = inner + "  "
        out += ["[", inner, "{", deeper, _flat_objects(value, inner, deeper), inner, "}", close]
        return
    if all(isinstance(v, _SCALARS) for v in value):
        out += ["[", inner, json.dumps(value, ensure_ascii=False, separators=("," + inner, ": "))[1:-1], close]
        return
    out.append("[")
    for i, v in enumerate(value):
        out.append("," + inner if i else inner)
        _indented(v, level + 1, out)
    out.append(close)
