"""Safety rails and policy (issue 28): prune scope, the mass-change guard, settings.policy and --policy FILE.

Pure: the planner on made-up accounts; the simulator-backed proofs are in test_e2e_policy.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.engine import policy
from reconciler.engine.config import parse_config
from reconciler.engine.planner import compute_plan
from reconciler.engine.policyfile import load_file
from reconciler.errors import ConfigError
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views import render
from reconciler.workflows.show import plan_from_document

ROOT = Path(__file__).resolve().parent.parent
F = "replicas.yaml"


def load(settings: str, replicas: str = "", personas: str = "", ext: tuple = ()) :
    text = f"version: 1\nsettings:\n{settings}replicas:\n{replicas or '  []'}\n{personas}"
    if not replicas:
        text = f"version: 1\nsettings:\n{settings}replicas: []\n{personas}"
    return parse_config(text, F, environ={"K": "secret-key-value"}, policy=ext)


def synthetic(*names: str, model: str | None = None) -> str:
    m = f"    model_name: {model}\n" if model else ""
    return "".join(f"  - name: {n}\n    train_video_url: https://v.example.com/{n}.mp4\n    synthetic: true\n{m}"
                   for n in names)


def remote(*names: str, model: str = "phoenix-4") -> list[RemoteReplica]:
    return [RemoteReplica(f"r{i}", n, "completed", model_name=model) for i, n in enumerate(names)]


def checked(config, account, *, allow=False, prune_flag=False, personas=None):
    plan = compute_plan(config, account, prune=prune_flag, personas=personas)
    return policy.check(config, plan, {"replicas": account, "personas": personas}, prune_flag=prune_flag,
                        allow_mass_change=allow)


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text())


# ------------------------------------------------------------------------------------------- prune scope


def test_prune_without_a_scope_is_a_located_error_naming_both_ways_out():
    with pytest.raises(ConfigError) as e:
        load("  prune: true\n")
    (line,) = e.value.diagnostics
    assert line.startswith(f"{F}:3:10: settings.prune: true needs a scope")
    assert "name_prefix" in line and "whole_account: true" in line


def test_prune_with_a_prefix_or_the_whole_account_is_valid_and_both_at_once_is_not():
    assert load("  prune: true\n  scope:\n    name_prefix: acme-\n").settings.name_prefix == "acme-"
    whole = load("  prune: true\n  scope:\n    whole_account: true\n").settings
    assert whole.whole_account and whole.name_prefix is None
    with pytest.raises(ConfigError, match="either name_prefix or whole_account"):
        load("  scope:\n    name_prefix: acme-\n    whole_account: true\n")


def test_the_prune_flag_without_a_scope_is_a_plan_error_and_deletes_nothing():
    config = load("  prune: false\n")
    plan = checked(config, remote("team-b-x"), prune_flag=True)
    assert any("--prune needs a scope" in e for e in plan.errors)


def test_a_whole_account_scope_is_in_every_plan_header():
    config = load("  prune: true\n  scope:\n    whole_account: true\n", synthetic("a"))
    plan = checked(config, remote("a"))
    assert render.plan_text(plan, file=F).startswith("Scope: the WHOLE ACCOUNT")
    assert "**Scope: the WHOLE ACCOUNT" in render.plan_markdown(plan, file=F)
    doc = render.plan_document(plan, file=F)
    assert doc["scope"] == {"whole_account": True}
    jsonschema.validate(doc, schema("plan.schema.json"))
    assert "WHOLE ACCOUNT" in render.plan_text(plan_from_document(doc), file=F)  # show PLANFILE too


# ------------------------------------------------------------------------------------------- mass change

SCOPED = "  prune: true\n  scope:\n    name_prefix: acme-\n"


def test_a_prune_deleting_most_of_a_kind_is_refused_with_one_line_saying_how_many_and_what_to_pass():
    config = load(SCOPED, synthetic("acme-0", "acme-1"))
    plan = checked(config, remote(*(f"acme-{i}" for i in range(6)), "other-team"))
    (line,) = plan.errors
    assert line == ("mass change refused: the plan would delete 4 of the 6 replicas this file manages (67%, over "
                    "30%); review it and pass --allow-mass-change to go on (or raise settings.mass_change.max_percent)")
    doc = render.plan_document(plan, file=F)
    assert doc["mass_change"]["refused"] is True and doc["mass_change"]["kinds"] == [
        {"kind": "replicas", "existing": 6, "deletes": 4, "replaces": 0, "percent": 66.7}]
    jsonschema.validate(doc, schema("plan.schema.json"))
    assert "**Error:** mass change refused" in render.plan_markdown(plan, file=F)


def test_allowing_the_mass_change_turns_it_into_a_warning_the_plan_records():
    config = load(SCOPED, synthetic("acme-0", "acme-1"))
    plan = checked(config, remote(*(f"acme-{i}" for i in range(6))), allow=True)
    assert plan.errors == () and any("mass change allowed (--allow-mass-change)" in w for w in plan.warnings)
    doc = render.plan_document(plan, file=F)
    assert doc["mass_change"]["refused"] is False and doc["mass_change"]["allowed_by"] == "--allow-mass-change"
    assert "Mass change allowed by --allow-mass-change." in render.plan_text(plan, file=F)


def test_the_floor_and_the_threshold():
    # 2 of 2: under the floor of 3 changes, never a mass change; 3 of 11 (27%): under 30%
    assert checked(load(SCOPED), remote("acme-a", "acme-b")).errors == ()
    config = load(SCOPED, synthetic(*(f"acme-{i}" for i in range(8))))
    assert checked(config, remote(*(f"acme-{i}" for i in range(11)))).errors == ()
    # 4 of 11 (36%): refused; with settings.mass_change.max_percent 40 it passes
    config = load(SCOPED, synthetic(*(f"acme-{i}" for i in range(7))))
    assert checked(config, remote(*(f"acme-{i}" for i in range(11)))).errors
    raised = load(SCOPED + "  mass_change:\n    max_percent: 40\n", synthetic(*(f"acme-{i}" for i in range(7))))
    assert checked(raised, remote(*(f"acme-{i}" for i in range(11)))).errors == ()


def test_replaces_count_too():
    names = [f"acme-{i}" for i in range(5)]
    config = load("  scope:\n    name_prefix: acme-\n", synthetic(*names, model="phoenix-4"))
    plan = checked(config, remote(*names, model="phoenix-3"))
    assert plan.errors and "replace 5 of the 5 replicas" in plan.errors[0]


def test_bad_mass_change_settings_are_located():
    with pytest.raises(ConfigError) as e:
        load("  mass_change:\n    max_percent: 130\n    min_changes: 0\n")
    assert e.value.diagnostics == [f"{F}:4:18: settings.mass_change.max_percent must be at most 100, not 130",
                                   f"{F}:5:18: settings.mass_change.min_changes must be at least 1, not 0"]


# ------------------------------------------------------------------------------------------- policy rules


def test_allowed_models_is_a_located_error_naming_the_policy():
    config = load("  policy:\n    allowed_models: [\"phoenix-4*\"]\n",
                  synthetic("ok", model="phoenix-4") + synthetic("old", model="phoenix-3") + synthetic("unset"))
    messages = [f.message for f in config.policy_findings]
    assert messages == [
        f"{F}:13:17: policy allowed_models (settings.policy at {F}:4:5): old: model_name phoenix-3 is not allowed "
        "(allowed: phoenix-4*)",
        f"{F}:14:5: policy allowed_models (settings.policy at {F}:4:5): unset: model_name is not declared, so the "
        "server's default would be used; declare one of: phoenix-4*"]
    plan = checked(config, [])
    assert [e for e in plan.errors if "allowed_models" in e] == messages  # plan refuses on them


def test_require_consent_video():
    config = load("  policy:\n    require_consent_video: true\n",
                  "  - name: anna\n    train_video_url: https://v/a.mp4\n    consent_in_training_video: true\n"
                  "  - name: bob\n    train_video_url: https://v/b.mp4\n    consent_video_url: https://v/c.mp4\n"
                  + synthetic("robot"))
    (f,) = config.policy_findings
    assert f.policy == "require_consent_video" and f.message.startswith(f"{F}:6:5: ")
    assert "anna: a human replica needs a consent_video_url (consent_in_training_video is not enough here)" in f.message


PERSONA = ("personas:\n  - name: p\n    system_prompt: hi\n    layers:\n      llm:\n        model: m\n"
           "        base_url: {url}\n        api_key: ${{K}}\n        headers:\n          X-Token: {token}\n")


def test_llm_base_urls_and_keys_from_env():
    config = load("  policy:\n    llm_base_urls: [\"https://llm.example.com/*\"]\n    llm_keys_from_env: true\n",
                  personas=PERSONA.format(url="https://evil.example.com/v1", token="literal"))
    assert [(f.policy, f.message.split(": policy")[0]) for f in config.policy_findings] == [
        ("llm_base_urls", f"{F}:13:19"), ("llm_keys_from_env", f"{F}:16:20")]
    good = load("  policy:\n    llm_base_urls: [\"https://llm.example.com/*\"]\n    llm_keys_from_env: true\n",
                personas=PERSONA.format(url="https://llm.example.com/v1", token="${K}"))
    assert good.policy_findings == ()


def test_counts_per_apply_and_never_prune():
    config = load(SCOPED + "  policy:\n    max_creates: 1\n    max_deletes: 0\n    never_prune: [replicas]\n"
                  "  mass_change:\n    max_percent: 100\n", synthetic("acme-a", "acme-b", "acme-c"))
    plan = checked(config, remote("acme-a", "acme-old"))
    policies = sorted(e.split(": policy ")[1].split(" ")[0] for e in plan.errors)
    assert policies == ["max_creates", "max_deletes", "never_prune"]
    assert any("the plan would create 2 object(s) (acme-b, acme-c); at most 1 per apply" in e for e in plan.errors)
    never = f"{F}:9:5: policy never_prune (settings.policy): prune would delete the replica acme-old (r1)"
    assert any(e.startswith(never) for e in plan.errors)


def test_max_replaces():
    config = load("  scope:\n    name_prefix: acme-\n  policy:\n    max_replaces: 1\n  mass_change:\n"
                  "    max_percent: 100\n", synthetic("acme-a", "acme-b", model="phoenix-4"))
    (e,) = checked(config, remote("acme-a", "acme-b", model="phoenix-3")).errors
    assert "policy max_replaces" in e and "replace 2 object(s)" in e


def test_a_soft_rule_is_a_warning_not_a_refusal():
    config = load(SCOPED + "  policy:\n    max_deletes: {value: 0, level: warning}\n", synthetic("acme-a"))
    plan = checked(config, remote("acme-a", "acme-old"))
    assert plan.errors == () and any("policy max_deletes" in w for w in plan.warnings)
    assert render.plan_document(plan, file=F)["policy"]["violations"][0]["level"] == "warning"


def test_unknown_rules_and_bad_values_are_located():
    with pytest.raises(ConfigError) as e:
        load("  policy:\n    max_delete: 3\n    max_creates: -1\n    never_prune: [replica]\n")
    text = "\n".join(e.value.diagnostics)
    assert f"{F}:4:5: unknown field 'max_delete' (did you mean 'max_deletes'?)" in text
    assert f"{F}:5:18: settings.policy.max_creates must be a whole number of at least 0" in text
    from reconciler.kinds import registered

    kinds = ", ".join(k.key for k in registered())  # every kind, a new one included
    assert kinds.startswith("replicas, personas, documents, guardrails")
    assert f"{F}:6:18: settings.policy.never_prune must be a list of kinds ({kinds})" in text


# ------------------------------------------------------------------------------------------- --policy FILE


def test_a_policy_file_adds_rules_and_the_stricter_wins_per_rule(tmp_path):
    ext = tmp_path / "platform.yaml"
    ext.write_text("max_deletes: 1\nmax_creates: 10\nnever_prune: [personas]\n")
    rules = tuple(load_file(str(ext)))
    config = load(SCOPED + "  policy:\n    max_deletes: 3\n    max_creates: 2\n  mass_change:\n    max_percent: 100\n",
                  synthetic("acme-a"), ext=rules)
    state = {(r.name, r.source): on for r, on in policy.in_force(config.policy)}
    assert state == {("max_deletes", "settings.policy"): False, ("max_creates", "settings.policy"): True,
                     ("max_deletes", str(ext)): True, ("max_creates", str(ext)): False,
                     ("never_prune", str(ext)): True}
    plan = checked(config, remote("acme-a", "acme-x", "acme-y"))
    (e,) = plan.errors
    assert f"{ext}:1:1: policy max_deletes ({ext}): " in e and "at most 1 per apply" in e  # says which file set it
    header = render.plan_text(plan, file=F).splitlines()[0]
    assert f"max_deletes 1 from {ext}:1:1" in header and "max_deletes 3 from settings.policy" in header
    assert "(overridden: stricter elsewhere)" in header


def test_a_looser_error_rule_still_holds_beside_a_stricter_warning(tmp_path):
    ext = tmp_path / "p.yaml"
    ext.write_text("max_deletes: 5\n")
    config = load(SCOPED + "  policy:\n    max_deletes: {value: 1, level: warning}\n",
                  ext=tuple(load_file(str(ext))))
    assert all(on for _, on in policy.in_force(config.policy))  # neither covers the other: both checked


def test_a_bad_policy_file_is_located_in_that_file(tmp_path):
    ext = tmp_path / "p.yaml"
    ext.write_text("allowed_models: phoenix-4\nmax_creats: 1\n")
    with pytest.raises(ConfigError) as e:
        load_file(str(ext))
    assert e.value.diagnostics == [
        f"{ext}:1:17: allowed_models must be a list of patterns, or {{value: ..., level: warning}} for a soft rule, "
        "not 'phoenix-4'",
        f"{ext}:2:1: unknown field 'max_creats' (did you mean 'max_creates'?)"]
    ext.write_text("policy:\n  max_creates: 1\n")  # the same keys under `policy:` are accepted too
    assert [r.name for r in load_file(str(ext))] == ["max_creates"]


# ------------------------------------------------------------------------------------------- converse


def test_no_billable_conversation_refuses_converse_in_ci_or_always():
    ci = load("  policy:\n    no_billable_conversation: true\n")
    assert policy.converse_refusal(ci, {})[0] == []
    assert policy.converse_refusal(ci, {"CI": "false"})[0] == []
    (e,) = policy.converse_refusal(ci, {"CI": "true"})[0]
    assert e.startswith(f"{F}:4:5: policy no_billable_conversation") and "in CI" in e
    always = load("  policy:\n    no_billable_conversation: always\n")
    assert policy.converse_refusal(always, {})[0]


# ------------------------------------------------------------------------------------------- documents


def test_the_policy_section_validates_and_survives_show():
    config = load(SCOPED + "  policy:\n    max_deletes: 0\n", synthetic("acme-a"))
    plan = checked(config, remote("acme-a", "acme-x"))
    doc = json.loads(render.plan_json(plan, file=F))
    jsonschema.validate(doc, schema("plan.schema.json"))
    assert doc["policy"]["rules"] == [{"name": "max_deletes", "value": 0, "level": "error",
                                       "source": "settings.policy", "where": f"{F}:7:5", "in_force": True}]
    assert render.plan_document(plan_from_document(doc), file=F) == doc


def test_the_settings_schema_knows_every_rule():
    props = schema("replicas.schema.json")["$defs"]["policy"]["properties"]
    assert set(props) == set(policy.RULES)


# ------------------------------------------------------------------------------------------- rego (conftest)


def test_the_example_rego_policy_reads_the_plan_json():
    """examples/policy/plan.rego, evaluated by a Rego interpreter (regorus, through opa-eval: neither conftest nor
    opa is on the package registries) on plan documents this version writes."""
    opa_eval = pytest.importorskip("opa_eval")
    deny = opa_eval.OpaEval(str(ROOT / "examples" / "policy" / "plan.rego"), query="data.main.deny")

    config = load(SCOPED, synthetic("acme-0", model="phoenix-4"))
    ok = render.plan_json(checked(config, remote("acme-0", "acme-x")), file=F)
    assert deny.evaluate_parsed(ok) == []
    whole = load("  prune: true\n  scope:\n    whole_account: true\n", synthetic("a", "b", model="phoenix-3"))
    bad = render.plan_json(checked(whole, remote("x", "y", "z", "w", "v"), allow=True), file=F)
    assert sorted(deny.evaluate_parsed(bad)) == [
        "a mass change was allowed by --allow-mass-change",
        "a: model_name phoenix-3, not phoenix-4",
        "b: model_name phoenix-3, not phoenix-4",
        "replicas the plan deletes: 5, allowed: 2",
        "settings.scope.whole_account is not allowed here: set a name_prefix",
    ]


def test_an_empty_or_list_policy_file_says_what_a_policy_file_is(tmp_path):
    for text in ("", "- max_deletes\n"):
        ext = tmp_path / "p.yaml"
        ext.write_text(text)
        with pytest.raises(ConfigError) as e:
            load_file(str(ext))
        assert e.value.diagnostics == [f"{ext}:1:1: a policy file is a mapping of rules (the keys of "
                                       "settings.policy), e.g. max_deletes: 3"]


def test_a_saved_plan_keeps_the_policy_file_rules_for_apply(tmp_path):
    ext = tmp_path / "platform.yaml"
    ext.write_text("max_deletes: 1\nnever_prune: [personas]\n")
    config = load(SCOPED + "  policy:\n    max_creates: 2\n", ext=tuple(load_file(str(ext))))
    doc = json.loads(render.plan_json(checked(config, []), file=F))
    assert policy.saved_rules(doc) == tuple(load_file(str(ext)))  # not the file's own rule
    doc["policy"]["rules"][1]["value"] = "all"  # a hand-edited saved plan: the bad value is dropped
    assert [r.name for r in policy.saved_rules(doc)] == ["never_prune"]


def test_the_plan_rules_name_each_kind_by_its_noun():
    """A change of another kind (documents) is named by that kind's noun, never as a replica (issue 26)."""
    import dataclasses

    from reconciler.engine.models import Action, Change, Plan

    config = load(SCOPED + "  policy:\n    max_creates: 0\n    never_prune: [replicas, documents]\n")
    plan = Plan(changes=(Change(Action.CREATE, "acme-a", "new", kind="replicas"),
                         Change(Action.CREATE, "acme-faq", "new", kind="documents"),
                         Change(Action.DELETE, "acme-old", "prune", object_id="d1", kind="documents")))
    found = [f.message for f in policy.check_plan(dataclasses.replace(config), plan)]
    assert any("the plan would create 2 object(s) (acme-a, document acme-faq)" in m for m in found)
    assert any("prune would delete the document acme-old (d1): documents are never pruned" in m for m in found)
