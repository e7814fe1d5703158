"""Rolling replacements (issue 19): in which order, how many at once, and what gates the rest. Pure: no I/O.

A fleet migrating to a new model plans one blue/green replace per replica (``reconciler.engine.successor``). They do
not all start at once: they start in **file order**, at most ``max_replacing`` successors training at a
time; the first ``canary`` of them must train *and pass verification* (``verify: smoke``: a free test-mode
conversation with the successor, through each persona that references the old replica) before any other
starts. A successor that fails training or verification halts the rollout: nothing new starts, what is in
flight finishes, every old replica not yet swapped keeps serving.

Everything is read back from the account (``reconciler.engine.successor``), so a re-run continues a rollout:
successors in flight keep their slot, and the first ``canary`` replaces *left* (in file order) are the
re-run's canary. A rollout interrupted after its canary was swapped therefore canaries once more: slower, never
less safe, and it needs no state outside the account.

``schedule`` is what ``plan`` shows (the order, the canary, the nominal batches); the engine that carries it
out is ``reconciler.kinds.replicas.rolling``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MAX_REPLACING = 2  # small on purpose: a bad training input is found on one or two, not on the fleet
DEFAULT_CANARY = 1
VERIFY_CHOICES = ("smoke", "none")
DEFAULT_VERIFY = "smoke"  # free (test_mode), and it proves the successor is usable before the old one goes


@dataclass(frozen=True)
class RolloutSettings:
    """``settings.rollout`` (``--max-replacing`` / ``--canary`` override it for one run)."""

    max_replacing: int = DEFAULT_MAX_REPLACING  # successors training at once, >= 1
    canary: int = DEFAULT_CANARY  # replaced (trained + verified + swapped) before any other starts, >= 0
    verify: str = DEFAULT_VERIFY  # "smoke" | "none"

    def with_overrides(self, *, max_replacing: int | None = None, canary: int | None = None) -> RolloutSettings:
        return RolloutSettings(self.max_replacing if max_replacing is None else max_replacing,
                               self.canary if canary is None else canary, self.verify)


@dataclass(frozen=True)
class Step:
    """One replace of the rollout, in the order it runs."""

    name: str  # the declared name
    old_id: str | None  # the replica it replaces (None once the old one is gone: phase "rename")
    phase: str  # the planner's phase: create (not started), training, swap, rename
    successor_id: str | None
    canary: bool
    batch: int  # 1-based nominal batch: the canary is batch 1, then groups of max_replacing

    @property
    def started(self) -> bool:
        return self.phase != "create"


@dataclass(frozen=True)
class Rollout:
    settings: RolloutSettings
    steps: tuple[Step, ...] = ()

    @property
    def batches(self) -> list[list[Step]]:
        out: list[list[Step]] = []
        for s in self.steps:
            if not out or out[-1][0].batch != s.batch:
                out.append([])
            out[-1].append(s)
        return out


def schedule(replaces: Sequence, settings: RolloutSettings) -> Rollout:
    """The rollout of ``replaces`` (the plan's REPLACE changes, in file order). Replaces already in flight keep
    their place in the order; the first ``canary`` of all of them form batch 1, the rest follow in batches of
    ``max_replacing`` (nominal: a successor starts as soon as a slot frees, within its order)."""
    steps = []
    canary = max(0, settings.canary)
    size = max(1, settings.max_replacing)
    for i, c in enumerate(replaces):
        is_canary = i < canary
        batch = 1 if is_canary else (1 if canary else 0) + 1 + (i - canary) // size
        steps.append(Step(c.name, c.object_id, c.phase or "create", c.successor_id, is_canary, batch))
    return Rollout(settings, tuple(steps))
