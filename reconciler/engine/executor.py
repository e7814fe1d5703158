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
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.limiter import AIMDLimiter
from reconciler.api.redact import escape_control
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.status import Phase
from reconciler.engine.successor import parse_successor, successor_name
from reconciler.errors import CreateOutcomeUnknownError, EditorDraftError, NotFoundError, ReconcilerError
from reconciler.kinds.replicas.kind import REPLICAS


@dataclass(frozen=True)
class Outcome:
    change: Change
    ok: bool
    detail: str  # "created r1234567890", or the error
    new_id: str | None = None
    unknown: bool = False  # a create whose outcome is unknown (lost answer, account not confirmable)
    # a persona update held back by an unpublished editor draft (issue 25): drift a person made; the run goes
    # on with its other changes (it still exits 1), unless the update re-points the persona's default replica
    held: bool = False


@dataclass
class ExecutionReport:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    interrupted: bool = False
    created: dict[str, str] = field(default_factory=dict)  # declared name -> the replica this run made/adopted
    # the generic engine's kinds (reconciler.engine.objects): (kind key, declared name) -> the id made/adopted
    created_objects: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def blocking(self) -> list[Outcome]:
        """The failures that stop the later stages (every failure but a held persona update)."""
        return [o for o in self.outcomes if not o.ok and not o.held]

    @property
    def unknown(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unknown]

    @property
    def deleted(self) -> set[str]:
        """Ids of the replicas this run deleted (or found already gone)."""
        return {o.change.replica_id for o in self.outcomes if o.ok and o.change.action is Action.DELETE}

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.interrupted


def fan_out(items: Iterable[Any], fn: Callable[[Any], Any], on_result: Callable[[Any], None], *,
            parallelism: int, stop: threading.Event, limiter: AIMDLimiter | None = None) -> list[Any]:
    """The one place work runs concurrently: ``fn`` over ``items``, as many at once as the adaptive limit
    allows (``parallelism`` is its ceiling; pass ``limiter`` to keep what one stage learnt for the next),
    ``on_result`` called in this thread as each finishes. ``stop`` is checked before every dispatch: once
    set, nothing new starts and the running ones finish. Returns the items never started."""
    own = limiter is None
    pool = AIMDLimiter(max(1, parallelism)) if own else limiter
    try:
        run = pool.map(fn, items, should_stop=stop)
        try:
            for _item, result in run:
                on_result(result)
        except KeyboardInterrupt:  # no signal handler installed (library use): same as the flag
            stop.set()
            for _item, result in run.drain():
                if not isinstance(result, BaseException):
                    on_result(result)
        return run.not_started
    finally:
        if own:
            pool.close()


