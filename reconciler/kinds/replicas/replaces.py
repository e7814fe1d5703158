"""Blue/green replaces: the successors started (:func:`start_successors`), and the swap finished once a successor
is ready (:func:`finish_replaces`: personas re-pointed, the old replica deleted, the successor renamed). The
identity of both replicas is re-read right before every destructive step (issue 24 #3); a kill between any two
steps leaves a state the planner reads back (``reconciler.engine.successor``)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from reconciler.api.redact import escape_control
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.outcome import ExecutionReport, Outcome, fan_out
from reconciler.engine.status import Phase
from reconciler.engine.successor import parse_successor, successor_name
from reconciler.errors import NotFoundError, ReconcilerError


def created_name(change: Change) -> str:
    """The name a create POSTs: the declared name, or a replace's marked successor name."""
    if change.action is Action.REPLACE:
        return successor_name(change.name, change.object_id)
    return change.name


def start_successors(changes: list[Change], client, *, known: Collection[str], parallelism: int = 4,
                     emit: Callable[[str], None] = print, stop: threading.Event | None = None,
                     jitter: float = 0.0, rng: Callable[[], float] | None = None,
                     sleep: Callable[[float], object] | None = None) -> ExecutionReport:
    """Start the successors of the rollout's next replaces (phase ``create``), hours after the plan was made.
    The account is listed once more first: a successor a concurrent run started meanwhile is adopted (the
    oldest); a replace whose old replica is gone or renamed since is not started (someone else finished or
    undid it: the plan no longer holds). Then the creates, and the duplicate check, as :func:`execute`.

    ``jitter``: wait a random 0..jitter seconds before that listing (issue 24 #5). Two runs of one rollout tick in
    lockstep; without a lock service, the one that lists later sees the successor the other just created and
    adopts it instead of paying for a second training (the duplicate check only removes it once paid for)."""
    from reconciler.engine.executor import execute

    report = ExecutionReport()
    if jitter > 0:
        import random

        wait = jitter * (rng or random.random)()
        if stop is not None:
            stop.wait(wait) if sleep is None else sleep(wait)
        else:
            (sleep or time.sleep)(wait)
        if stop is not None and stop.is_set():
            report.interrupted = True
            report.skipped += [(c, "interrupted") for c in changes]
            return report
    try:
        listed = client.list_replicas()
    except ReconcilerError as e:
        for c in changes:
            report.outcomes.append(Outcome(c, False, f"could not re-check the account before starting: {e}"))
        return report
    names = {r.replica_id: r.name for r in listed}
    present = set(names.values())
    todo = []
    for c in changes:
        holders = [r for r in listed if r.name == c.name and r.replica_id not in known]
        if c.object_id not in names and created_name(c) not in present and len(holders) == 1:
            # a concurrent run of this rollout finished it already (its successor holds the name): adopted, and
            # the rollout goes on with it (verified and checked again before it counts as replaced)
            report.outcomes.append(Outcome(c, True, f"another run already replaced it: {holders[0].replica_id} "
                                                    f"holds the name {c.name!r}", holders[0].replica_id))
            report.created[c.name] = holders[0].replica_id
            continue
        if created_name(c) not in present and names.get(c.object_id) != c.name:  # (a successor is adopted)
            why = "is gone" if c.object_id not in names else f"is now named {names[c.object_id]!r}"
            report.outcomes.append(Outcome(c, False, f"{c.object_id} {why} since the plan was made: not started; "
                                                     "run plan again"))
        else:
            todo.append(c)
    if todo:  # the same listing serves execute's re-check: a successor a concurrent run started is adopted there
        done = execute(Plan(changes=tuple(todo)), client, known_ids=known, parallelism=parallelism, emit=emit,
                       stop=stop, successors=True, listed=listed)
        report.outcomes += done.outcomes
        report.skipped += done.skipped
        report.created.update(done.created)
        report.interrupted = done.interrupted
    return report

