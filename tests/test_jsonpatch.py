"""Issue 17: the persona JSON Patch (reconciler.engine.jsonpatch), property-tested against a reference applier."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.engine.jsonpatch import ABSENT, diff, escape, pointer, same, unescape
from reconciler.kinds.personas import sim as sim_personas

KEYS = st.sampled_from(["a", "b", "layers", "llm", "model", "x/y", "t~0", "~", "/", "~1", ""])
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, width=32) | st.text(max_size=4)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                    max_leaves=8)
DOCS = st.dictionaries(KEYS, JSON, max_size=5)
DESIRED = st.recursive(SCALARS | st.lists(SCALARS, max_size=2) | st.just(ABSENT),
                       lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=8)


def reference_apply(doc, ops):
    """A tiny independent RFC 6902 applier (add/remove/replace on objects: all diff emits)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        parent = doc
        for t in tokens[:-1]:
            parent = parent[t]
        assert isinstance(parent, dict)
        last = tokens[-1]
        if op["op"] == "add":
            assert last not in parent  # diff uses add only for a missing key
            parent[last] = copy.deepcopy(op["value"])
        elif op["op"] == "replace":
            assert last in parent
            parent[last] = copy.deepcopy(op["value"])
        else:
            assert op["op"] == "remove"
            del parent[last]
    return doc


def overlay(remote, desired):
    """What the document must be: remote with the declared attributes set (mappings merged key by key)."""
    out = copy.deepcopy(remote)
    for k, v in desired.items():
        if v is ABSENT:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = overlay(out[k], v)
        else:
            out[k] = strip(v)
    return out


def strip(v):
    return {k: strip(x) for k, x in v.items() if x is not ABSENT} if isinstance(v, dict) else v


@settings(max_examples=300, deadline=None)
@given(DOCS, st.dictionaries(KEYS, DESIRED, max_size=4))
def test_patch_sets_declared_and_leaves_the_rest(remote, desired):
    ops = diff(remote, desired)
    applied = reference_apply(remote, ops)
    assert same(applied, overlay(remote, desired))
    assert diff(applied, desired) == []  # converged: a second plan has nothing to do
    # the simulator's full RFC 6902 applier agrees with the reference
    assert same(sim_personas.apply_patch(remote, ops), applied)


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_no_ops_when_equal(remote):
    assert diff(remote, remote) == []
    assert diff(remote, {k: v for k, v in list(remote.items())[:2]}) == []


def test_add_vs_replace_and_escaping():
    remote = {"layers": {"llm": {"model": "a", "api_key": "k"}}, "a/b": 1, "t~": True}
    ops = diff(remote, {"layers": {"llm": {"model": "b"}, "tts": {"tts_engine": "cartesia"}}, "a/b": 1.0,
                        "t~": 1, "context": "c", "gone": ABSENT})
    assert ops == [
        {"op": "replace", "path": "/layers/llm/model", "value": "b"},
        {"op": "add", "path": "/layers/tts", "value": {"tts_engine": "cartesia"}},
        {"op": "replace", "path": "/t~0", "value": 1},  # True is not 1 in JSON
        {"op": "add", "path": "/context", "value": "c"},
    ]
    assert diff({"x": 1}, {"x": ABSENT}) == [{"op": "remove", "path": "/x"}]
    assert pointer(["a/b", "c~d"]) == "/a~1b/c~0d" and unescape(escape("~1/~0")) == "~1/~0"


@pytest.mark.parametrize("ops", [
    {"op": "add"}, [{"op": "frob", "path": "/a"}], [{"op": "remove", "path": "/nope"}],
    [{"op": "test", "path": "/a", "value": 2}], [{"op": "replace", "path": "/a"}], [{"op": "add", "path": "a"}],
])
def test_simulator_applier_refuses_bad_patches(ops):
    with pytest.raises(sim_personas.PatchError):
        sim_personas.apply_patch({"a": 1}, ops)


def test_simulator_applier_all_ops():
    doc = {"a": 1, "l": [1, 2], "o": {"k": "v"}}
    ops = [{"op": "test", "path": "/a", "value": 1}, {"op": "copy", "from": "/o", "path": "/p"},
           {"op": "move", "from": "/a", "path": "/b"}, {"op": "add", "path": "/l/-", "value": 3},
           {"op": "add", "path": "/l/0", "value": 0}, {"op": "remove", "path": "/o/k"}]
    assert sim_personas.apply_patch(doc, ops) == {"b": 1, "l": [0, 1, 2, 3], "o": {}, "p": {"k": "v"}}
    assert doc == {"a": 1, "l": [1, 2], "o": {"k": "v"}}  # all or nothing, on a copy
