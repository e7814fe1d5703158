"""Carrying out the replicas' changes (issue 26: the kind-specific path, asked by ``engine.executor`` through
the kind's ``WithExecutor`` hooks).

First renames (in place, nothing lost) and the removal of the failed successors of earlier replaces; then the
creates, including the successors of replaces (under their marked name, ``reconciler.engine.successor``),
re-checked against a fresh listing first and followed by the concurrent-duplicate rule (the oldest survives,
``engine.executor.keep_oldest``); the deletes of pruned replicas last, each after re-reading the replica.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from reconciler.engine.executor import Survivors, age_of, keep_oldest
from reconciler.engine.models import Action, Change
from reconciler.engine.outcome import Outcome
from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.replaces import changed_before_delete, created_name


def work(changes: Sequence[Change], successors: bool) -> tuple[list[Change], list[Change], list[Change]]:
    """(first: renames and the failed successors of earlier replaces, ours and safe to go; the creates, and the
    successors of replaces with ``successors``; last: the deletes)."""
    first = [c for c in changes if c.action is Action.RENAME
             or (c.action is Action.DELETE and c.successor_id)]
    creates = [c for c in changes if c.action is Action.CREATE
               or (successors and c.action is Action.REPLACE and c.phase in (None, "create"))]
    deletes = [c for c in changes if c.action is Action.DELETE and c not in first]
    return first, creates, deletes


def step(run, change: Change) -> tuple[str, str | None] | Outcome:
    client = run.client
    if change.action is Action.RENAME:
        REPLICAS.rename(client, change.object_id, change.name)
        return f"renamed {change.object_id}", None
    if change.action in (Action.CREATE, Action.REPLACE):
        new_id = REPLICAS.create(client, change.desired, name=created_name(change), known_ids=run.known(REPLICAS))
        return f"created {new_id}" + (f" as {created_name(change)}" if change.action is Action.REPLACE
                                      else ""), new_id
    if (why := changed_before_delete(client, change)) is not None:
        return Outcome(change, False, f"not deleted: {why}")
    try:
        REPLICAS.delete(client, change.object_id)
        return f"deleted {change.object_id}", None
    except NotFoundError:
        return f"{change.object_id} was already gone", None


def _age(r) -> tuple[str, str]:
    return age_of(r, lambda x: x.replica_id)


def recheck(run, creates: list[Change]) -> list[Change]:
    """List the account once more right before creating (or use the listing the caller just made): a replica
    under a name about to be created that was not there when the plan was made was made by a concurrent apply
    (or a quick human). It is adopted (the oldest, should there be several) instead of being created twice."""
    names = {created_name(c) for c in creates}
    known, listed, record = run.known(REPLICAS), run.listed, run.record
    try:
        appeared: dict[str, Any] = {}
        for r in run.client.list_replicas() if listed is None else listed:
            if r.replica_id not in known and r.name in names and (
                    r.name not in appeared or _age(r) < _age(appeared[r.name])):
                appeared[r.name] = r
    except ReconcilerError as e:
        for c in creates:
            record(Outcome(c, False, f"could not re-check the account before creating: {e}"))
        return []
    for c in creates:
        if (r := appeared.get(created_name(c))) is not None:
            record(Outcome(c, True, f"another apply created {r.replica_id} since the plan was made; not creating "
                                    "a duplicate", r.replica_id))
    return [c for c in creates if created_name(c) not in appeared]


def settle(run, outcomes: list[Outcome]) -> None:
    """:func:`~reconciler.engine.executor.keep_oldest`; the declared name then waits for the survivor."""
    client = run.client

    def delete(rid: str) -> None:
        with contextlib.suppress(NotFoundError):
            client.delete_replica(rid)

    kind = Survivors("", lambda: client.list_replicas(), lambda rid: client.get_replica(rid), delete,
                     lambda r: r.replica_id,
                     lambda name, rid: Change(Action.DELETE, name, "duplicate of a concurrent apply's create",
                                              object_id=rid))
    ours = {created_name(o.change): o for o in outcomes if o.ok and o.new_id and o.detail.startswith("created")}
    run.report.created.update(keep_oldest(kind, ours, run.known(REPLICAS), run.record))
