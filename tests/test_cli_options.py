"""reconciler.cli.options: durations and counts, refused with a message that says what to write."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.options import DURATION, POLL_INTERVAL, Count, parse_duration


@pytest.mark.parametrize("text,seconds", [("90", 90), ("45s", 45), ("10m", 600), ("6h", 21600), ("1h30m", 5400),
                                          ("0.5s", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5", "h"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_outside_their_range_are_refused():
    assert DURATION.convert("0", None, None) == 0.0 and POLL_INTERVAL.convert("0.1s", None, None) == 0.1
    with pytest.raises(click.BadParameter, match="too short"):
        POLL_INTERVAL.convert("0", None, None)
    with pytest.raises(click.BadParameter, match="too long"):
        DURATION.convert("9000h", None, None)
    with pytest.raises(click.BadParameter, match="too long"):
        DURATION.convert(float("inf"), None, None)


def test_counts_are_whole_numbers_of_at_least_the_minimum():
    count = Count(1, "successors training at once")
    assert count.convert("3", None, None) == 3 and count.convert(2, None, None) == 2
    with pytest.raises(click.BadParameter, match=r"whole number of at least 1 \(successors training at once\)"):
        count.convert("2.5", None, None)
    with pytest.raises(click.BadParameter, match="must be at least 1"):
        count.convert("0", None, None)
