"""How plans show an objectives set's update (reconciler/kinds/objectives/view.py)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.kinds.objectives.view import data_rows, plan_rows

A = {"objective_name": "a", "objective_prompt": "Ask a.", "confirmation_mode": "auto"}
B = {"objective_name": "b", "objective_prompt": "Ask b."}


@dataclass(frozen=True)
class C:
    diff: tuple


def test_only_the_changed_fields_of_each_objective():
    new = [{**A, "objective_prompt": "Ask A."}, B]
    assert data_rows([A, B], new) == [("data[0].objective_prompt", "Ask a.", "Ask A.")]


def test_added_and_removed_objectives_are_named():
    assert data_rows([A], [A, B]) == [("data[1]", None, "b")]
    assert data_rows([A, B], [A]) == [("data[1]", "b", None)]
    assert data_rows(None, [A]) == [("data[0]", None, "a")]


def test_spellings_compare_as_one_and_undeclared_fields_are_not_shown():
    old = [{**B, "next_required_objectives": ["a"], "modality": "verbal"}]
    assert data_rows(old, [{**B, "next_required_objective": "a"}]) == []


def test_plan_rows_expand_data_and_keep_other_rows():
    rows = plan_rows(C((("allow_loops", None, True), ("data", [A], [B]))))
    assert rows[0] == ("allow_loops", None, True)
    assert ("data[0].objective_name", "a", "b") in rows and ("data[0].objective_prompt", "Ask a.", "Ask b.") in rows
    assert plan_rows(C(())) == []


def test_the_text_plan_shows_an_objectives_update_per_objective():
    from reconciler.engine.models import Action, Change, Plan
    from reconciler.views.render import plan_text

    c = Change(Action.UPDATE, "acme-screening", "declared attributes differ", kind="objectives", object_id="o1",
               diff=(("data", [A, B], [{**A, "objective_prompt": "Ask A."}, B]),))
    text = plan_text(Plan(changes=(c,)), file="f.yaml")
    assert "~ data[0] {" in text and '~ objective_prompt: "Ask a." -> "Ask A."' in text and "Ask b." not in text
