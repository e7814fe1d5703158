"""Safety rails and policy (issue 28) end to end: every rule refuses in `plan` and in `apply` before any write,
and a refused apply sends zero write requests (the simulator's request log)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from e2e import cli_env, names_on, replicas_file, run_cli, write

from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def writes(sim, since: int = 0) -> list[tuple[str, str]]:
    """Every request that could change the account (anything but a read), after the ``since``-th request."""
    return [(r["method"], r["path"]) for r in sim.requests[since:] if r["method"] not in ("GET", "HEAD")]


def _synthetic(sim, names, model=None) -> str:
    m = f"    model_name: {model}\n" if model else ""
    return "".join(f"  - name: {n}\n    train_video_url: {sim.video_url(n + '.mp4')}\n    synthetic: true\n{m}"
                   for n in names)


def _scenario(rule: str, sim, tmp_path) -> tuple[str, tuple[str, ...], str]:
    """(file, extra flags, the text the refusal line holds) for one rule."""
    head = "version: 1\nsettings:\n  prune: {prune}\n  scope:\n    name_prefix: acme-\n  mass_change:\n" \
           "    max_percent: {pct}\n  policy:\n{policy}replicas:\n"
    for i in range(4):
        sim.add_replica(replica_name=f"acme-old-{i}", status="completed")
    if rule == "mass_change":  # 4 of the 5 replicas in scope deleted: over 30%
        f = replicas_file(tmp_path, sim, ["acme-keep"], prune=True)
        sim.add_replica(replica_name="acme-keep", status="completed")
        return f, (), "mass change refused: the plan would delete 4 of the 5 replicas"
    if rule == "prune_scope":  # --prune on a file without a scope: every undeclared replica on the account
        f = write(tmp_path, "version: 1\nreplicas:\n" + _synthetic(sim, ["acme-keep"]))
        return f, ("--prune",), "--prune needs a scope"
    policies = {
        "allowed_models": ("    allowed_models: [\"phoenix-4*\"]\n", _synthetic(sim, ["acme-new"], "phoenix-3"), False),
        "require_consent_video": ("    require_consent_video: true\n",
                                  f"  - name: acme-anna\n    train_video_url: {sim.video_url('anna.mp4')}\n"
                                  "    consent_in_training_video: true\n", False),
        "max_creates": ("    max_creates: 1\n", _synthetic(sim, ["acme-a", "acme-b"]), False),
        "max_deletes": ("    max_deletes: 2\n", "", True),
        "max_replaces": ("    max_replaces: 1\n", "", False),
        "never_prune": ("    never_prune: [replicas]\n", "", True),
    }
    policy, entries, prune = policies[rule]
    if rule == "max_replaces":
        entries = _synthetic(sim, [f"acme-old-{i}" for i in range(4)], "phoenix-3")  # the sim's are phoenix-4
    text = head.format(prune=str(prune).lower(), pct=100, policy=policy) + (entries or "  []\n")
    return write(tmp_path, text), (), f"policy {rule}"


RULES = ["mass_change", "prune_scope", "allowed_models", "require_consent_video", "max_creates", "max_deletes",
         "max_replaces", "never_prune"]


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_refuses_in_plan_and_apply_and_a_refused_apply_sends_no_write(sim, tmp_path, rule):
    f, flags, needle = _scenario(rule, sim, tmp_path)
    before_names, start = names_on(sim), len(sim.requests)
    planned = run_cli(sim, "plan", f, *flags)
    assert planned.code == 1 and needle in planned.out, planned.all
    doc = json.loads(run_cli(sim, "plan", f, *flags, "--format", "json").out)
    jsonschema.validate(doc, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert any(needle in e for e in doc["errors"])
    assert needle in run_cli(sim, "plan", f, *flags, "--format", "markdown").out.replace("\\_", "_")
    applied = run_cli(sim, "apply", f, *flags, "--auto-approve")
    assert applied.code == 1 and "nothing was changed" in applied.err, applied.all
    assert writes(sim, start) == [] and names_on(sim) == before_names  # zero write requests
    if rule == "mass_change":
        assert applied.err.splitlines()[0].startswith("error: mass change refused: the plan would delete 4 of the 5")


@pytest.mark.parametrize("rule", ["llm_base_urls", "llm_keys_from_env"])
def test_persona_llm_rules_refuse_before_any_write(sim, tmp_path, rule):
    f = write(tmp_path, f"""\
        version: 1
        settings:
          scope:
            name_prefix: acme-
          policy:
            llm_base_urls: ["https://llm.example.com/*"]
            llm_keys_from_env: true
        replicas: []
        personas:
          - name: acme-bot
            system_prompt: Hello.
            layers:
              llm:
                model: mine
                base_url: {"https://evil.example.com/v1" if rule == "llm_base_urls" else "https://llm.example.com/v1"}
                api_key: ${{LLM_KEY}}
                headers:
                  X-Token: {"${LLM_KEY}" if rule == "llm_base_urls" else "written-in-the-file"}
        """)
    env = cli_env(sim, LLM_KEY="k-123456789")
    offline = run_cli(sim, "validate", f, env=env)
    assert offline.code == 1 and f"policy {rule}" in offline.err, offline.all
    start = len(sim.requests)
    applied = run_cli(sim, "apply", f, "--auto-approve", env=env)
    assert applied.code == 1 and f"policy {rule}" in applied.out, applied.all
    assert writes(sim, start) == [] and not [p for p in sim_personas.personas(sim) if p["persona_name"] == "acme-bot"]


def test_no_billable_conversation_refuses_converse_in_ci_before_any_request(sim, tmp_path):
    f = write(tmp_path, "version: 1\nsettings:\n  policy:\n    no_billable_conversation: true\nreplicas:\n"
              + _synthetic(sim, ["bot"]))
    sim.add_replica(replica_name="bot", status="completed")
    start = len(sim.requests)
    refused = run_cli(sim, "converse", f, "bot", "--yes", env=cli_env(sim, CI="true"))  # --yes: policy still wins
    assert refused.code == 1 and "policy no_billable_conversation" in refused.err, refused.all
    assert "nothing was sent" in refused.err and sim.requests[start:] == []  # not even a listing
    env = {k: v for k, v in cli_env(sim).items() if k != "CI"}
    # outside CI the policy lets it through
    assert run_cli(sim, "converse", f, "bot", "--yes", env=env).code == 0, "converse"


def test_a_platform_policy_file_applies_and_the_plan_says_who_set_each_rule(sim, tmp_path):
    ext = write(tmp_path, "max_creates: 1\n", name="platform-policy.yaml")
    f = write(tmp_path, "version: 1\nsettings:\n  policy:\n    max_creates: 5\nreplicas:\n"
              + _synthetic(sim, ["a", "b"]))
    start = len(sim.requests)
    planned = run_cli(sim, "plan", f, "--policy", ext)
    assert planned.code == 1 and f"{ext}:1:1: policy max_creates ({ext}): the plan would create 2" in planned.out
    assert f"max_creates 5 from settings.policy at {f}:4:5 (overridden: stricter elsewhere)" in planned.out
    applied = run_cli(sim, "apply", f, "--auto-approve", env=cli_env(sim, TAVUS_POLICY_FILE=ext))
    assert applied.code == 1 and writes(sim, start) == []
    offline = run_cli(sim, "validate", "--policy-only", "--policy", ext, f)
    assert offline.code == 0 and f"policy max_creates = 1, from {ext}:1:1: checked by plan and apply" in offline.out


def test_an_allowed_mass_change_is_recorded_in_the_saved_plan_and_applied_from_it(sim, tmp_path):
    for i in range(4):
        sim.add_replica(replica_name=f"acme-old-{i}", status="completed")
    sim.add_replica(replica_name="acme-keep", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-keep"], prune=True)
    saved = str(tmp_path / "release.plan")
    made = run_cli(sim, "plan", f, "--allow-mass-change", "--out", saved)
    assert made.code == 0 and "Mass change allowed by --allow-mass-change." in made.out, made.all
    shown = json.loads(run_cli(sim, "show", saved, "--format", "json").out)
    assert shown["options"]["allow_mass_change"] is True and shown["mass_change"]["allowed_by"] == "--allow-mass-change"
    applied = run_cli(sim, "apply", saved)
    assert applied.code == 0, applied.all
    assert names_on(sim) == ["acme-keep"]


def test_prune_without_a_scope_in_the_file_is_refused_before_any_request(sim, tmp_path):
    sim.add_replica(replica_name="team-b-bot", status="completed")  # another team's replica on the same account
    f = write(tmp_path, "version: 1\nsettings:\n  prune: true\nreplicas:\n" + _synthetic(sim, ["acme-a"]))
    start = len(sim.requests)
    for args in (("validate", f), ("plan", f), ("apply", f, "--auto-approve")):
        res = run_cli(sim, *args)
        assert res.code == 1 and f"{f}:3:10: settings.prune: true needs a scope" in res.err, res.all
    assert sim.requests[start:] == [] and names_on(sim) == ["team-b-bot"]
    whole = write(tmp_path, "version: 1\nsettings:\n  prune: true\n  scope: {whole_account: true}\nreplicas:\n"
                  + _synthetic(sim, ["acme-a"]))
    for fmt, head in (("text", "Scope: the WHOLE ACCOUNT"), ("markdown", "**Scope: the WHOLE ACCOUNT"),
                      ("json", '"whole_account": true')):
        planned = run_cli(sim, "plan", whole, "--format", fmt)
        assert planned.code == 0 and head in planned.out and "- delete" * (fmt == "text") in planned.out