def execute(plan: Plan, client, *, known_ids: Collection[str], parallelism: int = 4,
            emit: Callable[[str], None] = print, stop: threading.Event | None = None,
            known_persona_ids: Collection[str] = (), successors: bool = False,
            listed: Sequence[Any] | None = None,
            known_objects: Mapping[str, Collection[str]] | None = None) -> ExecutionReport:
    """Apply ``plan.changes`` through ``client`` (a TavusClient). Never raises for a failed step: the
    report says what happened. Replaces are the rollout's (``reconciler.engine.rolling``): their successors are
    created here only with ``successors`` (by :func:`start_successors`, which passes the account it has just
    ``listed`` for the re-check before creating); the rest of a replace is :func:`finish_replaces`."""
    stop = stop or threading.Event()
    report = ExecutionReport()
    known = frozenset(known_ids)

    known_personas = frozenset(known_persona_ids)

    def run(change: Change) -> Outcome:
        started = time.monotonic()
        try:
            if change.kind == "personas":
                detail, new_id = _run_persona(change, client, known_personas, report.created,
                                              report.created_objects)
            elif change.action is Action.RENAME:
                REPLICAS.rename(client, change.replica_id, change.name)
                detail, new_id = f"renamed {change.replica_id}", None
            elif change.action in (Action.CREATE, Action.REPLACE):
                new_id = REPLICAS.create(client, change.desired, name=_created_name(change), known_ids=known)
                detail = f"created {new_id}" + (f" as {_created_name(change)}" if change.action is Action.REPLACE
                                                else "")
            else:
                new_id = None
                if (why := _changed_before_delete(client, change)) is not None:
                    return Outcome(change, False, f"not deleted: {why}")
                try:
                    REPLICAS.delete(client, change.replica_id)
                    detail = f"deleted {change.replica_id}"
                except NotFoundError:
                    detail = f"{change.replica_id} was already gone"
        except CreateOutcomeUnknownError as e:
            return Outcome(change, False, f"OUTCOME UNKNOWN: {e}", unknown=True)
        except EditorDraftError:  # a person's unpublished draft: say how to go on; the rest of the run goes on
            repoints = any(op.get("path") == "/default_replica_id" for op in change.patch) or bool(change.ref_replica)
            return Outcome(change, False, editor_draft_line(change.name), held=not repoints)
        except ReconcilerError as e:
            return Outcome(change, False, str(e))
        except Exception as e:  # noqa: BLE001 - a step must always get an outcome, so the run's account is whole
            return Outcome(change, False, f"unexpected {type(e).__name__}: {e}")
        return Outcome(change, True, f"{detail} ({time.monotonic() - started:.1f}s)", new_id)

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        if outcome.ok and outcome.new_id and outcome.change.kind != "personas":
            report.created[outcome.change.name] = outcome.new_id
        c = outcome.change
        status = "ok" if outcome.ok else "HELD" if outcome.held else "FAILED"
        emit(escape_control(f"  {c.action.symbol} {c.action.value} {c.name}: {status}: {outcome.detail}"))

    limiter = AIMDLimiter(max(1, parallelism))  # one adaptive limit for every stage of this run

    def stage(changes: list[Change]) -> bool:
        for c in fan_out(changes, run, record, parallelism=parallelism, stop=stop, limiter=limiter):
            report.skipped.append((c, "interrupted"))
        report.interrupted = report.interrupted or stop.is_set()
        return not report.blocking and not report.interrupted

    generic = _generic_keys()
    objects_first, objects_last = _split_generic(plan, generic)
    replica_changes = [c for c in plan.changes if c.kind != "personas" and c.kind not in generic]
    persona_changes = [c for c in plan.changes if c.kind == "personas" and c.action is not Action.DELETE]
    persona_deletes = [c for c in plan.changes if c.kind == "personas" and c.action is Action.DELETE]
    first = [c for c in replica_changes if c.action is Action.RENAME
             or (c.action is Action.DELETE and c.successor_id)]  # failed successors: ours, safe to go
    creates = [c for c in replica_changes if c.action is Action.CREATE
               or (successors and c.action is Action.REPLACE and c.phase in (None, "create"))]
    deletes = [c for c in replica_changes if c.action is Action.DELETE and c not in first]

    def objects_stage(changes: list[Change]) -> bool:
        return _objects_stage(changes, client, known_objects or {}, record, report, stop)

    with limiter:
        # the generic engine's kinds first (what personas reference), their deletes last (reference order)
        if objects_stage(objects_first) and stage(first) and creates and not stop.is_set():
            todo = _recheck(creates, client, known, record, listed)
            made = len(report.outcomes)
            stage(todo)
            _resolve_duplicates(report.outcomes[made:], client, known, record, report.created)
            report.interrupted = report.interrupted or stop.is_set()
        # personas after the replicas they reference (a default_replica created above has its id now)
        if persona_changes and not report.blocking and not report.interrupted:
            made = len(report.outcomes)
            stage(_recheck_personas(persona_changes, client, known_personas, record))
            _resolve_persona_duplicates(report.outcomes[made:], client, known_personas, record)
        if not report.blocking and not report.interrupted:
            stage(persona_deletes)
        if not report.blocking and not report.interrupted:
            stage(deletes)
        objects_stage(objects_last)
    if report.blocking or report.interrupted:
        why = "interrupted" if report.interrupted else "not run: an earlier step failed"
        seen = {id(o.change) for o in report.outcomes} | {id(c) for c, _ in report.skipped}
        report.skipped += [(c, why) for c in plan.changes
                           if id(c) not in seen and (c.action is not Action.REPLACE or c in creates)]
    return report


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
        if c.replica_id not in names and _created_name(c) not in present and len(holders) == 1:
            # a concurrent run of this rollout finished it already (its successor holds the name): adopted, and
            # the rollout goes on with it (verified and checked again before it counts as replaced)
            report.outcomes.append(Outcome(c, True, f"another run already replaced it: {holders[0].replica_id} "
                                                    f"holds the name {c.name!r}", holders[0].replica_id))
            report.created[c.name] = holders[0].replica_id
            continue
        if _created_name(c) not in present and names.get(c.replica_id) != c.name:  # (a successor is adopted)
            why = "is gone" if c.replica_id not in names else f"is now named {names[c.replica_id]!r}"
            report.outcomes.append(Outcome(c, False, f"{c.replica_id} {why} since the plan was made: not started; "
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


def _created_name(change: Change) -> str:
    """The name a create POSTs: the declared name, or a replace's marked successor name."""
    if change.action is Action.REPLACE:
        return successor_name(change.name, change.replica_id)
    return change.name


def _recheck(creates: list[Change], client, known: frozenset[str], record,
             listed: Sequence[Any] | None = None) -> list[Change]:
    """List the account once more right before creating (or use the listing the caller just made): a replica
    under a name about to be created that was not there when the plan was made was made by a concurrent apply
    (or a quick human). It is adopted (the oldest, should there be several) instead of being created twice."""
    names = {_created_name(c) for c in creates}
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
        if (r := appeared.get(_created_name(c))) is not None:
            record(Outcome(c, True, f"another apply created {r.replica_id} since the plan was made; not creating "
                                    "a duplicate", r.replica_id))
    return [c for c in creates if _created_name(c) not in appeared]


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
    ours = {_created_name(o.change): o for o in outcomes if o.ok and o.new_id and o.detail.startswith("created")}
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


# --------------------------------------------------------------------------------------------- replaces


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


def _changed_before_delete(client, change: Change) -> str | None:
    """Right before a planned delete (a pruned replica, a failed successor): the replica is re-read; renamed since
    the plan was made (out of scope, or by a person keeping it), or a failed successor a person has pointed a
    persona at, it is not deleted (issue 24 #3). None: still what the plan saw (or already gone)."""
    parsed = parse_successor(change.name) if change.successor_id else None
    if parsed:
        item = InFlight(parsed[0], parsed[1], change.replica_id, "failed")
        return _changed_successor(client, item, change.name)
    now = _name_now(client, change.replica_id)
    if now is not None and now != change.name:
        return f"{change.replica_id} is now named {now!r}, not {change.name!r} as when the plan was made"
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
            items.append(InFlight(c.name, c.replica_id, c.successor_id, c.phase or "training"))
        elif c.action is Action.REPLACE and c.name in created:
            items.append(InFlight(c.name, c.replica_id, created[c.name], "create"))
        elif c.action is Action.DELETE and c.successor_id and (parsed := parse_successor(c.name)):
            items.append(InFlight(parsed[0], parsed[1], c.replica_id, "failed"))
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
        change = Change(Action.REPLACE, item.name, "blue/green replace", replica_id=item.old_id,
                        successor_id=item.successor_id)
        phase = phases.get(item.successor_id)
        marked = successor_name(item.name, item.old_id)
        try:
            if phase is Phase.FAILED or item.phase == "failed":
                kept = _changed_successor(client, item, marked)
                if kept:
                    return [Outcome(change, False, f"successor {item.successor_id} failed training, but {kept}: "
                                                   f"kept it; {item.old_id} keeps the name and serves")]
                with contextlib.suppress(NotFoundError):
                    client.delete_replica(item.successor_id)
                return [Outcome(change, False, f"successor {item.successor_id} failed training: removed it; "
                                               f"{item.old_id} keeps the name and serves")]
            if phase is not Phase.READY:
                return []
            done = []
            if item.phase != "rename":
                # identity and scope are re-read right before each destructive step (issue 24 #3): a person may
                # have renamed either replica (out of scope, or to keep it) while the successor trained
                for check in (lambda: _changed_old(client, item), lambda: _changed_successor(client, item, marked)):
                    if (why := check()) is not None:
                        return [_kept(change, why)]
                done += _repoint_personas(client, item.old_id, item.successor_id)
                if (why := _changed_old(client, item)) is not None:
                    return [_kept(change, why, done)]
                try:
                    client.delete_replica(item.old_id)
                    done.append(f"deleted {item.old_id}")
                except NotFoundError:
                    done.append(f"{item.old_id} was already gone")
            if (why := _changed_successor(client, item, marked) or _name_taken(client, item)) is not None:
                return [_kept(change, why, done)]
            client.rename_replica(item.successor_id, item.name)
            done.append(f"renamed {item.successor_id} to {item.name}")
            return [Outcome(change, True, "; ".join(done), item.successor_id)]
        except ReconcilerError as e:
            return [Outcome(change, False, f"{e}; run apply again to finish the replace")]

    def record(outcomes: list[Outcome]) -> None:
        for o in outcomes:
            report.outcomes.append(o)
            status = "ok" if o.ok else "FAILED"
            emit(escape_control(f"  -/+ replace {o.change.name}: {status}: {o.detail}"))

    todo = [i for i in items if phases.get(i.successor_id) in (Phase.READY, Phase.FAILED) or i.phase == "failed"]
    for item in fan_out(todo, run, record, parallelism=parallelism, stop=stop):
        report.skipped.append((Change(Action.REPLACE, item.name, "", replica_id=item.old_id), "interrupted"))
    report.interrupted = stop.is_set()
    return report
