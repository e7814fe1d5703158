"""What a user reads about a rollout (issue 19): each step's state, the plan document's ``rollout`` and the
progress ``status`` shows. Pure: no I/O; the state of every step comes from the planner's phase, which it read
from the account (``reconciler.engine.successor``), so ``plan`` and ``status`` say the same thing as any re-run sees.

States, in the order a step goes through them:

=============  ===========  ====================================================================
phase          state        meaning
=============  ===========  ====================================================================
``create``     not_started  the successor is not created yet (waiting for a slot, or the canary)
``training``   training     the successor trains; the old replica serves
``swap``       trained      the successor trained: verify, then delete the old one and rename
``rename``     trained      the old replica is gone: the successor takes the declared name next
=============  ===========  ====================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.engine.rollout import Rollout, Step

NOT_STARTED, TRAINING, TRAINED = "not_started", "training", "trained"
_STATE = {"create": NOT_STARTED, "training": TRAINING, "swap": TRAINED, "rename": TRAINED}


def state(step: Step) -> str:
    """``not_started`` | ``training`` | ``trained`` (an unknown phase is treated as in flight: training)."""
    return _STATE.get(step.phase, TRAINING)


def label(step: Step, verify: str) -> str:
    """The state in words, with what comes next."""
    if step.phase == "rename":
        return "old replica deleted: rename next"
    s = state(step)
    if s == TRAINED:
        return "trained: verify and swap next" if verify != "none" else "trained: swap next"
    return "not started" if s == NOT_STARTED else "training"


def document(rollout: Rollout) -> dict:
    """The ``rollout`` of the plan document (schemas/plan.schema.json): settings, then the steps in the order
    they run. Names are redacted by the caller (render)."""
    s = rollout.settings
    return {
        "max_replacing": s.max_replacing,
        "canary": s.canary,
        "verify": s.verify,
        "batches": len(rollout.batches),
        "steps": [{"name": st.name, "replica_id": st.old_id, "successor_id": st.successor_id, "canary": st.canary,
                   "batch": st.batch, "phase": st.phase, "state": state(st)} for st in rollout.steps],
    }


@dataclass(frozen=True)
class Progress:
    """How far a rollout is, as ``status`` shows it."""

    training: int
    trained: int
    waiting: int
    next: str | None  # the first step not started, in order
    halted: bool  # replaces are waiting while none trains: halted (a failure) or not started: run apply
    failed: tuple[str, ...] = ()  # declared names whose successor failed training (the plan removes it)

    @property
    def summary(self) -> str:
        line = f"rollout: {self.training} training, {self.trained} trained, {self.waiting} waiting"
        if self.failed:
            line += f", {len(self.failed)} failed ({', '.join(self.failed)})"
        if self.next is not None:
            line += f"; next: {self.next}"
        if self.halted:
            line += " (halted or not started: run apply)"
        elif self.trained and not self.training:
            line += " (run apply or wait to verify and swap)"
        return line


def progress(rollout: Rollout, failed: Sequence[str] = ()) -> Progress:
    """``failed``: declared names whose successor failed training (a halted rollout's cause)."""
    states = [state(s) for s in rollout.steps]
    waiting = [s for s in rollout.steps if state(s) == NOT_STARTED]
    training = states.count(TRAINING)
    return Progress(training=training, trained=states.count(TRAINED), waiting=len(waiting),
                    next=waiting[0].name if waiting else None, halted=bool(waiting) and not training,
                    failed=tuple(failed))


def failed_successors(changes: Sequence) -> list[str]:
    """The declared names whose successor failed training: the plan deletes that successor (and replaces again)."""
    from reconciler.engine.successor import parse_successor

    out = []
    for c in changes:
        parsed = parse_successor(c.name) if c.action.value == "delete" and c.successor_id else None
        if parsed:
            out.append(parsed[0])
    return out


def status_field(step: Step, position: int) -> dict:
    """The ``rollout`` field of a status row (schemas/status.schema.json); ``position`` is 1-based."""
    return {"state": {NOT_STARTED: "waiting"}.get(state(step), state(step)), "canary": step.canary,
            "batch": step.batch, "position": position}


def status_fields(rollout: Rollout | None) -> dict[str, dict]:
    """replica_id (old replica and successor) -> the ``rollout`` field of its status row."""
    out: dict[str, dict] = {}
    for i, st in enumerate(rollout.steps if rollout else (), 1):
        for rid in (st.old_id, st.successor_id):
            if rid:
                out[rid] = status_field(st, i)
    return out
