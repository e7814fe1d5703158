"""Carrying out a plan, in an order that never leaves the account worse than before.

1. renames (in place, nothing lost), and removing the failed successors of earlier replaces;
2. creates, including the successors of replaces (under their marked name, ``reconciler.engine.successor``), with
   adaptive parallelism (``--parallelism`` is the ceiling; see reconciler/api/limiter.py); then one listing to
   resolve a concurrent apply's duplicates (the oldest survives);
3. deletes of pruned replicas, only once every earlier step succeeded.

A replace is blue/green: its old replica is deleted only after the successor finished training, by
:func:`finish_replaces` (run after waiting, by ``apply`` or ``wait``).

Every outcome is recorded as it happens, so a failure, Ctrl-C or SIGTERM can say exactly what was and was not
done. A stop flag is checked before every request is dispatched: once it is set nothing new starts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.api.limiter import AIMDLimiter
from reconciler.api.redact import escape_control
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.outcome import ExecutionReport, Outcome, fan_out
from reconciler.errors import CreateOutcomeUnknownError, EditorDraftError, NotFoundError, ReconcilerError
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.replaces import (
    InFlight,
    changed_before_delete,
    created_name,
    finish_replaces,
    in_flight,
    start_successors,
)

# re-exported: the executor is where callers find a run's pieces
__all__ = ["ExecutionReport", "InFlight", "Outcome", "editor_draft_line", "execute", "fan_out", "finish_replaces",
           "in_flight", "start_successors"]


def execute(plan: Plan, client, *, known_ids: Collection[str], parallelism: int = 4,
            emit: Callable[[str], None] = print, stop: threading.Event | None = None,
            known_persona_ids: Collection[str] = (), successors: bool = False,
            listed: Sequence[Any] | None = None,
            known_objects: Mapping[str, Collection[str]] | None = None) -> ExecutionReport:
    """Apply ``plan.changes`` through ``client`` (a TavusClient). Never raises for a failed step: the
    report says what happened. Replaces are the rollout's (``reconciler.engine.rolling``): their successors are
    created here only with ``successors`` (by :func:`start_successors`, which passes the account it has just
    ``listed`` for the re-check before creating); the rest of a replace is :func:`finish_replaces`."""
    run = _Run(client, frozenset(known_ids), frozenset(known_persona_ids), emit, stop or threading.Event(),
               parallelism)
    work = _Work.of(plan, successors, _generic_keys())
    with run.limiter:
        run.go(work, listed, known_objects or {})
    report = run.report
    if report.blocking or report.interrupted:
        why = "interrupted" if report.interrupted else "not run: an earlier step failed"
        seen = {id(o.change) for o in report.outcomes} | {id(c) for c, _ in report.skipped}
        report.skipped += [(c, why) for c in plan.changes
                           if id(c) not in seen and (c.action is not Action.REPLACE or c in work.creates)]
    return report


@dataclass(frozen=True)
class _Work:
    """A plan's changes by stage, in the order they run."""

    objects_first: list[Change]  # the generic engine's kinds' creates and updates (what personas reference)
    first: list[Change]  # renames, and removing the failed successors of earlier replaces (ours, safe to go)
    creates: list[Change]
    personas: list[Change]  # persona creates and updates, after the replicas they reference
    persona_deletes: list[Change]
    deletes: list[Change]
    objects_last: list[Change]  # the generic kinds' deletes (reference order)

    @classmethod
    def of(cls, plan: Plan, successors: bool, generic: frozenset[str]) -> _Work:
        objects_first, objects_last = _split_generic(plan, generic)
        replica_changes = [c for c in plan.changes if c.kind != "personas" and c.kind not in generic]
        persona_changes = [c for c in plan.changes if c.kind == "personas" and c.action is not Action.DELETE]
        persona_deletes = [c for c in plan.changes if c.kind == "personas" and c.action is Action.DELETE]
        first = [c for c in replica_changes if c.action is Action.RENAME
                 or (c.action is Action.DELETE and c.successor_id)]  # failed successors: ours, safe to go
        creates = [c for c in replica_changes if c.action is Action.CREATE
                   or (successors and c.action is Action.REPLACE and c.phase in (None, "create"))]
        deletes = [c for c in replica_changes if c.action is Action.DELETE and c not in first]
        return cls(objects_first, first, creates, persona_changes, persona_deletes, deletes, objects_last)


