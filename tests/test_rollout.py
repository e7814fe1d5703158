"""The rollout's schedule (issue 19): pure properties of ``rollout.schedule`` and the states ``plan`` and
``status`` read from it (``rollout_view``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.engine.models import Action, Change
from reconciler.engine.rollout import (
    DEFAULT_CANARY,
    DEFAULT_MAX_REPLACING,
    DEFAULT_VERIFY,
    RolloutSettings,
    Step,
    schedule,
)
from reconciler.views import rollout_view

PHASES = ("create", "training", "swap", "rename")


def replace(i: int, phase: str = "create") -> Change:
    return Change(Action.REPLACE, f"acme-{i:03d}", "model_name changed", object_id=f"r{i}", phase=phase,
                  successor_id=None if phase == "create" else f"s{i}")


replaces_strategy = st.lists(st.sampled_from(PHASES), max_size=40).map(
    lambda phases: [replace(i, p) for i, p in enumerate(phases)])
settings_strategy = st.builds(RolloutSettings, max_replacing=st.integers(1, 12), canary=st.integers(0, 12),
                              verify=st.sampled_from(("smoke", "none")))


@settings(max_examples=300, deadline=None)
@given(replaces_strategy, settings_strategy)
def test_schedule_keeps_the_order_the_canary_first_and_batches_within_max_replacing(replaces, s):
    rollout = schedule(replaces, s)
    steps = rollout.steps
    assert [x.name for x in steps] == [c.name for c in replaces]  # file order, in flight or not
    assert [x.old_id for x in steps] == [c.object_id for c in replaces]
    canary = min(s.canary, len(replaces))
    assert [x.canary for x in steps] == [True] * canary + [False] * (len(replaces) - canary)  # canary first
    assert all(x.batch == 1 for x in steps if x.canary)
    batches = rollout.batches
    assert [x for b in batches for x in b] == list(steps)
    assert [b[0].batch for b in batches] == list(range(1, len(batches) + 1))  # consecutive, 1-based
    rest = [b for b in batches if not b[0].canary]
    assert all(not x.canary for b in rest for x in b)  # no batch mixes the canary and the others
    assert all(len(b) <= s.max_replacing for b in rest)
    assert all(len(b) == s.max_replacing for b in rest[:-1])  # nominal groups: only the last may be short
    assert rollout.settings == s


@settings(max_examples=200, deadline=None)
@given(replaces_strategy, settings_strategy)
def test_replaces_in_flight_keep_their_place_phase_and_successor(replaces, s):
    steps = schedule(replaces, s).steps
    fresh = schedule([replace(i) for i in range(len(replaces))], s).steps
    for c, x, y in zip(replaces, steps, fresh, strict=True):
        assert (x.phase, x.successor_id) == (c.phase, c.successor_id)
        assert (x.batch, x.canary) == (y.batch, y.canary)  # a place depends on the order alone, not on the phase
        assert x.started == (c.phase != "create")


def test_the_defaults_are_two_one_smoke():
    assert (DEFAULT_MAX_REPLACING, DEFAULT_CANARY, DEFAULT_VERIFY) == (2, 1, "smoke")
    assert RolloutSettings() == RolloutSettings(2, 1, "smoke")


def test_overrides_replace_only_what_is_given():
    s = RolloutSettings(3, 2, "none")
    assert s.with_overrides() == s
    assert s.with_overrides(max_replacing=5) == RolloutSettings(5, 2, "none")
    assert s.with_overrides(canary=0) == RolloutSettings(3, 0, "none")


def test_nominal_batches_of_ten_with_the_defaults():
    rollout = schedule([replace(i) for i in range(1, 11)], RolloutSettings())
    assert [[x.name for x in b] for b in rollout.batches] == [
        ["acme-001"], ["acme-002", "acme-003"], ["acme-004", "acme-005"], ["acme-006", "acme-007"],
        ["acme-008", "acme-009"], ["acme-010"]]


def test_no_canary_starts_with_a_full_batch():
    rollout = schedule([replace(i) for i in range(5)], RolloutSettings(2, 0))
    assert [len(b) for b in rollout.batches] == [2, 2, 1]
    assert not any(x.canary for x in rollout.steps)


# ----------------------------------------------------------------------------------------- states


def test_states_and_labels_of_every_phase():
    def step(phase):
        return Step("a", "r1", phase, None if phase == "create" else "s1", False, 2)

    assert [rollout_view.state(step(p)) for p in PHASES] == ["not_started", "training", "trained", "trained"]
    assert rollout_view.label(step("swap"), "smoke") == "trained: verify and swap next"
    assert rollout_view.label(step("swap"), "none") == "trained: swap next"
    assert rollout_view.label(step("rename"), "smoke") == "old replica deleted: rename next"
    assert rollout_view.label(step("create"), "smoke") == "not started"


def test_progress_counts_and_names_the_next_one():
    phases = ["swap", "training", "training"] + ["create"] * 7
    rollout = schedule([replace(i, p) for i, p in enumerate(phases, 1)], RolloutSettings())
    p = rollout_view.progress(rollout)
    assert (p.training, p.trained, p.waiting, p.next, p.halted) == (2, 1, 7, "acme-004", False)
    assert p.summary == "rollout: 2 training, 1 trained, 7 waiting; next: acme-004"


def test_a_rollout_waiting_with_nothing_training_says_halted_or_not_started():
    rollout = schedule([replace(i) for i in range(1, 4)], RolloutSettings())
    p = rollout_view.progress(rollout)
    assert p.halted
    assert p.summary == "rollout: 0 training, 0 trained, 3 waiting; next: acme-001 (halted or not started: run apply)"
    trained_only = rollout_view.progress(schedule([replace(1, "swap")], RolloutSettings()))
    assert not trained_only.halted and "run apply or wait" in trained_only.summary


def test_status_fields_cover_the_old_replica_and_the_successor():
    rollout = schedule([replace(1, "training"), replace(2)], RolloutSettings())
    fields = rollout_view.status_fields(rollout)
    assert fields == {"r1": {"state": "training", "canary": True, "batch": 1, "position": 1},
                      "s1": {"state": "training", "canary": True, "batch": 1, "position": 1},
                      "r2": {"state": "waiting", "canary": False, "batch": 2, "position": 2}}
    assert rollout_view.status_fields(None) == {}
