"""Objectives models (reconciler/kinds/objectives/models.py): both next_required spellings, every answer shape."""

from __future__ import annotations

import pytest

from reconciler.kinds.objectives.models import (
    DesiredObjectives,
    RemoteObjectives,
    find_loop,
    normal_objective,
    required_next,
    same_data,
)

ASK = {"objective_name": "ask_experience", "objective_prompt": "Ask about the last role.", "confirmation_mode": "auto"}


def test_both_next_required_spellings_mean_the_same():
    one = {**ASK, "next_required_objective": "b"}
    many = {**ASK, "next_required_objectives": ["b"]}
    assert required_next(one) == required_next(many) == ["b"]
    assert normal_objective(one) == normal_objective(many)
    assert same_data([one], [many]) and same_data([many], [one])
    assert not same_data([one], [{**ASK, "next_required_objectives": ["b", "c"]}])


def test_only_declared_fields_are_compared_in_order():
    declared = [{"objective_name": "a", "objective_prompt": "p"}]
    assert same_data(declared, [{"objective_name": "a", "objective_prompt": "p", "confirmation_mode": "auto",
                                 "modality": "verbal", "output_variables": []}])
    assert not same_data(declared, [{"objective_name": "a", "objective_prompt": "q"}])
    assert not same_data(declared, [])
    assert not same_data(declared + declared, declared)
    assert not same_data([{"objective_name": "a", "x": True}], [{"objective_name": "a", "x": 1}])  # JSON types
    assert not same_data(declared, None)


def test_the_documented_set_parses():
    r = RemoteObjectives.from_api({"objectives_id": "o1", "name": "screening", "allow_loops": False,
                                   "data": [ASK], "created_at": "2024-01-15T10:30:00Z"})
    assert r.objectives_id == "o1" and r.name == "screening" and r.allow_loops is False and r.data == (ASK,)
    assert "objectives_id" not in r.document and r.document["data"] == [ASK]


def test_a_get_wrapped_in_data_parses():
    r = RemoteObjectives.from_api({"data": {"objectives_id": "o2", "name": "s", "data": [ASK]}})
    assert r.objectives_id == "o2" and r.name == "s"


def test_a_flattened_one_objective_item_parses_as_a_set_of_one():
    r = RemoteObjectives.from_api({"objectives_id": "o3", **ASK, "next_required_objective": "b",
                                   "created_at": "x"})
    assert r.name is None and len(r.data) == 1 and r.data[0]["objective_name"] == "ask_experience"
    assert r.document["data"][0]["next_required_objective"] == "b" and "created_at" not in r.data[0]


def test_no_id_is_refused():
    with pytest.raises(KeyError):
        RemoteObjectives.from_api({"name": "s", "data": []})
    with pytest.raises(TypeError):
        RemoteObjectives.from_api("nope")  # type: ignore[arg-type]


def test_find_loop():
    a = {"objective_name": "a", "next_required_objective": "b"}
    b = {"objective_name": "b", "next_conditional_objectives": {"a": "if again"}}
    assert find_loop([a, b]) == ["a", "b", "a"]
    assert find_loop([a, {"objective_name": "b"}]) is None
    assert find_loop([{"objective_name": "a", "next_required_objectives": ["zzz"]}]) is None  # unknown target


def test_the_create_payload():
    d = DesiredObjectives(name="s", data=({"objective_name": "a", "objective_prompt": "p"},), allow_loops=True)
    assert d.create_payload() == {"name": "s", "data": [{"objective_name": "a", "objective_prompt": "p"}],
                                  "allow_loops": True}
    assert "allow_loops" not in DesiredObjectives(name="s", data=()).create_payload()