class _Run:
    """One :func:`execute`: the client, the baselines the re-checks compare with, the report, the stop flag, and
    one adaptive limit for every stage of the run."""

    def __init__(self, client, known: frozenset[str], known_personas: frozenset[str], emit: Callable[[str], None],
                 stop: threading.Event, parallelism: int):
        self.client, self.known, self.known_personas, self.emit, self.stop = client, known, known_personas, emit, stop
        self.parallelism = parallelism
        self.report = ExecutionReport()
        self.limiter = AIMDLimiter(max(1, parallelism))

    def going(self) -> bool:
        return not self.report.blocking and not self.report.interrupted

    def go(self, work: _Work, listed: Sequence[Any] | None, known_objects: Mapping[str, Collection[str]]) -> None:
        report, stop, client = self.report, self.stop, self.client
        # the generic engine's kinds first (what personas reference), their deletes last (reference order)
        if self.objects_stage(work.objects_first, known_objects) and self.stage(work.first) and work.creates \
                and not stop.is_set():
            todo = _recheck(work.creates, client, self.known, self.record, listed)
            made = len(report.outcomes)
            self.stage(todo)
            _resolve_duplicates(report.outcomes[made:], client, self.known, self.record, report.created)
            report.interrupted = report.interrupted or stop.is_set()
        # personas after the replicas they reference (a default_replica created above has its id now)
        if work.personas and self.going():
            made = len(report.outcomes)
            self.stage(_recheck_personas(work.personas, client, self.known_personas, self.record))
            _resolve_persona_duplicates(report.outcomes[made:], client, self.known_personas, self.record)
        if self.going():
            self.stage(work.persona_deletes)
        if self.going():
            self.stage(work.deletes)
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
        try:
            done = self._step(change)
        except CreateOutcomeUnknownError as e:
            return Outcome(change, False, f"OUTCOME UNKNOWN: {e}", unknown=True)
        except EditorDraftError:  # a person's unpublished draft: say how to go on; the rest of the run goes on
            repoints = any(op.get("path") == "/default_replica_id" for op in change.patch) or bool(change.ref_replica)
            return Outcome(change, False, editor_draft_line(change.name), held=not repoints)
        except ReconcilerError as e:
            return Outcome(change, False, str(e))
        except Exception as e:  # noqa: BLE001 - a step must always get an outcome, so the run's account is whole
            return Outcome(change, False, f"unexpected {type(e).__name__}: {e}")
        if isinstance(done, Outcome):
            return done
        detail, new_id = done
        return Outcome(change, True, f"{detail} ({time.monotonic() - started:.1f}s)", new_id)

    def _step(self, change: Change) -> tuple[str, str | None] | Outcome:
        client = self.client
        if change.kind == "personas":
            return _run_persona(change, client, self.known_personas, self.report.created,
                                self.report.created_objects)
        if change.action is Action.RENAME:
            REPLICAS.rename(client, change.replica_id, change.name)
            return f"renamed {change.replica_id}", None
        if change.action in (Action.CREATE, Action.REPLACE):
            new_id = REPLICAS.create(client, change.desired, name=created_name(change), known_ids=self.known)
            return f"created {new_id}" + (f" as {created_name(change)}" if change.action is Action.REPLACE
                                          else ""), new_id
        if (why := changed_before_delete(client, change)) is not None:
            return Outcome(change, False, f"not deleted: {why}")
        try:
            REPLICAS.delete(client, change.replica_id)
            return f"deleted {change.replica_id}", None
        except NotFoundError:
            return f"{change.replica_id} was already gone", None

    def record(self, outcome: Outcome) -> None:
        self.report.outcomes.append(outcome)
        if outcome.ok and outcome.new_id and outcome.change.kind != "personas":
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


def _run_persona(change: Change, client, known: frozenset[str], created: Mapping[str, str],
                 objects: Mapping[tuple[str, str], str] | None = None) -> tuple[str, str | None]:
    """One persona change: create (never a duplicate: the client settles a lost answer against the account),
    update (one PATCH; 304 is success) or delete. A ``ref_replica`` is a replica this run created: its id;
    ``objects``: (kind, name) -> id of what the generic kinds' stage created (a persona's documents...)."""
    from reconciler.kinds.personas import wiring
    from reconciler.kinds.personas.kind import PERSONAS

    replica_id = None
    if change.ref_replica:
        replica_id = created.get(change.ref_replica)
        if replica_id is None:
            raise ReconcilerError(f"its default_replica {change.ref_replica} was not created; not run")
    elif change.persona is not None:
        replica_id = _planned_replica_id(change)
    ids = {(kind, name): oid or (objects or {}).get((kind, name)) for _f, kind, name, oid in change.refs}
    unmade = sorted(f"{kind} {name}" for (kind, name), oid in ids.items() if not oid)
    if unmade:
        raise ReconcilerError(f"its {', '.join(unmade)} was not created; not run")
    if change.action is Action.CREATE:
        new_id = PERSONAS.create(client, change.persona, replica_id=replica_id, known_ids=known, ids=ids)
        return f"created persona {new_id}", new_id
    if change.action is Action.UPDATE:
        ops = [wiring.bind_created(dict(op), objects or {}) for op in change.patch
               if not (change.ref_replica and op["path"] == "/default_replica_id")]
        if change.ref_replica:
            ops.append({"op": "add", "path": "/default_replica_id", "value": replica_id})
        discarded: list[str] = []
        changed = PERSONAS.update(client, change.persona_id, ops, force=change.discard_drafts, discarded=discarded)
        note = ("; discarded the unpublished changes left in the Tavus editor (discarded_maker_changes)"
                if discarded else "")
        return (f"updated persona {change.persona_id}" if changed else
                f"persona {change.persona_id} already up to date") + note, None
    if PERSONAS.delete(client, change.persona_id):
        return f"deleted persona {change.persona_id}", None
    return f"persona {change.persona_id} was already gone", None


