"""Showing a wait: a live table on a terminal, plain lines in CI logs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

from reconciler.redact import escape_control
from reconciler.status import Phase
from reconciler.waiter import GONE, Tracked


def duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _phase_word(t: Tracked) -> str:
    return t.phase.value if isinstance(t.phase, Phase) else t.phase


def summary(tracked: list[Tracked]) -> str:
    counts = {"ready": 0, "pending": 0, "failed": 0, "gone": 0}
    for t in tracked:
        counts[_phase_word(t)] += 1
    progress = [t.progress for t in tracked if t.phase is Phase.PENDING and t.progress is not None]
    avg = f" (avg {sum(progress) / len(progress):.0f}%)" if progress else ""
    parts = [f"{counts['ready']} ready", f"{counts['pending']} training{avg}", f"{counts['failed']} failed"]
    if counts["gone"]:
        parts.append(f"{counts['gone']} deleted")
    return ", ".join(parts)


def _line(t: Tracked) -> str:
    pct = f" {t.progress:.0f}%" if t.progress is not None and t.phase is Phase.PENDING else ""
    err = f": {t.error_message}" if t.error_message and t.phase is not Phase.READY else ""
    return escape_control(f"{t.name} ({t.replica_id}): {t.status}{pct}{err}")


class LineReporter:
    """For logs (no TTY): one line per status change, a heartbeat at most every ``heartbeat`` seconds."""

    def __init__(self, out: TextIO, *, heartbeat: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.out, self.heartbeat, self.clock = out, heartbeat, clock
        self._last_beat: float | None = None

    def update(self, tracked: list[Tracked], elapsed: float, changed: list[tuple[Tracked, str]]) -> None:
        for t, _before in changed:
            self.out.write(f"[{duration(elapsed)}] {_line(t)}\n")
        now = self.clock()
        if self._last_beat is None or changed or now - self._last_beat >= self.heartbeat:
            if self._last_beat is not None and not changed:
                self.out.write(f"[{duration(elapsed)}] waiting: {summary(tracked)}\n")
            self._last_beat = now
        self.out.flush()

    def warning(self, message: str) -> None:
        self.out.write(f"warning: {escape_control(message)}\n")
        self.out.flush()


class TtyReporter:
    """For a terminal: a per-replica table with progress bars, redrawn in place after each poll, and an
    elapsed-time footer that ticks every second between polls. Failed and training replicas are listed first;
    a table taller than the terminal is cut, with a count of the rows left out."""

    def __init__(self, out: TextIO, *, rows: int | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.out, self.clock, self._sleep = out, clock, sleep
        self.rows = rows if rows is not None else max(5, shutil.get_terminal_size().lines - 4)
        self._drawn = 0
        self._tracked: list[Tracked] = []
        self._elapsed, self._at = 0.0, clock()

    def update(self, tracked: list[Tracked], elapsed: float, changed: list[tuple[Tracked, str]]) -> None:
        self._tracked, self._elapsed, self._at = tracked, elapsed, self.clock()
        order = {Phase.FAILED: 0, GONE: 0, Phase.PENDING: 1, Phase.READY: 2}
        ordered = sorted(tracked, key=lambda t: order.get(t.phase, 1))
        hidden = max(0, len(ordered) - self.rows)
        shown, rest = ordered[:len(ordered) - hidden], ordered[len(ordered) - hidden:]
        names = [escape_control(t.name) for t in shown]
        width = max(map(len, names), default=4)
        lines = []
        for t, name in zip(shown, names, strict=True):
            pct = 100.0 if t.phase is Phase.READY else t.progress or 0.0
            bar = "#" * int(pct / 5) + "." * (20 - int(pct / 5))
            err = f"  {t.error_message}" if t.error_message and t.phase is not Phase.READY else ""
            lines.append(f"  {name:<{width}}  {t.replica_id:<12} [{bar}] {pct:5.1f}%  "
                         + escape_control(f"{t.status}{err}"))
        if hidden:
            ready = all(t.phase is Phase.READY for t in rest)
            lines.append(f"  ... and {hidden} more{' (ready)' if ready else ''}")
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.out.write(up + "".join(f"\x1b[2K{line}\n" for line in lines) + f"\x1b[2K{self._footer()}\n")
        self.out.flush()
        self._drawn = len(lines) + 1

    def _footer(self) -> str:
        elapsed = self._elapsed + self.clock() - self._at
        return f"  elapsed {duration(elapsed)}: {summary(self._tracked)}"

    def sleep(self, seconds: float) -> None:
        """Sleep until the next poll, ticking the elapsed time once a second."""
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            if self._sleep(min(1.0, left)):  # an Event.wait that saw its event set: stop sleeping
                return
            if self._drawn:
                self.out.write(f"\x1b[1F\x1b[2K{self._footer()}\n")
                self.out.flush()

    def warning(self, message: str) -> None:
        self.out.write(f"\x1b[2Kwarning: {escape_control(message)}\n")
        self._drawn = 0  # the warning scrolled the table: draw it anew below
        self.out.flush()
