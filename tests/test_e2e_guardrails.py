"""Guardrails and objectives through the real CLI against the simulator (issue 27): validate errors, plan
(create, update in place, prune in scope, unmanaged), apply, a second plan with no changes, the documented
listing quirks (legacy=false, pages from 0, ids in uuid), never a legacy set touched."""

from __future__ import annotations

import json

import jsonschema
import pytest
from e2e import api_requests, cli_env, run_cli, write

from reconciler.engine.validation import load_schema
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.objectives import sim as osim

pytestmark = pytest.mark.e2e


def _file(tmp_path, *, prompt="Never discuss salary or compensation.", objective="Ask about the last role.",
          extra="", prune=False):
    return write(tmp_path, f"""\
version: 1
settings:
  prune: {str(prune).lower()}
  scope:
    name_prefix: "acme-"
replicas: []
guardrails:
  - name: acme_no_salary
    guardrail_prompt: "{prompt}"
    modality: verbal
    tags: [hiring]
objectives:
  - name: acme-screening
    data:
      - objective_name: ask_experience
        objective_prompt: "{objective}"
        confirmation_mode: auto
        next_required_objective: ask_salary
      - objective_name: ask_salary
        objective_prompt: Ask for the expected salary.
{extra}""")


def _apply(sim, path, *extra, env=None):
    return run_cli(sim, "apply", path, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", *extra,
                   env=env)


def test_validate_reports_located_errors_with_fixes(sim, tmp_path):
    path = write(tmp_path, """\
version: 1
replicas: []
guardrails:
  - name: acme-no-salary
    guardrail_prompt: x
objectives:
  - name: acme-screening
    data:
      - objective_name: ask_experience
        objective_prompt: Ask.
        next_required_objective: ask_salry
      - objective_name: ask_salary
        objective_prompt: Ask.
""")
    r = run_cli(sim, "validate", path)
    assert r.code == 1, r.all
    assert f"{path}:4:11: guardrails[0]: name 'acme-no-salary' may hold only letters, digits and _ " in r.err
    assert "e.g. 'acme_no_salary'" in r.err
    assert f"{path}:11:34: acme-screening: data[0]: 'ask_salry' is not an objective of this set (did you mean " \
           "'ask_salary'?)" in r.err
    assert "Traceback" not in r.all


def test_create_then_no_changes_then_one_patch_per_edit(sim, tmp_path):
    path = _file(tmp_path)
    plan = run_cli(sim, "plan", path)
    assert plan.code == 0, plan.all
    assert "+ create guardrail acme_no_salary" in plan.out and "+ create objectives set acme-screening" in plan.out
    first = _apply(sim, path)
    assert first.code == 0, first.all
    (g,) = gsim.guardrails(sim)
    assert g["guardrail_name"] == "acme_no_salary" and g["tags"] == ["hiring"] and g["uuid"].startswith("g")
    (o,) = osim.objectives(sim)
    assert o["name"] == "acme-screening" and len(o["data"]) == 2

    again = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all  # never flaps

    sim.reset_requests()
    edited = _file(tmp_path, prompt="Never discuss pay.", objective="Ask about the last two roles.")
    shown = run_cli(sim, "plan", edited, "--format", "json")
    doc = json.loads(shown.out)
    jsonschema.validate(doc, load_schema("plan.schema.json"))
    assert [(c["kind"], c["action"]) for c in doc["changes"]] == [("guardrails", "update"), ("objectives", "update")]
    assert _apply(sim, edited).code == 0
    patches = [r for r in sim.requests if r["method"] == "PATCH"]
    assert [p["path"].split("/")[2] for p in patches] == ["guardrails", "objectives"]  # one PATCH each
    assert gsim.guardrails(sim)[0]["guardrail_prompt"] == "Never discuss pay."
    assert osim.objectives(sim)[0]["data"][0]["objective_prompt"] == "Ask about the last two roles."
    assert run_cli(sim, "plan", edited, "--detailed-exitcode").code == 0


def test_listing_says_legacy_false_and_pages_from_zero_and_never_touches_a_legacy_set(sim, tmp_path):
    gsim.add_legacy_set(sim, "acme_set", [{"guardrail_name": "acme_in_set", "guardrail_prompt": "p"}])
    path = _file(tmp_path, prune=True)
    assert _apply(sim, path).code == 0
    listings = api_requests(sim, "GET", "/v2/guardrails")
    assert listings and all(r["query"].get("legacy") == "false" for r in listings)
    assert {r["query"].get("page") for r in listings} == {"0"}
    assert [r["query"].get("page") for r in api_requests(sim, "GET", "/v2/objectives")][:1] == ["1"]
    assert [s["name"] for s in gsim.legacy_sets(sim)] == ["acme_set"]
    assert not api_requests(sim, "DELETE", "/v2/guardrails")


