"""Ctrl-C and SIGTERM (what a CI runner sends a cancelled job): stop starting work, let in-flight requests
finish, say what was done, exit 130 / 143.

While changes are being made or waited for, both signals only set a flag: the executor checks it before each
request it dispatches and the waiter before each poll, so no new request starts after the signal and no
request is cut off half-way (its outcome must be known). Elsewhere SIGTERM is turned into an interrupt like
Ctrl-C, so the process never dies silently with -15.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM outside a stoppable section: unwinds like Ctrl-C, exits 143."""


def raise_terminated(signum, frame) -> None:
    raise Terminated()


class Stop:
    """Set by the first SIGINT/SIGTERM (or by code); ``event`` is what workers check."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def __call__(self, signum: int, frame: object = None) -> None:
        if self.signum is None:
            self.signum = signum
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    @property
    def exit_code(self) -> int:
        from reconciler.exitcodes import INTERRUPTED, TERMINATED

        return TERMINATED if self.signum == signal.SIGTERM else INTERRUPTED

    @property
    def what(self) -> str:
        return "SIGTERM" if self.signum == signal.SIGTERM else "Ctrl-C"


@contextlib.contextmanager
def stopping_on_signals(stop: Stop) -> Iterator[Stop]:
    """Within the block, SIGINT and SIGTERM set ``stop`` instead of raising (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