def _repoint_personas(client, old_id: str, new_id: str) -> list[str]:
    """Before the old replica of a blue/green replace is deleted: PATCH every user persona whose
    default_replica_id is it to the successor, so no persona ever references a deleted replica. Raises (the
    old replica is then kept) when the personas cannot be listed or one cannot be re-pointed."""
    list_personas = getattr(client, "list_personas", None)
    if list_personas is None:  # a client without personas (tests' fakes)
        return []
    done = []
    for p in list_personas():
        if p.default_replica_id == old_id:
            client.update_persona(p.persona_id, [{"op": "replace", "path": "/default_replica_id", "value": new_id}])
            done.append(f"re-pointed persona {p.persona_id} to {new_id}")
    return done


def changed_before_delete(client, change: Change) -> str | None:
    """Right before a planned delete (a pruned replica, a failed successor): the replica is re-read; renamed since
    the plan was made (out of scope, or by a person keeping it), or a failed successor a person has pointed a
    persona at, it is not deleted (issue 24 #3). None: still what the plan saw (or already gone)."""
    parsed = parse_successor(change.name) if change.successor_id else None
    if parsed:
        item = InFlight(parsed[0], parsed[1], change.object_id, "failed")
        return _changed_successor(client, item, change.name)
    now = _name_now(client, change.object_id)
    if now is not None and now != change.name:
        return f"{change.object_id} is now named {now!r}, not {change.name!r} as when the plan was made"
    return None


def _name_now(client, replica_id: str) -> str | None:
    """The replica's name as the account has it right now (re-read before a destructive step, issue 24 #3), or
    None when it is gone (nothing left to delete or rename)."""
    try:
        return client.get_replica(replica_id).name
    except NotFoundError:
        return None


def _kept(change: Change, why: str, done: Sequence[str] = ()) -> Outcome:
    head = "; ".join(done) + "; " if done else ""
    return Outcome(change, False, f"{head}{why}: the swap stopped there and both replicas are kept (run plan to see "
                                  "the account as it is now)")


def _changed_old(client, item: InFlight) -> str | None:
    """Why the old replica of ``item`` is no longer the declared one (renamed since the replace started: out of
    the name, the scope), or None when it still is, or is gone (nothing left to delete)."""
    now = _name_now(client, item.old_id)
    if now is not None and now != item.name:
        return f"{item.old_id} is now named {now!r}, no longer {item.name!r}"
    return None


def _changed_successor(client, item: InFlight, marked: str) -> str | None:
    """Why the successor is no longer ours to delete or rename: renamed by a person (not the marked name), or
    referenced by a persona no replace re-pointed (a person pointed it there). None when it is still ours or
    gone."""
    try:
        successor = client.get_replica(item.successor_id)
    except NotFoundError:
        return None
    if successor.name not in (marked, item.name):
        return f"{item.successor_id} is now named {successor.name!r}, not {marked!r}"
    if item.phase == "failed" or successor.phase is Phase.FAILED:
        list_personas = getattr(client, "list_personas", None)
        users = [p for p in (list_personas() if list_personas else ())
                 if p.default_replica_id == item.successor_id and p.persona_type != "system"]
        if users:
            return f"persona {users[0].name} ({users[0].persona_id}) uses {item.successor_id} as its default replica"
    return None


def _name_taken(client, item: InFlight) -> str | None:
    """Right before the rename: another replica took the declared name since (a person): not renamed onto it."""
    others = [r for r in client.list_replicas() if r.name == item.name and r.replica_id != item.successor_id]
    if others:
        return f"{', '.join(r.replica_id for r in others)} took the name {item.name!r} meanwhile: not renaming " \
               f"{item.successor_id} onto it"
    return None


@dataclass(frozen=True)
class InFlight:
    """A blue/green replace whose successor exists: ``old_id`` keeps ``name`` until ``successor_id`` is ready."""

    name: str
    old_id: str
    successor_id: str
    phase: str  # planner phase: create (made by this run), training, swap, rename, failed


def in_flight(plan: Plan, created: Mapping[str, str] | None = None) -> list[InFlight]:
    """The replaces of ``plan`` that have a successor: found on the account, or ``created`` by this run."""
    created = created or {}
    items = []
    for c in plan.changes:
        if c.action is Action.REPLACE and c.successor_id:
            items.append(InFlight(c.name, c.object_id, c.successor_id, c.phase or "training"))
        elif c.action is Action.REPLACE and c.name in created:
            items.append(InFlight(c.name, c.object_id, created[c.name], "create"))
        elif c.action is Action.DELETE and c.successor_id and (parsed := parse_successor(c.name)):
            items.append(InFlight(parsed[0], parsed[1], c.object_id, "failed"))
    return items


