"""Carrying out a plan, in an order that never leaves the account worse than before. It names no kind.

1. the generic kinds' creates and updates (``reconciler.engine.objects``), in the reference graph's order: what
   the other kinds reference;
2. for every kind on a kind-specific path (:class:`~reconciler.engine.kind.WithExecutor`), in create order: its
   ``first`` changes (in place, nothing lost), then its creates and updates, re-checked against a fresh listing
   first (never a duplicate create), with adaptive parallelism (``--parallelism`` is the ceiling; see
   reconciler/api/limiter.py), then one listing to resolve a concurrent apply's duplicates (:func:`keep_oldest`:
   the oldest survives, we only ever delete our own);
3. those kinds' deletes, in reverse create order, only once every earlier step succeeded; the generic kinds'
   deletes last.

Every outcome is recorded as it happens, so a failure, Ctrl-C or SIGTERM can say exactly what was and was not
done. A stop flag is checked before every request is dispatched: once it is set nothing new starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.api.limiter import AIMDLimiter
from reconciler.api.redact import escape_control
from reconciler.engine.kind import WithExecutor, has
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.outcome import ExecutionReport, Outcome, fan_out
from reconciler.errors import CreateOutcomeUnknownError, ReconcilerError

# re-exported: the executor is where callers find a run's pieces
__all__ = ["ExecutionReport", "Outcome", "Survivors", "execute", "fan_out", "keep_oldest"]


def executors() -> list:
    """The registered kinds that carry out their own changes, in create order."""
    from reconciler.kinds import kinds

    return [k for k in kinds() if has(k, WithExecutor)]


def execute(plan: Plan, client, *, known_ids: Collection[str], parallelism: int = 4,
            emit: Callable[[str], None] = print, stop: threading.Event | None = None, successors: bool = False,
            listed: Sequence[Any] | None = None, known_objects: Mapping[str, Collection[str]] | None = None,
            **known: Collection[str]) -> ExecutionReport:
    """Apply ``plan.changes`` through ``client`` (a TavusClient). Never raises for a failed step: the
    report says what happened. ``known_ids``: the ids the plan saw of the first kind that carries out its own
    changes (the registry's first kind), ``known``: ``known_<noun>_ids=`` of each other such kind; ``listed``: a
    listing of the first kind the caller has just made (the re-check before creating uses it). Replaces are the
    rollout's (``reconciler.kinds.replicas.rolling``): a kind's ``work`` includes their successors' creates only with
    ``successors``; the rest of a replace is the kind's."""
    own = executors()
    if unknown := sorted(set(known) - {f"known_{k.noun}_ids" for k in own[1:]}):
        raise TypeError(f"execute() got unexpected keyword arguments: {', '.join(unknown)}")
    ids = {k.key: frozenset(known_ids if i == 0 else known.get(f"known_{k.noun}_ids", ())) for i, k in enumerate(own)}
    run = _Run(client, ids, emit, stop or threading.Event(), parallelism, listed,
               {k.key for k in own if not getattr(k, "records_created", True)})
    work = _Work.of(plan, successors, own, _generic_keys())
    with run.limiter:
        run.go(work, known_objects or {})
    report = run.report
    if report.blocking or report.interrupted:
        why = "interrupted" if report.interrupted else "not run: an earlier step failed"
        seen = {id(o.change) for o in report.outcomes} | {id(c) for c, _ in report.skipped}
        main = {id(c) for _k, _first, changes, _last in work.own for c in changes}
        report.skipped += [(c, why) for c in plan.changes
                           if id(c) not in seen and (c.action is not Action.REPLACE or id(c) in main)]
    return report


@dataclass(frozen=True)
class _Work:
    """A plan's changes by stage, in the order they run."""

    objects_first: list[Change]  # the generic engine's kinds' creates and updates (what others reference)
    own: list[tuple[Any, list[Change], list[Change], list[Change]]]  # (kind, first, main, last), create order
    objects_last: list[Change]  # the generic kinds' deletes (reference order)

    @classmethod
    def of(cls, plan: Plan, successors: bool, own: Sequence[Any], generic: frozenset[str]) -> _Work:
        objects_first, objects_last = _split_generic(plan, generic)
        return cls(objects_first, [(k, *k.work([c for c in plan.changes if c.kind == k.key], successors))
                                   for k in own], objects_last)


class _Run:
    """One :func:`execute`: the client, the baselines the re-checks compare with, the report, the stop flag, and
    one adaptive limit for every stage of the run."""

    def __init__(self, client, known: Mapping[str, frozenset[str]], emit: Callable[[str], None],
                 stop: threading.Event, parallelism: int, listed: Sequence[Any] | None, unnamed: Collection[str]):
        self.client, self._known, self.emit, self.stop = client, known, emit, stop
        self.parallelism, self.listed, self._unnamed = parallelism, listed, frozenset(unnamed)
        self.report = ExecutionReport()
        self.limiter = AIMDLimiter(max(1, parallelism))
        self._kinds: dict[str, Any] = {}

    def known(self, kind) -> frozenset[str]:
        """The ids of ``kind`` the plan saw (the re-checks' baseline)."""
        return self._known.get(kind.key, frozenset())

    def going(self) -> bool:
        return not self.report.blocking and not self.report.interrupted

    def go(self, work: _Work, known_objects: Mapping[str, Collection[str]]) -> None:
        report, stop = self.report, self.stop
        self._kinds = {k.key: k for k, _first, _main, _last in work.own}
        # the generic engine's kinds first (what the others reference), their deletes last (reference order)
        self.objects_stage(work.objects_first, known_objects)
        for k, first, main, _last in work.own:
            if not self.going() or not self.stage(first):
                break
            if main and not stop.is_set():
                todo = k.recheck(self, main)
                made = len(report.outcomes)
                self.stage(todo)
                k.settle(self, report.outcomes[made:])
                report.interrupted = report.interrupted or stop.is_set()
        for _k, _first, _main, last in reversed(work.own):
            if self.going():
                self.stage(last)
        self.objects_stage(work.objects_last, known_objects)

    def objects_stage(self, changes: list[Change], known_objects: Mapping[str, Collection[str]]) -> bool:
        return _objects_stage(changes, self.client, known_objects, self.record, self.report, self.stop)

    def stage(self, changes: list[Change]) -> bool:
        for c in fan_out(changes, self.run, self.record, parallelism=self.parallelism, stop=self.stop,
                         limiter=self.limiter):
            self.report.skipped.append((c, "interrupted"))
        self.report.interrupted = self.report.interrupted or self.stop.is_set()
        return self.going()

    def run(self, change: Change) -> Outcome:
        started = time.monotonic()
        kind = self._kinds[change.kind]
        try:
            done = kind.step(self, change)
        except CreateOutcomeUnknownError as e:
            return Outcome(change, False, f"OUTCOME UNKNOWN: {e}", unknown=True)
        except ReconcilerError as e:  # the kind may say more (a held update), else the error's one line
            return kind.failure(change, e) or Outcome(change, False, str(e))
        except Exception as e:  # noqa: BLE001 - a step must always get an outcome, so the run's account is whole
            return Outcome(change, False, f"unexpected {type(e).__name__}: {e}")
        if isinstance(done, Outcome):
            return done
        detail, new_id = done
        return Outcome(change, True, f"{detail} ({time.monotonic() - started:.1f}s)", new_id)

    def record(self, outcome: Outcome) -> None:
        self.report.outcomes.append(outcome)
        if outcome.ok and outcome.new_id and outcome.change.kind not in self._unnamed:
            self.report.created[outcome.change.name] = outcome.new_id
        c = outcome.change
        status = "ok" if outcome.ok else "HELD" if outcome.held else "FAILED"
        self.emit(escape_control(f"  {c.action.symbol} {c.action.value} {c.name}: {status}: {outcome.detail}"))


def _generic_keys() -> frozenset[str]:
    """The kinds the generic engine carries out (reconciler.engine.objects)."""
    from reconciler.engine.planner import generic_kinds

    return frozenset(k.key for k in generic_kinds())


def _split_generic(plan: Plan, generic: frozenset[str]) -> tuple[list[Change], list[Change]]:
    """The generic kinds' changes: (creates and updates, run first; deletes, run last)."""
    mine = [c for c in plan.changes if c.kind in generic]
    return [c for c in mine if c.action is not Action.DELETE], [c for c in mine if c.action is Action.DELETE]


def _objects_stage(changes: list[Change], client, known: Mapping[str, Collection[str]], record,
                   report: ExecutionReport, stop: threading.Event) -> bool:
    if changes and not report.blocking and not stop.is_set():
        _apply_generic(changes, client, known, record, report)
    return not report.blocking and not report.interrupted


def _apply_generic(changes: list[Change], client, known: Mapping[str, Collection[str]], record,
                   report: ExecutionReport) -> None:
    """Carry out the generic kinds' ``changes`` (in reference order, re-checked, exactly-once creates)."""
    from reconciler.engine.objects import ObjectPlan, apply_objects
    from reconciler.engine.planner import generic_kinds

    done = apply_objects(ObjectPlan(tuple(changes)), generic_kinds(), client, known_ids=known)
    for c, ok, detail in done.outcomes:
        record(Outcome(c, ok, detail, done.created.get((c.kind, c.name)) if c.action is Action.CREATE else None))
    report.created_objects.update(done.created)
    seen = {id(c) for c, _ok, _d in done.outcomes}
    report.skipped += [(c, "not run: an earlier step failed") for c in changes if id(c) not in seen]


@dataclass(frozen=True)
class Survivors:
    """How one kind's duplicates are told apart and removed (the rule is the same for every kind)."""

    noun: str  # in messages, before an id: "" or "persona "
    listing: Callable[[], list]
    get: Callable[[str], Any]
    delete: Callable[[str], Any]  # our own duplicate; already gone is as good
    id_of: Callable[[Any], str]
    undo: Callable[[str, str], Change]  # (declared name, our id) -> the delete it records
    eligible: Callable[[Any], bool] = lambda obj: True


def age_of(obj, id_of: Callable[[Any], str]) -> tuple[str, str]:
    """Who was first: created_at, then the id as a deterministic tie-break every run agrees on."""
    return (obj.created_at or "", id_of(obj))


def keep_oldest(kind: Survivors, ours: Mapping[str, Outcome], known: frozenset[str], record) -> dict[str, str]:
    """After creating: list again. Where another object of a name we just created exists that the plan did not
    know and it is older, a concurrent apply created it first: delete our own (only ever the one we made) and
    adopt theirs. Every run follows the same rule, so exactly the oldest survives. Returns name -> the survivor
    for each name where it is not ours."""
    if not ours:
        return {}
    n = kind.noun
    try:
        listed = kind.listing()
    except ReconcilerError as e:
        for name, o in ours.items():
            record(Outcome(o.change, False, f"could not check for a concurrent apply's duplicate of {n}{name} "
                                            f"({o.new_id}): {e}; run plan before applying again"))
        return {}
    by_name: dict[str, list] = {}
    for obj in listed:
        if obj.name in ours and kind.id_of(obj) not in known and kind.eligible(obj):
            by_name.setdefault(obj.name, []).append(obj)
    adopted = {}
    for name, o in ours.items():
        mine = next((x for x in by_name.get(name, ()) if kind.id_of(x) == o.new_id), None)
        others = [x for x in by_name.get(name, ()) if kind.id_of(x) != o.new_id]
        if not others:
            continue
        if mine is None:
            try:
                mine = kind.get(o.new_id)
            except ReconcilerError as e:
                record(Outcome(o.change, False, f"{n}{name} was also created by another apply "
                                                f"({', '.join(kind.id_of(x) for x in others)}) and {o.new_id} could "
                                                f"not be read to decide which stays: {e}"))
                continue
        first = kind.id_of(min([mine, *others], key=lambda x: age_of(x, kind.id_of)))
        if first == o.new_id:
            continue  # ours is the oldest: the other run removes its own
        undo = kind.undo(name, o.new_id)
        try:
            kind.delete(o.new_id)
        except ReconcilerError as e:
            record(Outcome(undo, False, f"another apply created {n}{first} first; removing our duplicate "
                                        f"{o.new_id} failed: {e}"))
            continue
        record(Outcome(undo, True, f"another apply created {n}{first} first; removed our duplicate {o.new_id}"))
        adopted[o.change.name] = first
    return adopted