def test_prune_deletes_only_in_scope_and_without_prune_they_are_unmanaged(sim, tmp_path):
    gsim.add_guardrail(sim, guardrail_name="acme_old", guardrail_prompt="old")
    gsim.add_guardrail(sim, guardrail_name="beta_other", guardrail_prompt="theirs")
    osim.add_objectives(sim, "acme-old-set", [{"objective_name": "a", "objective_prompt": "p"}])
    path = _file(tmp_path)
    plan = run_cli(sim, "plan", path)
    assert "Unmanaged objects" in plan.out and "acme_old" in plan.out and "acme-old-set" in plan.out
    assert "beta_other" not in plan.out  # out of scope: not even shown
    pruned = _apply(sim, path, "--prune")
    assert pruned.code == 0, pruned.all
    assert sorted(g["guardrail_name"] for g in gsim.guardrails(sim)) == ["acme_no_salary", "beta_other"]
    assert [o["name"] for o in osim.objectives(sim)] == ["acme-screening"]


def test_prune_keeps_a_guardrail_that_a_persona_on_the_account_still_uses(sim, tmp_path):
    """Tavus's DELETE would silently detach it from that persona (which the file does not manage): prune keeps
    it and says why, until the reference is re-pointed (contract 1: never a delete nobody asked for)."""
    from reconciler.kinds.personas import sim as psim

    old = gsim.add_guardrail(sim, guardrail_name="acme_old", guardrail_prompt="old")
    psim.add_persona(sim, persona_name="someone-elses", system_prompt="x", guardrail_ids=[old["uuid"]])
    pruned = _apply(sim, _file(tmp_path), "--prune")
    assert pruned.code == 0 and "references it: kept, not pruned" in pruned.all, pruned.all
    assert old["uuid"] in {g["uuid"] for g in gsim.guardrails(sim)}
    assert psim.personas(sim)[0]["guardrail_ids"] == [old["uuid"]]


def test_requests_for_a_plan_over_many_guardrails_and_objectives(sim, tmp_path):
    for i in range(1000):
        gsim.add_guardrail(sim, guardrail_name=f"other_{i}", guardrail_prompt="p")
        osim.add_objectives(sim, f"other-{i}", [{"objective_name": "a", "objective_prompt": "p"}])
    sim.reset_requests()
    assert run_cli(sim, "plan", _file(tmp_path)).code == 0
    g, o = api_requests(sim, "GET", "/v2/guardrails"), api_requests(sim, "GET", "/v2/objectives")
    assert len(g) == 10 and len(o) == 10  # 1,000 objects of each kind: 10 pages of 100, nothing else


def test_plan_check_asks_the_api_to_validate_each_set_it_would_create_or_change(sim, tmp_path):
    with open(_file(tmp_path)) as f:
        looped = f.read().replace("objective_prompt: Ask for the expected salary.",
                                  "objective_prompt: Ask for the expected salary.\n"
                                  "        next_required_objective: ask_experience")
    path = write(tmp_path, looped, name="looped.yaml")
    plain = run_cli(sim, "plan", path)
    assert plain.code == 0 and "the objectives loop" in plain.all  # a warning: only the API can say
    assert not api_requests(sim, "POST", "/v2/objectives/validate")  # no check without --check
    checked = run_cli(sim, "plan", path, "--check", "--format", "json")
    assert checked.code == 1, checked.all
    doc = json.loads(checked.out)
    jsonschema.validate(doc, load_schema("plan.schema.json"))
    assert doc["checked"] == [{"kind": "objectives", "name": "acme-screening"}]
    assert any(e.startswith("objectives set acme-screening: the API refuses it (--check): ") and "loop" in e
               for e in doc["errors"])
    assert len(api_requests(sim, "POST", "/v2/objectives/validate")) == 1 and osim.objectives(sim) == []
    ok = run_cli(sim, "plan", _file(tmp_path), "--check")
    assert ok.code == 0, ok.all


def test_removed_releases_an_object_never_deleted_even_with_prune(sim, tmp_path):
    gsim.add_guardrail(sim, guardrail_name="acme_old", guardrail_prompt="old")
    osim.add_objectives(sim, "acme-old-set", [{"objective_name": "a", "objective_prompt": "p"}])
    path = _file(tmp_path, prune=True, extra="removed: [acme_old, acme-old-set]\n")
    plan = run_cli(sim, "plan", path)
    assert plan.code == 0, plan.all
    assert "Released from management" in plan.out and "forget guardrail acme_old" in plan.out
    assert "- delete" not in plan.out
    doc = json.loads(run_cli(sim, "plan", path, "--format", "json").out)
    assert sorted(o["name"] for o in doc["forgotten_objects"]) == ["acme-old-set", "acme_old"]
    md = run_cli(sim, "plan", path, "--format", "markdown").out
    assert "Forget objects (2)" in md
    assert _apply(sim, path).code == 0
    assert "acme_old" in [g["guardrail_name"] for g in gsim.guardrails(sim)]
    assert "acme-old-set" in [o["name"] for o in osim.objectives(sim)]