def finish_replaces(items: list[InFlight], phases: Mapping[str, object], client, *, parallelism: int = 4,
                    emit: Callable[[str], None] = print, stop: threading.Event | None = None) -> ExecutionReport:
    """Carry each in-flight replace on by its successor's phase (``phases``: successor id -> Phase or "gone"):
    ready -> delete the old replica, then rename the successor to the declared name; failed -> delete the
    successor, the old replica keeps serving; still training -> left in flight. A kill between any two steps
    leaves a state the planner reads back (``reconciler.engine.successor``)."""
    stop = stop or threading.Event()
    report = ExecutionReport()

    def run(item: InFlight) -> list[Outcome]:
        return _finish_one(item, phases.get(item.successor_id), client)

    def record(outcomes: list[Outcome]) -> None:
        for o in outcomes:
            report.outcomes.append(o)
            status = "ok" if o.ok else "FAILED"
            emit(escape_control(f"  -/+ replace {o.change.name}: {status}: {o.detail}"))

    todo = [i for i in items if phases.get(i.successor_id) in (Phase.READY, Phase.FAILED) or i.phase == "failed"]
    for item in fan_out(todo, run, record, parallelism=parallelism, stop=stop):
        report.skipped.append((Change(Action.REPLACE, item.name, "", object_id=item.old_id), "interrupted"))
    report.interrupted = stop.is_set()
    return report


def _finish_one(item: InFlight, phase: object, client) -> list[Outcome]:
    """One in-flight replace carried on by its successor's ``phase`` (see :func:`finish_replaces`)."""
    change = Change(Action.REPLACE, item.name, "blue/green replace", object_id=item.old_id,
                    successor_id=item.successor_id)
    marked = successor_name(item.name, item.old_id)
    try:
        if phase is Phase.FAILED or item.phase == "failed":
            return [_drop_failed_successor(client, change, item, marked)]
        if phase is not Phase.READY:
            return []
        return [_swap(client, change, item, marked)]
    except ReconcilerError as e:
        return [Outcome(change, False, f"{e}; run apply again to finish the replace")]


def _drop_failed_successor(client, change: Change, item: InFlight, marked: str) -> Outcome:
    """The successor failed training: removed (unless a person made it theirs); the old replica keeps serving."""
    kept = _changed_successor(client, item, marked)
    if kept:
        return Outcome(change, False, f"successor {item.successor_id} failed training, but {kept}: "
                                      f"kept it; {item.old_id} keeps the name and serves")
    with contextlib.suppress(NotFoundError):
        client.delete_replica(item.successor_id)
    return Outcome(change, False, f"successor {item.successor_id} failed training: removed it; "
                                  f"{item.old_id} keeps the name and serves")


def _swap(client, change: Change, item: InFlight, marked: str) -> Outcome:
    """The successor is ready: personas re-pointed, the old replica deleted, the successor renamed."""
    done = []
    if item.phase != "rename":
        # identity and scope are re-read right before each destructive step (issue 24 #3): a person may
        # have renamed either replica (out of scope, or to keep it) while the successor trained
        for check in (lambda: _changed_old(client, item), lambda: _changed_successor(client, item, marked)):
            if (why := check()) is not None:
                return _kept(change, why)
        done += _repoint_personas(client, item.old_id, item.successor_id)
        if (why := _changed_old(client, item)) is not None:
            return _kept(change, why, done)
        try:
            client.delete_replica(item.old_id)
            done.append(f"deleted {item.old_id}")
        except NotFoundError:
            done.append(f"{item.old_id} was already gone")
    if (why := _changed_successor(client, item, marked) or _name_taken(client, item)) is not None:
        return _kept(change, why, done)
    client.rename_replica(item.successor_id, item.name)
    done.append(f"renamed {item.successor_id} to {item.name}")
    return Outcome(change, True, "; ".join(done), item.successor_id)
