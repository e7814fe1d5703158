"""The semantic rules of ``objectives:`` (reconciler/kinds/objectives/rules.py) on located YAML."""

from __future__ import annotations

from test_guardrails_rules import _Sem

from reconciler.engine.checks import fragment
from reconciler.kinds.objectives.rules import parse

GOOD = """\
objectives:
  - name: acme-screening
    data:
      - objective_name: ask_experience
        objective_prompt: Ask about the candidate's last role.
        confirmation_mode: auto
        next_required_objective: ask_salary
      - objective_name: ask_salary
        objective_prompt: Ask for the expected salary.
"""


def run(text: str, prefix: str | None = None):
    sem = _Sem(text, name_prefix=prefix)
    out = parse(sem.doc.root.get("objectives"), sem)
    return out, sem.diags.rendered_warnings(), [f"{line}:{col}: {m}" for line, col, m in sorted(sem.diags.errors)]


def test_a_good_set_builds():
    (o,), warnings, errors = run(GOOD, prefix="acme-")
    assert errors == [] and warnings == ()
    assert o.name == "acme-screening" and len(o.data) == 2 and o.allow_loops is None and o.extra == {}
    assert o.data[0]["next_required_objective"] == "ask_salary"


def test_a_link_to_an_undeclared_objective_is_a_located_error_with_did_you_mean():
    errors = run(GOOD.replace("next_required_objective: ask_salary", "next_required_objective: ask_salry"))[2]
    assert errors == ["7:34: acme-screening: data[0]: 'ask_salry' is not an objective of this set "
                      "(did you mean 'ask_salary'?)"]


def test_list_form_and_conditional_links_are_checked_too():
    text = GOOD.replace("next_required_objective: ask_salary", "next_required_objectives: [ask_salary, nope]")
    assert any("'nope' is not an objective of this set" in e for e in run(text)[2])
    text = GOOD.replace("next_required_objective: ask_salary",
                        "next_conditional_objectives: {ask_salery: if they answered}")
    errors = run(text)[2]
    assert errors and "did you mean 'ask_salary'?" in errors[0] and errors[0].startswith("7:39:")


def test_both_spellings_in_one_objective_is_an_error():
    text = GOOD.replace("next_required_objective: ask_salary",
                        "next_required_objective: ask_salary\n        next_required_objectives: [ask_salary]")
    assert any("declare either next_required_objective (one name) or next_required_objectives" in e
               for e in run(text)[2])


def test_duplicate_objective_names_are_an_error():
    text = GOOD.replace("objective_name: ask_salary", "objective_name: ask_experience").replace(
        "        next_required_objective: ask_salary\n", "")
    errors = run(text)[2]
    assert errors == ["7:25: acme-screening: objective 'ask_experience' is declared twice in the set (first at "
                      "data[0]): objective names are unique in a set"]


def test_an_objective_name_with_spaces_is_an_error():
    errors = run(GOOD.replace("ask_salary", "ask salary"))[2]
    assert errors == ["8:25: acme-screening: objective_name 'ask salary' must not contain spaces (documented), e.g. "
                      "'ask_salary'"]


def test_a_loop_without_allow_loops_is_a_warning_not_an_error():
    looped = GOOD + "        next_required_objective: ask_experience\n"
    _, warnings, errors = run(looped)
    assert errors == [] and any("the objectives loop (ask_experience -> ask_salary -> ask_experience)" in w
                                for w in warnings)
    (o,), warnings, _ = run(looped.replace("    data:", "    allow_loops: true\n    data:"))
    assert warnings == () and o.allow_loops is True


def test_unknown_modes_and_fields_are_warnings():
    text = GOOD.replace("confirmation_mode: auto", "confirmation_mode: automatic\n        mood: calm")
    _, warnings, errors = run(text)
    assert errors == []
    assert any("confirmation_mode 'automatic' is not one this version knows (auto, manual)" in w for w in warnings)
    assert any("objective field 'mood' is not one this version documents" in w for w in warnings)


def test_the_set_level_identity_rules_apply():
    errors = run(GOOD, prefix="beta-")[2]
    assert errors == ["2:11: acme-screening: the name is outside this file's scope: it must start with 'beta-' "
                      "(settings.scope.name_prefix)"]


def test_the_schema_fragment_states_the_documented_limits():
    from jsonschema import Draft202012Validator

    schema = fragment("reconciler.kinds.objectives")["section"]
    v = Draft202012Validator(schema)
    one = {"objective_name": "a", "objective_prompt": "p"}
    assert v.is_valid([{"name": "s", "data": [one]}])
    assert not v.is_valid([{"name": "s", "data": [one] * 51}])
    assert not v.is_valid([{"name": "s", "data": [{**one, "objective_prompt": "p" * 10_001}]}])
    assert v.is_valid([{"name": "s", "data": [{**one, "newer": 1}], "newer_too": 2}])  # passed with a warning
