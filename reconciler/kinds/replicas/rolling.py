"""Carrying out a rollout (``reconciler.engine.rollout`` says what; this module does it), tick by tick.

The waiter polls; after each poll it hands the rows to :meth:`Rolling.tick`, which

1. finishes what trained: the successor is *verified* (``verify: smoke``: a free ``test_mode`` conversation
   with the successor, through each user persona that references the old replica, or the successor alone when
   none does), then swapped (personas re-pointed, old replica deleted, successor renamed:
   :func:`reconciler.kinds.replicas.replaces.finish_replaces`);
2. halts on a successor that failed training (it is removed: it never served), vanished, or failed
   verification (it is kept: trained, and the next run verifies it again before any swap);
3. starts the next successors in file order while fewer than ``max_replacing`` train, never past the canary
   until every canary step is replaced, and never once halted or stopped (Ctrl-C / SIGTERM).

Starting is as careful as any create (contract 1): right before a start the account is listed once more; a
successor a concurrent run already started is adopted, and a step whose replica changed under us (the old one
gone, another of its name) is not started: the rollout halts and says so. After creating, one more listing
resolves a concurrent run's duplicate exactly as :func:`reconciler.engine.executor.execute` does.

Every old replica is deleted only after its successor trained and passed verification, and by nobody else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass

from reconciler.api.redact import escape_control, redact_text
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.rollout import Step
from reconciler.engine.status import Phase
from reconciler.engine.waiter import GONE, Tracked
from reconciler.errors import ReconcilerError
from reconciler.exitcodes import ERROR as ERROR_EXIT
from reconciler.exitcodes import FAILED as FAILED_EXIT

# a step's state; a row's phase is the state's word where the waiter has no Phase for it (waiting, halted,
# unverified: see ``Rolling._show``)
WAITING = "waiting"  # not started
TRAINING = "training"  # its successor trains
TRAINED = "trained"  # trained, not yet verified and swapped (found so on the account, or just now)
RENAMING = "renaming"  # the old one is already gone (verified by the run that deleted it): rename only
REPLACED = "replaced"
FAILED = "failed"  # the successor failed training (removed) or vanished
UNVERIFIED = "unverified"  # trained, but failed verification or the swap (kept; the next run goes on)
HALTED = "halted"  # never started: the rollout halted (or was stopped) first



@dataclass
class StepRun:
    step: Step
    change: Change
    state: str
    successor_id: str | None
    row: Tracked  # what the waiter polls and the live view shows
    detail: str = ""


class Rolling:
    """One run's share of a rollout. ``may_start`` is False for ``wait`` (it finishes what is in flight and
    never starts a successor); ``emit`` prints one line per thing done."""

    def __init__(self, plan: Plan, client, *, known_ids: Collection[str], may_start: bool = True,
                 emit: Callable[[str], None] = print, stop: threading.Event | None = None,
                 parallelism: int = 4, targets: Collection[str] = (), jitter: float = 0.0) -> None:
        if plan.rollout is None:
            raise ValueError("the plan has no replaces to roll out")
        rollout = plan.rollout
        self.settings = rollout.settings
        self.client, self.may_start, self.emit = client, may_start, emit
        self.stop = stop or threading.Event()
        self.parallelism = parallelism
        self.jitter = jitter  # seconds of random wait before each start's re-listing (start_successors)
        self.known = set(known_ids)
        self.halted: str | None = None  # why, once halted
        self.halt_code = FAILED_EXIT  # 3: a successor failed training or verification; 1: the API refused a step
        replaces = {c.name: c for c in plan.changes if c.action is Action.REPLACE}
        self.runs: list[StepRun] = []
        self.not_started = 0  # wait (may_start False): replaces left for apply, waited for as they are
        for s in rollout.steps:
            if targets and s.name not in targets:
                continue
            if not may_start and not s.started:
                self.not_started += 1
                continue
            state = {"create": WAITING, "training": TRAINING, "swap": TRAINED, "rename": RENAMING}[s.phase]
            row = Tracked(s.name, s.successor_id or s.old_id or "-")
            run = StepRun(s, replaces[s.name], state, s.successor_id, row)
            self._show(run)
            self.runs.append(run)

    # ------------------------------------------------------------------------------------------ reading

    @property
    def rows(self) -> list[Tracked]:
        return [r.row for r in self.runs]

    def count(self, *states: str) -> int:
        return sum(1 for r in self.runs if r.state in states)

    @property
    def busy(self) -> bool:
        """Work is left that this run will do: a step to finish, or one it may still start."""
        if self.count(TRAINED, RENAMING):
            return True
        return self._may_start_more() and bool(self.count(WAITING))

    def summary(self) -> str:
        """One line: how far the rollout got, and why it stopped if it did."""
        total, done = len(self.runs), self.count(REPLACED)
        head = f"{done} of {total} replaced"
        if self.halted:
            return (f"{head}, halted at {self.halted}; the rest keep their old replica. Fix the cause and run apply "
                    "again: it continues from there")
        parts = [f"{n} {what}" for what, n in (("training", self.count(TRAINING)),
                                               ("trained, to verify", self.count(TRAINED, RENAMING)),
                                               ("waiting", self.count(WAITING)))
                 if n]
        return head + (f" ({', '.join(parts)})" if parts else "")

    # ------------------------------------------------------------------------------------------ acting

    def tick(self) -> None:
        """Finish what trained, note what failed, start what may start. Reads the phases off the rows the
        waiter just polled; never raises for a failed step (it halts the rollout instead)."""
        for run in self.runs:
            if run.state == TRAINING:
                phase = run.row.phase
                if phase is Phase.READY:
                    run.state = TRAINED
                elif phase is Phase.FAILED or phase == GONE:
                    self._failed(run)
        finishing = [r for r in self.runs if r.state in (TRAINED, RENAMING)]
        for run in finishing:
            if self.stop.is_set():
                break
            self._finish(run)
        if self._may_start_more():
            self._start_next()
        if self.halted:
            for run in self.runs:
                if run.state == WAITING:
                    run.state = HALTED
                    self._show(run)

    def _may_start_more(self) -> bool:
        return self.may_start and not self.halted and not self.stop.is_set()

    def _halt(self, run: StepRun, why: str, code: int = FAILED_EXIT) -> None:
        if self.halted is None:
            self.halted, self.halt_code = f"{run.step.name}: {why}", code

    def _failed(self, run: StepRun) -> None:
        """The successor failed training (removed: it never served) or vanished: the rollout halts."""
        from reconciler.kinds.replicas.replaces import InFlight, finish_replaces

        gone = run.row.phase == GONE
        why = run.row.error_message or ("its successor was deleted by someone else" if gone else "training failed")
        if not gone:
            finish_replaces([InFlight(run.step.name, run.step.old_id, run.successor_id, "failed")],
                            {run.successor_id: Phase.FAILED}, self.client, emit=self.emit)
        run.state, run.detail = FAILED, why
        self._halt(run, f"successor {run.successor_id} {why}" if why.startswith("training failed") else
                   f"successor {run.successor_id} failed training: {why}")
        self._show(run)

    def _finish(self, run: StepRun) -> None:
        """Verify a trained successor, then swap it in (or halt, keeping the old replica serving)."""
        from reconciler.kinds.replicas.replaces import InFlight, finish_replaces

        if run.state == TRAINED and self.settings.verify == "smoke":
            problem = verify(self.client, run.step.name, run.step.old_id, run.successor_id)
            if problem:
                run.state, run.detail = UNVERIFIED, problem
                self.emit(escape_control(f"  -/+ replace {run.step.name}: FAILED verification: {problem}; "
                                         f"{run.step.old_id} keeps the name and serves"))
                self._halt(run, f"successor {run.successor_id} failed verification: {problem}")
                self._show(run)
                return
            self.emit(escape_control(f"  -/+ replace {run.step.name}: successor {run.successor_id} passed "
                                     "verification"))
        phase = "rename" if run.state == RENAMING else "swap"
        report = finish_replaces([InFlight(run.step.name, run.step.old_id or "", run.successor_id, phase)],
                                 {run.successor_id: Phase.READY}, self.client, emit=self.emit)
        if report.failed:
            run.detail = report.failed[0].detail
            self._halt(run, f"swapping in {run.successor_id} failed: {run.detail}", ERROR_EXIT)
            run.state = UNVERIFIED  # not swapped: the next run reads its phase off the account and goes on
            self._show(run)
            return
        run.state = REPLACED
        self._show(run)

    def _start_next(self) -> None:
        """Start successors in file order while slots are free, within the canary gate."""
        canary_open = any(r.step.canary and r.state != REPLACED for r in self.runs)
        slots = max(1, self.settings.max_replacing) - self.count(TRAINING, TRAINED, RENAMING)
        batch = []
        for run in self.runs:
            if slots <= 0:
                break
            if run.state != WAITING:
                continue
            if canary_open and not run.step.canary:
                break  # nothing past the canary before every canary step is replaced
            batch.append(run)
            slots -= 1
        if batch:
            self._start(batch)

    def _start(self, batch: list[StepRun]) -> None:
        from reconciler.kinds.replicas.replaces import start_successors

        report = start_successors([r.change for r in batch], self.client, known=self.known,
                                  parallelism=self.parallelism, emit=self.emit, stop=self.stop,
                                  jitter=self.jitter)
        by_name = {r.change.name: r for r in batch}
        for name, new_id in report.created.items():
            run = by_name[name]
            run.state, run.successor_id = TRAINING, new_id
            run.row.object_id, run.row.status, run.row.progress = new_id, "started", 0.0
            run.row.phase, run.row.error_message = Phase.PENDING, None
            self.known.add(new_id)
        for o in report.failed:
            run = by_name.get(o.change.name)
            if run is not None and run.state == WAITING:
                run.state, run.detail = HALTED, o.detail
                self._halt(run, f"its successor could not be started: {o.detail}", ERROR_EXIT)
                self._show(run)
        for change, why in report.skipped:
            run = by_name.get(change.name)
            if run is not None and run.state == WAITING and why != "interrupted":
                self._halt(run, why, ERROR_EXIT)

    def _show(self, run: StepRun) -> None:
        """The row the live view shows for ``run``."""
        row = run.row
        if run.state in (WAITING, HALTED):
            row.phase = run.state  # "waiting" / "halted": done for the waiter (never polled)
            why = "canary: first" if run.step.canary else f"batch {run.step.batch}"
            row.status = "halted: not started" if run.state == HALTED else f"waiting ({why})"
            row.progress = None
        elif run.state == REPLACED:
            row.phase, row.status, row.error_message, row.progress = Phase.READY, "replaced", None, 100.0
        elif run.state == UNVERIFIED:
            row.phase, row.status, row.error_message = UNVERIFIED, "trained, not swapped in", run.detail
        elif run.state == FAILED:
            row.phase, row.error_message = (GONE if row.phase == GONE else Phase.FAILED), run.detail
        elif run.state in (TRAINED, RENAMING):
            row.phase, row.status = Phase.PENDING, "trained: verify and swap next"
        else:
            row.phase = Phase.PENDING


def verify(client, name: str, old_id: str | None, successor_id: str) -> str | None:
    """``verify: smoke``: None when the API accepts the successor, else why not. One free test-mode conversation
    per user persona whose default replica is ``old_id`` (replica_id overrides the persona's default, so the
    persona is checked *with the successor*), or the successor alone when no persona references it."""
    current = None
    try:
        personas = [p for p in client.list_personas() if old_id and p.default_replica_id == old_id] \
            if hasattr(client, "list_personas") else []
        for current in personas or [None]:
            client.create_conversation(replica_id=successor_id, test_mode=True,
                                       persona_id=current.persona_id if current else None,
                                       name=f"tavus-reconciler verify {name}")
    except ReconcilerError as e:
        which = f" with persona {current.name} ({current.persona_id})" if current is not None else ""
        return redact_text(f"test conversation{which} rejected: {e}") or "rejected"
    return None