def editor_draft_line(name: str) -> str:
    """The one line for a persona update refused because of an unpublished editor draft (409 maker_changes)."""
    return (f"{name} has unpublished changes in the Tavus editor; re-run with --discard-editor-drafts {name} to "
            "overwrite them, or publish them and update the file")


def _recheck_personas(changes: list[Change], client, known: frozenset[str], record) -> list[Change]:
    """List the personas once more right before creating: one that appeared since the plan under a name about
    to be created was made by a concurrent apply; it is adopted, never created twice (the next plan updates
    it if it differs)."""
    creates = {c.name for c in changes if c.action is Action.CREATE}
    if not creates:
        return changes
    try:
        appeared = {p.name: p for p in client.list_personas() if p.persona_id not in known and p.name in creates}
    except ReconcilerError as e:
        for c in changes:
            if c.action is Action.CREATE:
                record(Outcome(c, False, f"could not re-check the personas before creating: {e}"))
        return [c for c in changes if c.action is not Action.CREATE]
    for c in changes:
        if c.action is Action.CREATE and c.name in appeared:
            record(Outcome(c, True, f"another apply created persona {appeared[c.name].persona_id} since the plan "
                                    "was made; not creating a duplicate"))
    return [c for c in changes if not (c.action is Action.CREATE and c.name in appeared)]


def _planned_replica_id(change: Change) -> str | None:
    """The default_replica_id the plan resolved (explicit, or the declared replica's id when the plan ran)."""
    if change.persona.default_replica_id:
        return change.persona.default_replica_id
    for op in change.patch:
        if op.get("path") == "/default_replica_id":
            return op.get("value")
    after = change.after or {}
    value = after.get("default_replica_id")
    return value if isinstance(value, str) and not value.startswith("(") else None


def _recheck(creates: list[Change], client, known: frozenset[str], record,
             listed: Sequence[Any] | None = None) -> list[Change]:
    """List the account once more right before creating (or use the listing the caller just made): a replica
    under a name about to be created that was not there when the plan was made was made by a concurrent apply
    (or a quick human). It is adopted (the oldest, should there be several) instead of being created twice."""
    names = {created_name(c) for c in creates}
    try:
        appeared: dict[str, Any] = {}
        for r in client.list_replicas() if listed is None else listed:
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


@dataclass(frozen=True)
class _Survivors:
    """How one kind's duplicates are told apart and removed (the rule is the same for every kind)."""

    noun: str  # "" (replicas) or "persona " in messages
    listing: Callable[[], list]
    get: Callable[[str], Any]
    delete: Callable[[str], Any]  # our own duplicate; already gone is as good
    id_of: Callable[[Any], str]
    undo: Callable[[str, str], Change]  # (declared name, our id) -> the delete it records
    eligible: Callable[[Any], bool] = lambda obj: True


def _age_of(obj, id_of: Callable[[Any], str]) -> tuple[str, str]:
    """Who was first: created_at, then the id as a deterministic tie-break every run agrees on."""
    return (obj.created_at or "", id_of(obj))


def _age(r) -> tuple[str, str]:
    return _age_of(r, lambda x: x.replica_id)


def _keep_oldest(kind: _Survivors, ours: Mapping[str, Outcome], known: frozenset[str], record) -> dict[str, str]:
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
        first = kind.id_of(min([mine, *others], key=lambda x: _age_of(x, kind.id_of)))
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


def _resolve_duplicates(outcomes: list[Outcome], client, known: frozenset[str], record,
                        created: dict[str, str]) -> None:
    """Replicas: :func:`_keep_oldest`; the declared name then waits for the survivor."""
    def delete(rid: str) -> None:
        with contextlib.suppress(NotFoundError):
            client.delete_replica(rid)

    kind = _Survivors("", lambda: client.list_replicas(), lambda rid: client.get_replica(rid), delete,
                      lambda r: r.replica_id,
                      lambda name, rid: Change(Action.DELETE, name, "duplicate of a concurrent apply's create",
                                               replica_id=rid))
    ours = {created_name(o.change): o for o in outcomes if o.ok and o.new_id and o.detail.startswith("created")}
    created.update(_keep_oldest(kind, ours, known, record))


def _resolve_persona_duplicates(outcomes: list[Outcome], client, known: frozenset[str], record) -> None:
    """Personas: :func:`_keep_oldest` (stock personas never count)."""
    kind = _Survivors("persona ", lambda: client.list_personas(), lambda pid: client.get_persona(pid),
                      lambda pid: client.delete_persona(pid), lambda p: p.persona_id,
                      lambda name, pid: Change(Action.DELETE, name, "duplicate of a concurrent apply's create",
                                               kind="personas", persona_id=pid),
                      eligible=lambda p: p.persona_type != "system")
    ours = {o.change.name: o for o in outcomes if o.ok and o.new_id and o.change.kind == "personas"
            and o.change.action is Action.CREATE and o.detail.startswith("created persona")}
    _keep_oldest(kind, ours, known, record)


