"""Waiting until the objects of an asynchronous kind are ready (training takes hours, on the real API).

Polls the kind's listing filtered to the objects still pending (``kind.list(client, ids=...)``), so a poll
costs pages of pending objects, never one request per object. An object missing from a poll is confirmed
with one GET before it is reported gone (lists may lag behind creates). Transient API failures are reported and polling
goes on until the timeout: a flaky minute must not end a six-hour wait. Clock and sleep are injectable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.engine.kind import WithRowState, has
from reconciler.engine.status import Phase
from reconciler.errors import ApiError, AuthError, NotFoundError
from reconciler.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT

GONE = "gone"


@dataclass
class Tracked:
    name: str
    object_id: str
    status: str = "unknown"
    phase: Phase | str = Phase.PENDING  # Phase, or GONE when deleted by someone else
    progress: float | None = None
    error_message: str | None = None
    polled_by_driver: bool = False  # a row its driver polls (another kind: reconciler.engine.readiness)

    @property
    def done(self) -> bool:
        return not (isinstance(self.phase, Phase) and self.phase.training)  # a preview is not done (issue 25)


def take(kind: Any, row: Tracked, r: Any) -> None:
    """``row`` takes the state ``r`` (its object, as the API just reported it): through the kind's own
    :class:`~reconciler.engine.kind.WithRowState` when it has one, else from its phase, ``status``,
    ``progress_percent`` and, when it failed, ``failure`` (or the kind's ``not_ready`` line)."""
    if has(kind, WithRowState):
        kind.take(row, r)
        return
    phase = kind.phase(r)
    row.status, row.phase = str(getattr(r, "status", phase.value)), phase
    row.progress = 100.0 if phase is Phase.READY else getattr(r, "progress_percent", None)
    row.error_message = None
    if phase is Phase.FAILED:
        row.error_message = getattr(r, "failure", None) or kind.not_ready(r)


@dataclass
class WaitResult:
    tracked: list[Tracked]
    timed_out: bool = False
    elapsed: float = 0.0
    interrupted: bool = False

    def having(self, *phases: Phase | str) -> list[Tracked]:
        return [t for t in self.tracked if t.phase in phases]

    @property
    def exit_code(self) -> int:
        if self.having(Phase.FAILED, GONE):
            return EXIT_FAILED
        return EXIT_TIMEOUT if self.having(Phase.PENDING, Phase.PREVIEW) else EXIT_OK


class Driver(Protocol):
    """Acts between polls (a rollout: ``reconciler.kinds.replicas.rolling.Rolling``): its rows are tracked with
    the others."""

    rows: list[Tracked]
    busy: bool

    def tick(self) -> None: ...


class Reporter(Protocol):
    def update(self, tracked: list[Tracked], elapsed: float, changed: list[tuple[Tracked, str]]) -> None: ...
    def warning(self, message: str) -> None: ...


@dataclass
class Waiter:
    client: object  # the one API client (reconciler.api.client)
    reporter: Reporter
    kind: Any  # the targets' kind: WithReadiness, listing by ids (``list(client, ids=...)``) and ``get``
    poll_interval: float = 30.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    tracked: dict[str, Tracked] = field(default_factory=dict)
    stop: object = None  # a threading.Event: once set, no further poll starts (Ctrl-C / SIGTERM)

    def wait(self, targets: Mapping[str, str], *, timeout: float,
             known: Mapping[str, Any] | None = None, driver: Driver | None = None) -> WaitResult:
        """Wait for ``targets`` (object id -> declared name). ``known`` seeds states already fetched.
        ``driver`` (a rollout, ``reconciler.kinds.replicas.rolling``) adds its own rows and acts after every poll;
        the wait goes on while it is busy (it may start the next successors)."""
        started = self.clock()
        deadline = started + timeout
        self.tracked = {rid: Tracked(name, rid) for rid, name in targets.items()}
        for row in driver.rows if driver is not None else ():
            self.tracked[f"rollout:{row.name}"] = row
        seeded = set()
        for t in self.tracked.values():
            if t.done or (known or {}).get(t.object_id) is None:
                continue
            take(self.kind, t, known[t.object_id])
            seeded.add(t.object_id)
        timed_out = False
        # just listed: the first poll would learn nothing
        fresh = bool(known) and all(t.object_id in seeded for t in self.tracked.values()
                                    if not t.done and not t.polled_by_driver)
        stopped = self.stop.is_set if self.stop is not None else (lambda: False)
        while True:
            if stopped():
                return WaitResult(list(self.tracked.values()), False, self.clock() - started, interrupted=True)
            pending = [t for t in self.tracked.values() if not t.done and not t.polled_by_driver]
            changed = self._poll(pending) if pending and not fresh else []
            fresh = False
            if driver is not None:
                driver.tick()
            self.reporter.update(list(self.tracked.values()), self.clock() - started, changed)
            if all(t.done for t in self.tracked.values()) and not (driver is not None and driver.busy):
                break
            remaining = deadline - self.clock()
            if remaining <= 0:
                timed_out = True
                break
            self.sleep(min(self.poll_interval, remaining))
        return WaitResult(list(self.tracked.values()), timed_out, self.clock() - started)

    def _poll(self, pending: list[Tracked]) -> list[tuple[Tracked, str]]:
        """One poll; returns (tracked, previous status) for every object whose status changed."""
        k = self.kind
        try:
            seen = {k.remote_id(r): r for r in k.list(self.client, ids=[t.object_id for t in pending])}
        except AuthError:
            raise
        except ApiError as e:
            self.reporter.warning(f"poll failed, will retry at the next interval: {e}")
            return []
        changed = []
        for t in pending:
            before = t.status
            r = seen.get(t.object_id) or self._confirm(t)
            if r is None:
                t.phase, t.status = GONE, GONE
                t.error_message = "deleted by someone else while waiting"
            elif r is not False:
                take(k, t, r)
            if t.status != before:
                changed.append((t, before))
        return changed

    def _confirm(self, t: Tracked) -> Any:
        """An object missing from a list: GET it. None = really gone, False = unknown this time."""
        try:
            return self.kind.get(self.client, t.object_id)
        except NotFoundError:
            return None
        except AuthError:
            raise
        except ApiError as e:
            self.reporter.warning(f"could not check {t.name} ({t.object_id}): {e}")
            return False
