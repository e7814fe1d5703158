"""reconciler.engine.graph: the order of work is the reference graph; a cycle or an unknown kind is located."""

from types import SimpleNamespace as NS

import pytest

from reconciler.engine.graph import ReferenceCycleError, UnknownKindError, create_order, delete_order, referrers, stages
from reconciler.engine.kind import Reference
from reconciler.kinds import kinds


def _k(key, *refs):
    return NS(key=key, references=tuple(Reference(f, t, f + "_id") for f, t in refs))


def test_referenced_first_ties_keep_registry_order():
    p, r, d, g = _k("personas", ("default_replica", "replicas"), ("documents", "documents")), _k("replicas"), \
        _k("documents"), _k("guardrails")
    assert [k.key for k in create_order([p, r, d, g])] == ["replicas", "documents", "personas", "guardrails"]
    assert [k.key for k in delete_order([p, r, d, g])] == ["guardrails", "personas", "documents", "replicas"]
    assert [(k.key, ref.field) for k, ref in referrers([p, r, d], "replicas")] == [("personas", "default_replica")]


def test_a_cycle_names_its_kinds_and_fields():
    with pytest.raises(ReferenceCycleError, match=r"a\.x -> b, b\.y -> c, c\.z -> a"):
        create_order([_k("a", ("x", "b")), _k("b", ("y", "c")), _k("c", ("z", "a"))])
    with pytest.raises(ReferenceCycleError, match=r"s\.me -> s"):
        create_order([_k("s", ("me", "s"))])


def test_an_unknown_kind():
    with pytest.raises(UnknownKindError, match="kind a: reference x -> 'nope'"):
        create_order([_k("a", ("x", "nope"))])


def test_stages_creates_in_order_then_deletes_reversed():
    p, r = _k("personas", ("default_replica", "replicas")), _k("replicas")
    ch = [NS(kind="personas", d=False), NS(kind="replicas", d=True), NS(kind="replicas", d=False),
          NS(kind="personas", d=True)]
    got = stages(ch, [p, r], lambda c: c.d)
    assert [[(c.kind, c.d) for c in s] for s in got] == [[("replicas", False)], [("personas", False)],
                                                         [("personas", True)], [("replicas", True)]]


def test_the_registry_is_in_reference_order():
    order = [k.key for k in kinds()]
    assert order[:1] == ["replicas"] and {"personas", "tools", "pronunciation_dictionaries"} <= set(order)
    for k in kinds():  # every kind after the kinds it references
        assert all(order.index(ref.kind) < order.index(k.key) for ref in k.references), k.key
