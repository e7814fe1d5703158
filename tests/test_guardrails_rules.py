"""The semantic rules of ``guardrails:`` (reconciler/kinds/guardrails/rules.py) on located YAML."""

from __future__ import annotations

import pytest

from reconciler.engine.checks import fragment
from reconciler.engine.models import Settings
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.kinds.guardrails.rules import EntryRules, GuardrailRules, parse, scope_prefix


class _Sem:
    """The loader's rule context, as far as the rules use it."""

    def __init__(self, text: str, environ: dict[str, str] | None = None, name_prefix: str | None = None):
        self.diags = Diagnostics("f.yaml")
        self.doc = Builder(text, self.diags, environ or {}).build()
        self.settings = Settings(name_prefix=name_prefix)


def run(text: str, prefix: str | None = None, removed=(), environ=None):
    sem = _Sem(text, environ)
    out = GuardrailRules(sem).run(sem.doc.root.get("guardrails"), prefix, removed)
    return out, sem.diags.rendered_warnings(), [f"{line}:{col}: {m}" for line, col, m in sorted(sem.diags.errors)]


GOOD = """\
guardrails:
  - name: acme_no_salary
    guardrail_prompt: Never discuss salary.
    modality: verbal
    tags: [hiring]
"""


def test_a_good_entry_builds_the_desired_guardrail():
    out, warnings, errors = run(GOOD)
    assert errors == [] and warnings == ()
    (g,) = out
    assert g.name == "acme_no_salary" and g.guardrail_id is None and not g.protect
    assert g.attributes == {"guardrail_prompt": "Never discuss salary.", "modality": "verbal", "tags": ["hiring"]}
    assert g.create_payload()["guardrail_name"] == "acme_no_salary"


def test_duplicate_names_are_a_located_error():
    out, _, errors = run(GOOD + GOOD.split("\n", 1)[1])
    assert errors == ["6:11: duplicate guardrail name 'acme_no_salary' (first declared at line 2)"]


def test_scope_prefix_stands_for_underscores_in_a_guardrail_name():
    assert scope_prefix("acme-") == "acme_" and scope_prefix(None) is None
    assert run(GOOD, prefix="acme-")[2] == []
    errors = run(GOOD, prefix="beta-")[2]
    assert errors == ["2:11: acme_no_salary: the name is outside this file's scope: it must start with 'beta_' "
                      "(settings.scope.name_prefix)"]


def test_removed_and_declared_is_an_error():
    errors = run(GOOD, removed=("acme_no_salary",))[2]
    assert len(errors) == 1 and "also listed under removed:" in errors[0]


def test_pinned_id_is_kept_and_declared_once():
    text = GOOD.replace("    modality", "    guardrail_id: g1\n    modality")
    (g,), _, errors = run(text)
    assert g.guardrail_id == "g1" and "guardrail_id" not in g.attributes and errors == []
    twice = text + text.split("\n", 1)[1].replace("acme_no_salary", "acme_other")
    assert any("guardrail_id g1 is already used at line 2" in e for e in run(twice)[2])


def test_unknown_modality_and_field_are_warnings_with_did_you_mean():
    text = GOOD.replace("modality: verbal", "modality: verbl").replace("    tags", "    tgas: [x]\n    tags")
    (g,), warnings, errors = run(text)
    assert errors == []
    assert any("modality 'verbl' is not one this version knows (verbal, visual) (did you mean 'verbal'?)" in w
               for w in warnings)
    assert any("field 'tgas' is not one this version documents (did you mean 'tags'?)" in w for w in warnings)
    assert g.attributes["tgas"] == ["x"]  # passed through


def test_blank_prompt_and_bad_callback_url_are_errors():
    text = GOOD.replace("Never discuss salary.", "'   '") + "    callback_url: not-a-url\n"
    errors = run(text)[2]
    assert any("guardrail_prompt is blank" in e for e in errors)
    assert any("callback_url must be an http(s) URL" in e for e in errors)


def test_unset_var_in_the_name_is_an_error_in_an_attribute_a_warning():
    text = GOOD.replace("acme_no_salary", "${GNAME}").replace("Never discuss salary.", "${PROMPT}")
    out, warnings, errors = run(text)
    assert out == ()
    assert any("${GNAME} is not set" in e for e in errors)
    assert any("${PROMPT} is not set (needed when guardrails[0] is created or updated)" in w for w in warnings)


def test_missing_vars_are_recorded_on_the_desired_object():
    text = GOOD.replace("Never discuss salary.", "${PROMPT}")
    (g,), warnings, errors = run(text)
    assert g.missing_vars == ("PROMPT",) and errors == []


def test_the_schema_fragment_states_the_documented_limits():
    item = fragment("reconciler.kinds.guardrails")["section"]["items"]
    assert item["properties"]["name"]["maxLength"] == 100
    assert item["properties"]["guardrail_prompt"]["maxLength"] == 1000
    assert item["properties"]["tags"]["maxItems"] == 32
    assert "additionalProperties" not in item  # unknown fields pass (with a warning), never rejected


def test_the_schema_fragment_rejects_a_bad_name_and_accepts_a_newer_field():
    from jsonschema import Draft202012Validator

    v = Draft202012Validator(fragment("reconciler.kinds.guardrails")["section"])
    assert not v.is_valid([{"name": "a" * 101, "guardrail_prompt": "x"}])
    assert not v.is_valid([{"name": "ok", "guardrail_prompt": "x" * 1001}])
    assert v.is_valid([{"name": "ok", "guardrail_prompt": "x", "severity": "high"}])


def test_a_name_with_other_characters_is_a_located_error_with_a_fix():
    out, _, errors = run(GOOD.replace("acme_no_salary", "acme-no salary"))
    assert out == () and errors == ["2:11: guardrails[0]: name 'acme-no salary' may hold only letters, digits and _ "
                                    "(Tavus's guardrail_name), e.g. 'acme_no_salary'"]


def test_entry_rules_is_abstract():
    with pytest.raises(NotImplementedError):
        EntryRules(_Sem(GOOD)).build((), {}, "", None, ())


def test_parse_is_the_loaders_hook_with_scope_and_removed():
    text = GOOD + "removed: [acme_no_salary]\n"
    sem = _Sem(text, name_prefix="beta-")
    assert parse(sem.doc.root["guardrails"], sem) != ()
    errors = [m for _line, _col, m in sem.diags.errors]
    assert any("outside this file's scope: it must start with 'beta_'" in e for e in errors)
    assert any("also listed under removed:" in e for e in errors)


def test_an_unknown_field_is_warned_once_for_the_whole_file():
    text = GOOD.replace("    tags", "    tgas: [x]\n    tags")
    text += text.split("\n", 1)[1].replace("acme_no_salary", "acme_other")
    _, warnings, _ = run(text)
    assert sum("'tgas'" in w for w in warnings) == 1
