"""JSON text byte for byte as json.dumps(indent=2) (reconciler/views/json_text.py)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from reconciler.views.json_text import Rows, dumps_indented

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=3), inner, max_size=3), max_leaves=12)


@given(values)
def test_same_bytes_as_json_dumps_indent_2(value):
    assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_rows_are_encoded_a_chunk_at_a_time_as_one_list(monkeypatch):
    monkeypatch.setattr(Rows, "CHUNK", 2)
    items = [f"n{i}" for i in range(5)]
    rows = [{"name": n, "i": 1} for n in items]
    unmanaged = Rows(items, lambda chunk: [{"name": n, "i": 1} for n in chunk])
    text = dumps_indented({"unmanaged": unmanaged, "x": []}, end="\n")
    assert text == json.dumps({"unmanaged": rows, "x": []}, indent=2, ensure_ascii=False) + "\n"
    assert dumps_indented({"u": Rows([], list)}) == json.dumps({"u": []}, indent=2)


@given(values, st.integers(min_value=1, max_value=64))
def test_written_in_pieces_it_is_the_same_text(value, size):
    from reconciler.views import json_text

    pieces: list[str] = []
    old, json_text._Sink.SIZE = json_text._Sink.SIZE, size
    try:
        json_text.write_indented(value, pieces.append, end="\n")
    finally:
        json_text._Sink.SIZE = old
    assert "".join(pieces) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    assert all(pieces)
