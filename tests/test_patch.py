"""reconciler.sim.patch: the simulator's RFC 6902 applier, all or nothing."""

from __future__ import annotations

import pytest

from reconciler.sim.patch import PatchError, apply_patch

DOC = {"a": 1, "layers": {"llm": {"model": "m"}}, "tags": ["x", "y"], "t~0": 5, "s/l": 6}


@pytest.mark.parametrize("ops,want", [
    ([{"op": "replace", "path": "/a", "value": 2}], {**DOC, "a": 2}),
    ([{"op": "add", "path": "/tags/-", "value": "z"}], {**DOC, "tags": ["x", "y", "z"]}),
    ([{"op": "add", "path": "/tags/0", "value": "w"}], {**DOC, "tags": ["w", "x", "y"]}),
    ([{"op": "remove", "path": "/layers/llm"}], {**DOC, "layers": {}}),
    ([{"op": "move", "from": "/a", "path": "/b"}], {**{k: v for k, v in DOC.items() if k != "a"}, "b": 1}),
    ([{"op": "copy", "from": "/a", "path": "/b"}], {**DOC, "b": 1}),
    ([{"op": "test", "path": "/t~00", "value": 5}, {"op": "replace", "path": "/s~1l", "value": 7}],
     {**DOC, "s/l": 7}),
])
def test_operations(ops, want):
    assert apply_patch(DOC, ops) == want


@pytest.mark.parametrize("ops", [
    {"op": "add"}, [1], [{"op": "add", "path": "/a"}], [{"op": "replace", "path": "/nope", "value": 1}],
    [{"op": "remove", "path": "/tags/5"}], [{"op": "move", "path": "/layers/llm/x", "from": "/layers"}],
    [{"op": "copy", "path": "/b"}], [{"op": "test", "path": "/a", "value": True}], [{"op": "frobnicate", "path": "/a"}],
])
def test_bad_or_failing_operations_raise(ops):
    with pytest.raises(PatchError):
        apply_patch(DOC, ops)


def test_all_or_nothing_and_the_input_is_never_changed():
    before = repr(DOC)
    with pytest.raises(PatchError):
        apply_patch(DOC, [{"op": "replace", "path": "/a", "value": 9}, {"op": "remove", "path": "/missing"}])
    assert repr(DOC) == before
