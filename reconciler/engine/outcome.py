"""What carrying out a change gave (:class:`Outcome`), a run's whole account (:class:`ExecutionReport`), and the
one place work runs concurrently (:func:`fan_out`): shared by the executor and the blue/green replaces."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.limiter import AIMDLimiter
from reconciler.engine.models import Action, Change


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
        """Ids of the objects this run deleted (or found already gone)."""
        return {o.change.object_id for o in self.outcomes if o.ok and o.change.action is Action.DELETE}

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
