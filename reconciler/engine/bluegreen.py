"""Blue/green replaces of the generic engine's kinds (issue 27: a replaced document keeps serving until its
successor is ready). Names no kind: a kind opts in with :class:`~reconciler.engine.kind.WithBlueGreen` (plus
:class:`~reconciler.engine.kind.WithReadiness`).

The successor is created under the marked name ``<name>~next~<old id>`` (``reconciler.engine.successor``), so
every step is readable from the account alone:

==========================================  ===========  ====================================================
account                                     phase        next step
==========================================  ===========  ====================================================
``name`` only (a replace is due)            ``create``   create the successor (apply)
``name`` + ``name~next~old``, processing    ``process``  wait (the waiter's rows, ``reconciler.engine.readiness``)
``name`` + ``name~next~old``, ready         ``swap``     re-point referrers, delete old, rename successor
``name`` + ``name~next~old``, failed        ``failed``   delete the successor; the old one keeps serving (exit 3)
``name~next~old`` only                      ``rename``   rename the successor
==========================================  ===========  ====================================================

Re-pointing: every kind that references this one (``graph.referrers``) and has ``repoint(client, reference,
old_id, new_id) -> list[str]`` moves its references from the old object to the successor BEFORE the old one is
deleted; a failure keeps the old object (nothing is deleted while something may still cite it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.engine import graph
from reconciler.engine.kind import WithBlueGreen, WithReadiness, has
from reconciler.engine.models import Action, Change
from reconciler.engine.status import Phase
from reconciler.engine.successor import parse_successor, successor_name
from reconciler.errors import NotFoundError, ReconcilerError


def blue_green(k: Any) -> bool:
    return has(k, WithBlueGreen) and has(k, WithReadiness)


def successors(k: Any, listed: Sequence[Any]) -> dict[str, tuple[str, Any]]:
    """declared name -> (old id, successor object) for every marked successor among ``listed``."""
    out: dict[str, tuple[str, Any]] = {}
    for r in listed:
        parsed = parse_successor(k.remote_name(r) or "")
        if parsed is not None:
            out[parsed[0]] = (parsed[1], r)
    return out


def phase_of(k: Any, successor: Any) -> str:
    phase = k.phase(successor)
    return {Phase.READY: "swap", Phase.FAILED: "failed"}.get(phase, "process")


def in_flight(k: Any, d: Any, old: Any | None, found: Mapping[str, tuple[str, Any]], refs: tuple) -> Change | None:
    """The REPLACE change of a replace already in flight for ``d`` (``old``: the matched object, or None when it
    is gone: the rename phase), or None when there is none."""
    name = k.name_of(d)
    if name not in found:
        return None
    old_id, succ = found[name]
    if old is not None and k.remote_id(old) != old_id:
        return None  # a successor of another object of that name: not this replace's
    phase = "rename" if old is None else phase_of(k, succ)
    why = {"rename": "the old object is gone: the successor takes the name",
           "swap": "the successor is ready: swap it in",
           "failed": f"the successor failed: {k.not_ready(succ) or 'no message'}; it is removed, the old one stays",
           "process": "the successor is still processing"}[phase]
    return Change(Action.REPLACE, name, f"replace in flight: {why}", kind=k.key, desired=d, refs=refs,
                  object_id=old_id, phase=phase, successor_id=k.remote_id(succ),
                  before=k.remote_attributes(old) if old is not None else None)


def start(k: Any, c: Change, body: Mapping[str, Any], client: Any, known: frozenset[str]) -> str:
    """Create the successor of ``c.object_id`` under its marked name (exactly once: the client settles)."""
    name_field = getattr(k, "name_field", None) or "name"
    marked = {**body, name_field: successor_name(c.name, c.object_id or "")}
    return k.create(client, marked, known_ids=known)


def swap(k: Any, kinds: Sequence[Any] | None, client: Any, name: str, old_id: str | None, new_id: str,
         note: Callable[[str], None] = print) -> None:
    """The successor ``new_id`` is ready: re-point every referrer from ``old_id``, delete the old object (its
    identity re-read first: renamed since means not ours to delete), rename the successor to ``name``.
    Raises ReconcilerError (the old object is then kept) when a referrer cannot be re-pointed."""
    if old_id:
        for line in repoint_referrers(k, client, old_id, new_id, kinds):
            note(line)
        try:
            now = k.get(client, old_id)
        except NotFoundError:
            now = None
        if now is not None:
            if k.remote_name(now) != name:
                raise ReconcilerError(f"not deleted: {old_id} is now named {k.remote_name(now)!r}; the successor "
                                      f"{new_id} keeps its marked name")
            k.delete(client, old_id)
            note(f"{k.noun} {name}: deleted the old {old_id}")
    k.rename(client, new_id, name)
    note(f"{k.noun} {name}: {new_id} swapped in")


def capture_referrers(k: Any, client: Any, kinds: Sequence[Any] | None = None) -> dict[str, Any]:
    """Each referrer kind's ``snapshot`` (a kind with one) taken now: for a replace that deletes the old object
    first, whose delete unlinks it from its referrers before the new one exists to re-point them to."""
    if kinds is None:
        from reconciler.kinds import kinds as registered

        kinds = registered()
    out: dict[str, Any] = {}
    for rk, _ref in graph.referrers(kinds, k.key):
        snap = getattr(rk, "snapshot", None)
        if snap is not None and rk.key not in out:
            out[rk.key] = snap(client)
    return out


def repoint_referrers(k: Any, client: Any, old_id: str, new_id: str, kinds: Sequence[Any] | None = None,
                      snapshots: Mapping[str, Any] | None = None) -> list[str]:
    """Every referrer of ``k`` (``graph.referrers``, a kind with ``repoint``) moved from ``old_id`` to ``new_id``
    (also a non-blue/green replace's, before its old object is deleted). Raises ReconcilerError when one cannot."""
    if kinds is None:
        from reconciler.kinds import kinds as registered

        kinds = registered()
    lines: list[str] = []
    for rk, ref in graph.referrers(kinds, k.key):
        repoint = getattr(rk, "repoint", None)
        if repoint is not None and snapshots and rk.key in snapshots:
            lines += repoint(client, ref, old_id, new_id, snapshot=snapshots[rk.key])
        elif repoint is not None:
            lines += repoint(client, ref, old_id, new_id)
    return lines


def drop_failed(k: Any, client: Any, successor_id: str) -> None:
    """A successor that failed never served: delete it (the old object keeps the name and keeps serving)."""
    with contextlib.suppress(NotFoundError):
        k.delete(client, successor_id)
