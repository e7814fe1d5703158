"""A rollout as plan text and Markdown show it (reconciler/views/rollout_text.py)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change
from reconciler.engine.rollout import RolloutSettings, schedule
from reconciler.views.rollout_text import _batches_word, rollout_lines, rollout_markdown


def _rollout(n: int, **settings):
    changes = [Change(Action.REPLACE, f"r{i}", "model", object_id=f"id{i}") for i in range(n)]
    return schedule(changes, RolloutSettings(**settings))


def test_a_single_replace_is_one_line():
    lines = rollout_lines(_rollout(1))
    assert len(lines) == 1 and lines[0].startswith("Rollout: 1 replacement, r0 (not started)")
    assert rollout_markdown(_rollout(1))[0].startswith("**Rollout:** 1 replacement, `r0`")


def test_several_show_batches_and_the_rule():
    lines = rollout_lines(_rollout(3, max_replacing=2))
    assert lines[0].startswith("Rollout of 3 replacements (max_replacing 2")
    assert any(line.startswith("  batch 1") for line in lines) and "halts the rollout" in lines[-1]
    md = rollout_markdown(_rollout(3, max_replacing=2))
    assert "<details><summary>Rollout order (3)</summary>" in md


def test_batches_word():
    assert (_batches_word(1), _batches_word(2)) == ("1 batch", "2 batches")