def test_status_output_and_export_include_them(sim, tmp_path):
    path = _file(tmp_path)
    assert _apply(sim, path).code == 0
    (g,), (o,) = gsim.guardrails(sim), osim.objectives(sim)
    other = gsim.add_guardrail(sim, guardrail_name="acme_other", guardrail_prompt="hand-made")
    status = run_cli(sim, "status", path)
    assert status.code == 0, status.all
    assert "GUARDRAILS" in status.out and f"acme_no_salary  {g['uuid']}" in status.out
    assert f"acme_other  {other['uuid']} (unmanaged)" in status.out  # in scope, spelled the guardrail way
    doc = json.loads(run_cli(sim, "status", path, "--format", "json").out)
    jsonschema.validate(doc, load_schema("status.schema.json"))
    assert [r["id"] for r in doc["guardrails"] if r["managed"]] == [g["uuid"]]
    assert [r["id"] for r in doc["objectives"]] == [o["objectives_id"]]
    out = run_cli(sim, "output", path, "--format", "json")
    assert json.loads(out.out) == {"acme_no_salary": g["uuid"], "acme-screening": o["objectives_id"]}, out.all
    env = run_cli(sim, "output", path, "--format", "env").out
    assert f"TAVUS_GUARDRAIL_ACME_NO_SALARY={g['uuid']}" in env
    assert f"TAVUS_OBJECTIVES_SET_ACME_SCREENING={o['objectives_id']}" in env
    exported = tmp_path / "exported.yaml"
    r = run_cli(sim, "export", "--name-prefix", "acme-", "-o", str(exported))
    assert r.code == 0, r.all
    text = exported.read_text()
    assert f"guardrail_id: {g['uuid']}" in text and f"objectives_id: {o['objectives_id']}" in text
    assert f"guardrail_id: {other['uuid']}" in text
    again = run_cli(sim, "plan", str(exported), "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all  # the export adopts them as they are


@pytest.mark.parametrize("fault", [{"drop_create_response": 1.0}, {"gateway_504": 1.0}])
def test_a_lost_create_answer_never_makes_a_duplicate(sim, tmp_path, fault):
    path = _file(tmp_path)
    sim.set_faults(**fault)
    # a 504'd create lands 1-1.5 s later: the settle window must outlast it (the product's default is 30 s)
    first = _apply(sim, path, env=cli_env(sim, TAVUS_CREATE_SETTLE_SECONDS="3"))
    sim.set_faults()
    assert "Traceback" not in first.all
    rerun = _apply(sim, path)  # whatever the first run could tell, a re-run converges from the account alone
    assert rerun.code == 0, first.all + rerun.all
    assert [g["guardrail_name"] for g in gsim.guardrails(sim)] == ["acme_no_salary"]
    assert [o["name"] for o in osim.objectives(sim)] == ["acme-screening"]
    assert run_cli(sim, "plan", path, "--detailed-exitcode").code == 0


WIRED = """\
version: 1
settings:
  prune: true
  scope: {name_prefix: acme-}
guardrails:
  - name: acme_no_salary
    guardrail_prompt: Never discuss salary or compensation.
objectives:
  - name: acme-screening
    data:
      - objective_name: ask_experience
        objective_prompt: Ask about the candidate's last role.
personas:
  - name: acme-interviewer
    system_prompt: You interview candidates.
    guardrails: [acme_no_salary]
    objectives: acme-screening
"""


def test_a_persona_wired_by_name_and_the_diagram_of_the_plan(sim, tmp_path):
    from reconciler.kinds.personas import sim as psim

    path = write(tmp_path, WIRED)
    md = run_cli(sim, "plan", path, "--format", "markdown")
    assert md.code == 0, md.all
    block = md.out[md.out.index("```mermaid"):]
    assert '["persona: acme-interviewer"]:::new' in block and '["guardrail: acme_no_salary"]:::new' in block
    assert block.count(" --> ") == 2
    assert _apply(sim, path).code == 0
    (g,), (o,), (p,) = gsim.guardrails(sim), osim.objectives(sim), psim.personas(sim)
    assert p["guardrail_ids"] == [g["uuid"]] and p["objectives_id"] == o["objectives_id"]
    assert run_cli(sim, "plan", path, "--detailed-exitcode").code == 0
    assert "```mermaid" not in run_cli(sim, "plan", path, "--format", "markdown").out  # touches nothing


def test_prune_never_deletes_a_guardrail_a_declared_persona_cites_by_id(sim, tmp_path):
    from reconciler.kinds.personas import sim as psim

    kept = gsim.add_guardrail(sim, guardrail_name="acme_by_hand", guardrail_prompt="p")
    text = WIRED.replace("guardrails: [acme_no_salary]",
                         f"guardrails: [acme_no_salary]\n    guardrail_ids: [{kept['uuid']}]")
    path = write(tmp_path, text)
    applied = _apply(sim, path)
    assert applied.code == 0, applied.all
    assert kept["uuid"] in [g["uuid"] for g in gsim.guardrails(sim)]  # cited: never pruned
    assert kept["uuid"] in psim.personas(sim)[0]["guardrail_ids"]
