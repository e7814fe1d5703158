"""The generic planner (engine/planner.py): it names no kind; the kinds that plan themselves are asked through
their WithPlanner hooks, in create order, around the generic kinds' plan. A toy kind defined only here."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import reconciler.kinds as registry
from reconciler.engine.kind import WithPlanner, has
from reconciler.engine.models import Action, Change, Config
from reconciler.engine.planner import compute_plan, planners


@dataclass(frozen=True)
class Gizmo:
    name: str


class ToyPlanner:
    """A kind on its own path: records what the planner asked, in order."""

    key, noun, references = "gizmos", "gizmo", ()
    legacy_path = True  # off the generic objects.py path
    replace_by_name = False

    def __init__(self):
        self.calls: list[tuple[str, object]] = []

    def declared_names(self, config) -> set[str]:
        return {"g-declared"}

    def listed_names(self, listing) -> set[str]:
        return {g.name for g in listing}

    def plan_before(self, draft) -> None:
        self.calls.append(("before", draft.generic))
        draft.changes.append(Change(Action.CREATE, "g-declared", "not found remotely", kind="gizmos"))
        draft.fields["pending"] = [Gizmo("training")]

    def holds(self, draft) -> dict[str, str]:
        self.calls.append(("holds", dict(draft.listings)))
        return {}

    def plan_after(self, draft) -> None:
        self.calls.append(("after", draft.generic))
        draft.warnings.append("toy: planned after the generic kinds")


@pytest.fixture
def toy(monkeypatch):
    kind = ToyPlanner()
    real = registry.registered()
    monkeypatch.setattr(registry, "registered", lambda: (*real, kind))
    return kind


def test_the_real_kinds_on_their_own_path_plan_themselves():
    assert [k.key for k in planners()] == ["replicas", "personas"]  # create order: the referenced kind first
    assert all(has(k, WithPlanner) for k in planners())
    assert not any(getattr(k, "legacy_path", False) and not has(k, WithPlanner) for k in registry.kinds())


def test_a_toy_kind_is_asked_in_order_and_fills_the_plan(toy):
    gadgets = [Gizmo("g-listed")]
    plan = compute_plan(Config("f.yaml", replicas=()), [], gizmos=gadgets)
    assert [step for step, _ in toy.calls] == ["before", "holds", "after"]
    assert toy.calls[1][1]["gizmos"] is gadgets  # its listing, by its key
    assert [(c.kind, c.name) for c in plan.changes] == [("gizmos", "g-declared")]
    assert plan.pending == (Gizmo("training"),) and plan.warnings == ("toy: planned after the generic kinds",)


def test_a_kind_not_listed_has_no_listing(toy):
    compute_plan(Config("f.yaml", replicas=()), [])
    assert "gizmos" not in toy.calls[1][1] and "replicas" in toy.calls[1][1]


def test_target_and_replace_names_come_from_every_kind_that_plans_itself(toy):
    config = Config("f.yaml", replicas=())
    assert not compute_plan(config, [], targets=["g-declared"], gizmos=[]).errors
    assert not compute_plan(config, [], targets=["g-listed"], gizmos=[Gizmo("g-listed")]).errors
    plan = compute_plan(config, [], targets=["g-nothing"], force_replace=["g-declared"], gizmos=[])
    assert plan.errors[0] == "--replace g-declared: no replica of that name is declared in f.yaml"  # not replaceable
    assert plan.errors[1].startswith("--target g-nothing: no replica or persona or gizmo of that name is declared")


def test_a_listing_for_no_such_kind_is_a_type_error_not_ignored():
    with pytest.raises(TypeError, match="gizmos"):
        compute_plan(Config("f.yaml", replicas=()), [], gizmos=[])
