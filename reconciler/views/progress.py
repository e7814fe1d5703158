"""Showing a wait: a live table on a terminal, plain lines in CI logs."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from typing import TextIO

from reconciler.api.redact import escape_control
from reconciler.engine.status import Phase
from reconciler.engine.waiter import GONE, Tracked


def duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _phase_word(t: Tracked) -> str:
    return t.phase.value if isinstance(t.phase, Phase) else t.phase


def summary(tracked: list[Tracked]) -> str:
    counts = {"ready": 0, "pending": 0, "preview": 0, "failed": 0, "gone": 0}
    for t in tracked:
        word = _phase_word(t)
        counts[word] = counts.get(word, 0) + 1
    progress = [t.progress for t in tracked if t.phase is Phase.PENDING and t.progress is not None]
    avg = f" (avg {sum(progress) / len(progress):.0f}%)" if progress else ""
    parts = [f"{counts['ready']} ready", f"{counts['pending']} training{avg}", f"{counts['failed']} failed"]
    if counts["preview"]:  # issue 25: a watermarked preview, fine-tune running (not ready)
        parts.insert(2, f"{counts['preview']} preview")
    if counts["gone"]:
        parts.append(f"{counts['gone']} deleted")
    # a rollout's rows (kinds/replicas/rolling.py): replaces not started yet, halted, or trained but not verified
    parts += [f"{counts[w]} {w}" for w in ("unverified", "waiting", "halted") if counts.get(w)]
    return ", ".join(parts)


def _line(t: Tracked) -> str:
    pct = f" {t.progress:.0f}%" if t.progress is not None and t.phase in (Phase.PENDING, Phase.PREVIEW) else ""
    err = f": {t.error_message}" if t.error_message and t.phase is not Phase.READY else ""
    return escape_control(f"{t.name} ({t.object_id}): {t.status}{pct}{err}")


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

    def note(self, line: str) -> None:
        """One line about something done meanwhile (a rollout's start, verification, swap)."""
        self.out.write(escape_control(line) + "\n")
        self.out.flush()


def _cells(ch: str) -> int:
    import unicodedata

    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width_of(text: str) -> int:
    return len(text) if text.isascii() else sum(_cells(c) for c in text)


def fit(line: str, width: int) -> str:
    """``line`` cut to ``width`` terminal cells, ending in an ellipsis when cut (a wrapped line would break the
    in-place redraw: the cursor moves up by lines, not by screen rows)."""
    if len(line) <= width and line.isascii():
        return line
    used, out = 0, []
    if _width_of(line) <= width:
        return line
    for ch in line:
        w = _cells(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def fit_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells in the middle (names often differ at their end: keep both ends)."""
    if _width_of(text) <= width or width < 5:
        return fit(text, width)
    head = fit(text, (width + 1) // 2 + 1)  # ends with the ellipsis
    room, tail = width - _width_of(head), []
    for ch in reversed(text):
        room -= _cells(ch)
        if room < 0:
            break
        tail.append(ch)
    return head + "".join(reversed(tail))


class TtyReporter:
    """For a terminal: a per-replica table with progress bars, redrawn in place after each poll, and an
    elapsed-time footer that ticks every second between polls. Failed and training replicas are listed first;
    a table taller than the terminal is cut, with a count of the rows left out."""

    def __init__(self, out: TextIO, *, rows: int | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.out, self.clock, self._sleep = out, clock, sleep
        self._fixed_rows = rows
        self.rows = rows if rows is not None else max(5, shutil.get_terminal_size().lines - 4)
        self._columns = self._width()
        self._drawn = 0
        self._tracked: list[Tracked] = []
        self._elapsed, self._at = 0.0, clock()

    @staticmethod
    def _width() -> int:
        """The terminal's width now (read every frame, so a resize is picked up), less one column: writing
        into the last column makes some terminals wrap."""
        return max(20, shutil.get_terminal_size().columns - 1)

    def _resized(self) -> bool:
        """True (and the screen cleared) when the width changed since the last frame: the terminal may have
        re-wrapped the old frame, so moving up by its line count would leave stale lines behind."""
        width = self._width()
        rows = self._fixed_rows if self._fixed_rows is not None else max(5, shutil.get_terminal_size().lines - 4)
        if width == self._columns and rows == self.rows:
            return False
        self._columns, self.rows = width, rows
        if self._drawn:
            self.out.write("\x1b[2J\x1b[H")
            self._drawn = 0
        return True

    def update(self, tracked: list[Tracked], elapsed: float, changed: list[tuple[Tracked, str]]) -> None:
        self._tracked, self._elapsed, self._at = tracked, elapsed, self.clock()
        self._resized()
        columns = self._columns
        order = {Phase.FAILED: 0, GONE: 0, Phase.PENDING: 1, Phase.PREVIEW: 1, Phase.READY: 2}
        ordered = sorted(tracked, key=lambda t: order.get(t.phase, 1))
        hidden = max(0, len(ordered) - self.rows)
        shown, rest = ordered[:len(ordered) - hidden], ordered[len(ordered) - hidden:]
        names = [escape_control(t.name) for t in shown]
        # the name column gives way first, so that the id, bar and status stay visible in a narrow terminal
        longest = max((_width_of(n) for n in names), default=4)
        slots = 20 if columns - 57 >= min(longest, 20) else 10  # a shorter bar in a narrow terminal
        width = min(longest, max(8, columns - 37 - slots))
        lines = []
        for t, name in zip(shown, names, strict=True):
            pct = 100.0 if t.phase is Phase.READY else t.progress or 0.0
            done = int(pct / (100 / slots))
            bar = "#" * done + "." * (slots - done)
            err = f"  {t.error_message}" if t.error_message and t.phase is not Phase.READY else ""
            name = fit_middle(name, width)
            lines.append(f"  {name}{' ' * (width - _width_of(name))}  {t.object_id:<12} [{bar}] {pct:5.1f}%  "
                         + escape_control(f"{t.status}{err}"))
        if hidden:
            ready = all(t.phase is Phase.READY for t in rest)
            lines.append(f"  ... and {hidden} more{' (ready)' if ready else ''}")
        up = f"\x1b[{self._drawn}F" if self._drawn else ""
        self.out.write(up + "".join(f"\x1b[2K{fit(line, columns)}\n" for line in lines)
                       + f"\x1b[2K{fit(self._footer(), columns)}\n")
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
            if self._tracked and self._resized():
                self.update(self._tracked, self._elapsed + self.clock() - self._at, [])  # redraw at the new width
            elif self._drawn:
                self.out.write(f"\x1b[1F\x1b[2K{fit(self._footer(), self._columns)}\n")
                self.out.flush()

    def warning(self, message: str) -> None:
        self.note("warning: " + message)

    def note(self, line: str) -> None:
        """One line printed above the table (a warning, a rollout's step): the table is erased, the line
        written where it was, and the table drawn again below, so the lines read as a log over one live table."""
        up = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
        self.out.write(f"{up}\x1b[2K{fit(escape_control(line), self._columns)}\n")
        self._drawn = 0
        if self._tracked:
            self.update(self._tracked, self._elapsed + self.clock() - self._at, [])
        else:
            self.out.flush()
