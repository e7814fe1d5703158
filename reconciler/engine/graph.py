"""The reference graph between kinds: the planner's and executor's order of work (issue 26).

Creates (and updates, which may point at what was just created) run in topological order: a referenced
kind before the kinds that reference it. Deletes run in the reverse order: a referencing object goes before
what it references. A cycle is an error that names the kinds and the fields that close it. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.errors import ReconcilerError


class ReferenceCycleError(ReconcilerError):
    """The kinds' references form a cycle: no order of work exists."""


class UnknownKindError(ReconcilerError):
    """A reference names a kind the registry does not hold."""


def _edges(kinds: Sequence[Any]) -> dict[str, list[tuple[str, str]]]:
    """kind key -> [(referenced kind, field)], validated against the registry."""
    keys = {k.key for k in kinds}
    edges: dict[str, list[tuple[str, str]]] = {}
    for k in kinds:
        edges[k.key] = []
        for ref in getattr(k, "references", ()):
            if ref.kind not in keys:
                raise UnknownKindError(f"kind {k.key}: reference {ref.field} -> {ref.kind!r}: no such kind is "
                                       f"registered (known: {', '.join(sorted(keys))})")
            edges[k.key].append((ref.kind, ref.field))
    return edges


def create_order(kinds: Sequence[Any]) -> list[Any]:
    """``kinds`` in topological order (referenced first); ties keep the registry's order. Raises
    :class:`ReferenceCycleError` naming the cycle (``a.field -> b, b.field -> a``)."""
    edges = _edges(kinds)
    by_key = {k.key: k for k in kinds}
    done: list[str] = []
    state: dict[str, str] = {}  # "open" while on the path, "done" after

    def visit(key: str, path: list[tuple[str, str]]) -> None:
        if state.get(key) == "done":
            return
        if state.get(key) == "open":
            raise ReferenceCycleError(_cycle_line(key, path))
        state[key] = "open"
        for target, fld in edges[key]:
            visit(target, [*path, (key, fld)])
        state[key] = "done"
        done.append(key)

    for k in kinds:
        visit(k.key, [])
    return [by_key[key] for key in done]


def _cycle_line(key: str, path: list[tuple[str, str]]) -> str:
    start = next(i for i, (k, _) in enumerate(path) if k == key)
    loop = path[start:]
    hops = [f"{k}.{fld} -> {loop[i + 1][0] if i + 1 < len(loop) else key}" for i, (k, fld) in enumerate(loop)]
    return "the kinds' references form a cycle: " + ", ".join(hops) + " (no kind can be created first)"


def delete_order(kinds: Sequence[Any]) -> list[Any]:
    """The reverse of :func:`create_order`: referencing kinds' deletes first."""
    return list(reversed(create_order(kinds)))


def referrers(kinds: Sequence[Any], key: str) -> list[tuple[Any, Any]]:
    """(kind, reference) for every reference that points at kind ``key``: what to re-point before an object of
    ``key`` is deleted or replaced, and what keeps one from being pruned."""
    return [(k, ref) for k in kinds for ref in getattr(k, "references", ()) if ref.kind == key]


def stages(changes: Sequence[Any], kinds: Sequence[Any], is_delete) -> list[list[Any]]:
    """``changes`` grouped into stages: every kind's non-deletes in create order, then every kind's deletes
    in delete order; empty stages left out. ``is_delete(change)`` says which is which."""
    order = create_order(kinds)
    by_kind: Mapping[str, list[Any]] = {k.key: [c for c in changes if c.kind == k.key] for k in order}
    ahead = [[c for c in by_kind[k.key] if not is_delete(c)] for k in order]
    behind = [[c for c in by_kind[k.key] if is_delete(c)] for k in reversed(order)]
    return [s for s in ahead + behind if s]
