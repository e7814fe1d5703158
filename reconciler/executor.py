"""Carrying out a plan, in an order that never leaves the account worse than before.

1. renames (in place, nothing lost);
2. creates, including the successors of replaces, with adaptive parallelism (``--parallelism`` is the
   ceiling; see reconciler/limiter.py);
3. deletes (pruned replicas and the old halves of replaces), only once every earlier step succeeded,
   and for a replace only once its successor exists.

Every outcome is recorded as it happens, so a failure or a Ctrl-C can say exactly what was and was not done.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from reconciler.errors import NotFoundError, ReconcilerError
from reconciler.limiter import AIMDLimiter
from reconciler.models import Action, Change, Plan
from reconciler.redact import escape_control


@dataclass(frozen=True)
class Outcome:
    change: Change
    ok: bool
    detail: str  # "created r1234567890", or the error
    new_id: str | None = None


@dataclass
class ExecutionReport:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def created(self) -> dict[str, str]:
        """Declared name -> id of the replica this run created."""
        return {o.change.name: o.new_id for o in self.outcomes if o.ok and o.new_id}

    @property
    def deleted(self) -> set[str]:
        """Ids of the replicas this run deleted (or found already gone)."""
        return {o.change.replica_id for o in self.outcomes if o.ok and o.change.action is Action.DELETE}

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.interrupted


def execute(plan: Plan, client, *, known_ids: Collection[str], parallelism: int = 4,
            emit: Callable[[str], None] = print) -> ExecutionReport:
    """Apply ``plan.changes`` through ``client`` (a TavusClient). Never raises for a failed step: the
    report says what happened. KeyboardInterrupt stops new steps, lets running ones finish, and returns a
    report with ``interrupted`` set."""
    report = ExecutionReport()
    known = frozenset(known_ids)

    def run(change: Change) -> Outcome:
        started = time.monotonic()
        try:
            if change.action is Action.RENAME:
                client.rename_replica(change.replica_id, change.name)
                detail, new_id = f"renamed {change.replica_id}", None
            elif change.action in (Action.CREATE, Action.REPLACE):
                new_id = client.create_replica(change.desired.create_payload(), known_ids=known)
                detail = f"created {new_id}"
            else:
                new_id = None
                try:
                    client.delete_replica(change.replica_id)
                    detail = f"deleted {change.replica_id}"
                except NotFoundError:
                    detail = f"{change.replica_id} was already gone"
        except ReconcilerError as e:
            return Outcome(change, False, str(e))
        except Exception as e:  # noqa: BLE001 - a step must always get an outcome, so the run's account is whole
            return Outcome(change, False, f"unexpected {type(e).__name__}: {e}")
        return Outcome(change, True, f"{detail} ({time.monotonic() - started:.1f}s)", new_id)

    def record(outcome: Outcome) -> None:
        report.outcomes.append(outcome)
        c = outcome.change
        status = "ok" if outcome.ok else "FAILED"
        emit(escape_control(f"  {c.action.symbol} {c.action.value} {c.name}: {status}: {outcome.detail}"))

    renames = [c for c in plan.changes if c.action is Action.RENAME]
    creates = [c for c in plan.changes if c.action in (Action.CREATE, Action.REPLACE)]
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    replaced = [c for c in plan.changes if c.action is Action.REPLACE]

    with AIMDLimiter(max(1, parallelism)) as pool:
        if _run_stage(pool, renames, run, record, report) and creates:
            _run_stage(pool, _recheck(creates, client, known, record), run, record, report)
        if report.interrupted or report.failed:
            why = "interrupted" if report.interrupted else "not run: an earlier step failed"
            seen = {id(o.change) for o in report.outcomes} | {id(c) for c, _ in report.skipped}
            created = report.created
            for c in plan.changes:
                if c.action is Action.REPLACE and c.name in created:
                    old = Change(Action.DELETE, c.name, "old half of a replace", replica_id=c.replica_id)
                    report.skipped.append((old, f"old replica {c.replica_id} kept, {why}"))
                elif id(c) not in seen:
                    report.skipped.append((c, why))
        else:
            old_halves = [Change(Action.DELETE, c.name, "old half of a replace", replica_id=c.replica_id)
                          for c in replaced]
            _run_stage(pool, [*old_halves, *deletes], run, record, report)
    return report


def _recheck(creates: list[Change], client, known: frozenset[str], record) -> list[Change]:
    """List the account once more right before creating: a replica with a name about to be created that was
    not there when the plan was made means another apply is running (or a human was quick). Creating it again
    would make a duplicate, so those creates fail instead and the run stops before any delete."""
    names = {c.name for c in creates}
    try:
        appeared = {r.name: r.replica_id for r in client.list_replicas()
                    if r.replica_id not in known and r.name in names}
    except ReconcilerError as e:
        for c in creates:
            record(Outcome(c, False, f"could not re-check the account before creating: {e}"))
        return []
    for c in creates:
        if c.name in appeared:
            record(Outcome(c, False, f"{appeared[c.name]} named {c.name!r} appeared after the plan was made "
                                     "(another apply running?); not creating a duplicate: run plan again"))
    return [c for c in creates if c.name not in appeared]


def _run_stage(pool: AIMDLimiter, changes: list[Change], run, record, report: ExecutionReport) -> bool:
    """Run ``changes`` as many at once as the adaptive limit allows, recording outcomes as they finish. On
    Ctrl-C, start nothing more and wait for what has started (its outcome must be known). False if anything
    failed or was interrupted."""
    started = pool.map(run, changes)
    try:
        for _change, outcome in started:
            record(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
        for _change, outcome in started.drain():
            if isinstance(outcome, Outcome):
                record(outcome)
        report.skipped.extend((c, "interrupted") for c in started.not_started)
        return False
    return not report.failed
