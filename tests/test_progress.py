"""Progress display: fitting names to the terminal width, the line and TTY reporters."""

from __future__ import annotations

import pytest
from fakes import FakeClient, FakeClock, _Sink, run_wait

from reconciler.engine.status import Phase
from reconciler.engine.waiter import Tracked
from reconciler.views.progress import _width_of, fit, fit_middle


@pytest.mark.parametrize("text", ["short", "x" * 100, "名前" * 30, "a\u0301" * 50, "acme-" + "名" * 3 + "b" * 60])
@pytest.mark.parametrize("width", [1, 5, 20, 69])
def test_fit_never_exceeds_the_width(text, width):
    for f in (fit, fit_middle):
        out = f(text, width)
        assert _width_of(out) <= max(width, 1)
        assert out == text or "…" in out
    assert fit(text, 10_000) == text


def test_fit_middle_keeps_both_ends():
    assert fit_middle("acme-a-rather-long-replica-name-view-0", 16) == "acme-a-r…-view-0"


def test_line_reporter_prints_status_changes_and_no_ansi():
    sink = _Sink()
    client = FakeClient({"a": ["started", "completed"]})
    run_wait(client, {"a": "A"}, out=sink)
    assert "A (a): started" in sink.text and "A (a): completed" in sink.text
    assert "\x1b" not in sink.text


def test_tty_reporter_redraws_in_place_caps_rows_and_ticks_elapsed():
    from reconciler.views.progress import TtyReporter

    clock = FakeClock()
    out = _Sink()
    rep = TtyReporter(out, rows=3, clock=clock, sleep=clock.sleep)
    tracked = [Tracked(f"r{i}", f"id{i}", status="completed", phase=Phase.READY) for i in range(4)]
    tracked.append(Tracked("slow", "idS", status="started", progress=45.0))
    tracked.append(Tracked("bad\x1b[2J", "idB", status="error", phase=Phase.FAILED, error_message="blurry"))
    rep.update(tracked, 0.0, [])
    first = out.text
    assert first.index("bad\\x1b[2J") < first.index("slow") < first.index("r0")  # failed, training, then ready
    assert "[#########...........]  45.0%" in first and "... and 3 more (ready)" in first
    assert "\x1b[2J" not in first  # the hostile name is escaped
    rep.sleep(2.0)
    assert out.text[len(first):].count("\x1b[1F") == 2 and "elapsed 2s" in out.text
    rep.update(tracked, 2.0, [])
    assert "\x1b[5F" in out.text  # moved up over the 4 rows + footer it drew before


def test_tty_note_erases_the_table_writes_the_line_and_draws_the_table_below_it():
    """A rollout's step (or a warning) printed during a live wait must not leave a stale table on screen."""
    from reconciler.views.progress import TtyReporter

    clock = FakeClock()
    out = _Sink()
    rep = TtyReporter(out, rows=5, clock=clock, sleep=clock.sleep)
    tracked = [Tracked("a", "id1", status="started", progress=10.0),
               Tracked("b", "id2", status="waiting (batch 2)", phase="waiting")]
    rep.update(tracked, 0.0, [])
    before = len(out.text)
    rep.note("  -/+ replace a: successor id1 passed verification\x1b[2J")
    after = out.text[before:]
    assert after.startswith("\x1b[3F\x1b[J")  # up over 2 rows + footer, erased
    assert after.index("passed verification") < after.index("  a ") < after.index("  b ")  # the table is below
    assert "\\x1b[2J" in after and "\x1b[2J" not in after  # escaped
    assert "1 waiting" in after  # a rollout's rows are counted in the footer
    rep.update(tracked, 1.0, [])
    assert "\x1b[3F" in out.text[before + len(after):]  # the redrawn table is the one moved over next time
