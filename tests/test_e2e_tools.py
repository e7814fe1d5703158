"""Tools and pronunciation dictionaries (issue 27) from validate to apply, through the real CLI against the
simulator: located errors, create / update in place / prune in a scope / unmanaged / no change on the second
plan, secrets never printed (masked by GET: not compared, ``--resend`` sends them), a lost create answer
never duplicated, and every kind's listing concurrent with the others."""

from __future__ import annotations

import json
import threading

import pytest
from e2e import api_requests, cli_env, run_cli, write

from reconciler.kinds.pronunciation_dictionaries import sim as sim_pds
from reconciler.kinds.tools import sim as sim_tools

pytestmark = pytest.mark.e2e

TOKEN = "hr-token-e2e-0123456789"


def _file(tmp_path, *, description="Look a candidate up by email.", rules="{text: Tavus, pronunciation: TAH-vus, "
          "type: alias}", prune=False, extra_tools="", top=""):
    return write(tmp_path, f"""\
version: 1
replicas: []
settings:
  prune: {str(prune).lower()}
  scope:
    name_prefix: "acme-"
{top}pronunciation_dictionaries:
  - name: acme-terms
    rules: [{rules}]
tools:
  - name: acme_lookup_candidate
    description: {description}
    parameters: {{type: object, properties: {{email: {{type: string}}}}}}
    delivery: {{api: {{url: "https://hr.example.com/lookup", method: POST,
                      auth: {{type: bearer, token: "${{HR_TOKEN}}"}}}}}}
{extra_tools}""", name="account.yaml")


def _run(sim, *args, token=TOKEN, **env):
    return run_cli(sim, *args, env=cli_env(sim, HR_TOKEN=token, **env))


def _apply(sim, path, *extra, token=TOKEN):
    return _run(sim, "apply", path, "--auto-approve", "--skip-url-check", *extra, token=token)


def test_validate_errors_are_located_lines_and_never_echo_a_literal_secret(sim, tmp_path):
    path = write(tmp_path, """\
version: 1
replicas: []
tools:
  - name: acme-lookup
    delivery: {api: {url: "http://hr.example.com", auth: {type: bearer, token: literal-secret-value}}}
pronunciation_dictionaries:
  - name: acme-terms
    rules: [{text: a, pronunciation: b, type: alias}, {text: a, pronunciation: c, type: alias}]
""")
    res = run_cli(sim, "validate", path)
    assert res.code != 0 and "Traceback" not in res.all
    lines = res.err.strip().splitlines() or res.out.strip().splitlines()
    assert any(":4:11: tools[0]: tool name 'acme-lookup' is not a function name" in line for line in lines)
    assert any(":5:27: tools[0]: delivery.api.url must be an https:// URL" in line for line in lines)
    assert any(":5:80: tools[0]: delivery.api.auth.token must be written as ${VAR}" in line for line in lines)
    assert any(":8:62: acme-terms: rule text 'a' is already declared at line 8" in line for line in lines)
    assert "literal-secret-value" not in res.all


def test_create_then_no_change_secrets_masked_everywhere(sim, tmp_path):
    path = _file(tmp_path)
    outputs = [_run(sim, "plan", path, "--format", fmt) for fmt in ("text", "json", "markdown")]
    assert all(o.code == 0 for o in outputs), outputs[0].all
    assert "create tool acme_lookup_candidate" in outputs[0].out and "token: \"********\"" in outputs[0].out
    assert "create pronunciation dictionary acme-terms" in outputs[0].out
    first = _apply(sim, path)
    assert first.code == 0, first.all
    (tool,) = sim_tools.tools(sim)
    assert tool["delivery"]["api"]["auth"]["token"] == TOKEN  # sent in clear, as declared
    (pd,) = sim_pds.dictionaries(sim)
    assert pd["rules"][0]["text"] == "Tavus"
    again = _run(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all  # never flaps on the masked token
    assert "acme_lookup_candidate: delivery.api.auth.token" in again.out  # ...and says it could not compare it
    for res in (*outputs, first, again):
        assert TOKEN not in res.all


def test_update_in_place_sends_only_what_changed(sim, tmp_path):
    assert _apply(sim, _file(tmp_path)).code == 0
    sim.reset_requests()
    path = _file(tmp_path, description="Look a candidate up, fast.",
                 rules="{text: Tavus, pronunciation: TAY-vus, type: alias}, {text: Acme, pronunciation: AK-mee, "
                       "type: alias}")
    plan = _run(sim, "plan", path)
    assert plan.code == 0 and "update in place tool acme_lookup_candidate" in plan.out, plan.all
    assert '~ rules: "1 rule(s)" -> "2 rule(s): +1 -0 ~1 (Acme, Tavus)"' in plan.out
    res = _apply(sim, path)
    assert res.code == 0, res.all
    (tool,) = sim_tools.tools(sim)
    assert tool["description"] == "Look a candidate up, fast." and tool["delivery"]["api"]["auth"]["token"] == TOKEN
    assert sorted(r["text"] for r in sim_pds.dictionaries(sim)[0]["rules"]) == ["Acme", "Tavus"]
    patches = api_requests(sim, "PATCH", "/v2/")
    assert sorted(r["path"].split("/")[2] for r in patches) == ["pronunciation-dictionaries", "tools"]
    assert not api_requests(sim, "POST", "/v2/") and not api_requests(sim, "DELETE", "/v2/")
    assert _run(sim, "plan", path, "--detailed-exitcode").code == 0


def test_a_changed_secret_is_sent_only_with_resend(sim, tmp_path):
    path = _file(tmp_path)
    assert _apply(sim, path).code == 0
    rotated = "hr-token-rotated-987654321"
    quiet = _run(sim, "plan", path, "--detailed-exitcode", token=rotated)
    assert quiet.code == 0, quiet.all  # masked by GET: a rotated token cannot be seen
    plan = _run(sim, "plan", path, "--resend", "acme_lookup_candidate", token=rotated)
    assert "--resend: attributes the API does not return are sent" in plan.out, plan.all
    res = _apply(sim, path, "--resend", "acme_lookup_candidate", token=rotated)
    assert res.code == 0, res.all
    assert sim_tools.tools(sim)[0]["delivery"]["api"]["auth"]["token"] == rotated
    assert rotated not in plan.all + res.all
    unknown = _run(sim, "plan", path, "--resend", "acme_nope")
    assert unknown.code != 0 and "--resend acme_nope: nothing of that name is declared" in unknown.all


def test_unmanaged_then_pruned_in_scope_only(sim, tmp_path):
    sim_tools.add_tool(sim, name="acme_stale")
    sim_tools.add_tool(sim, name="other_team_tool")
    sim_pds.add_dictionary(sim, name="acme-stale-terms")
    sim_pds.add_dictionary(sim, name="other-terms")
    path = _file(tmp_path)
    plan = _run(sim, "plan", path)
    assert plan.code == 0 and "tools acme_stale" in plan.out and "acme-stale-terms" in plan.out, plan.all
    assert "other_team_tool" not in plan.out and "other-terms" not in plan.out
    res = _apply(sim, _file(tmp_path, prune=True))
    assert res.code == 0, res.all
    assert sorted(t["name"] for t in sim_tools.tools(sim)) == ["acme_lookup_candidate", "other_team_tool"]
    assert sorted(d["name"] for d in sim_pds.dictionaries(sim)) == ["acme-terms", "other-terms"]
    assert _run(sim, "plan", _file(tmp_path, prune=True), "--detailed-exitcode").code == 0


def test_a_lost_create_answer_is_adopted_never_sent_twice(sim, tmp_path):
    sim.set_faults(drop_create_response=1.0)
    res = run_cli(sim, "apply", _file(tmp_path), "--auto-approve", "--skip-url-check",
                  env=cli_env(sim, HR_TOKEN=TOKEN, TAVUS_CREATE_SETTLE_SECONDS="1", TAVUS_TIMEOUT_SECONDS="2"))
    sim.set_faults(drop_create_response=0.0)
    assert res.code == 0, res.all
    assert [t["name"] for t in sim_tools.tools(sim)] == ["acme_lookup_candidate"]
    assert [d["name"] for d in sim_pds.dictionaries(sim)] == ["acme-terms"]
    assert len(api_requests(sim, "POST", "/v2/tools")) == 1
    assert len(api_requests(sim, "POST", "/v2/pronunciation-dictionaries")) == 1


def test_every_kinds_listing_goes_out_concurrently(sim, tmp_path, monkeypatch):
    """Each listing is held at the simulator until every kind's first page has arrived: listings sent one after
    the other would never all arrive (the gate gives up after its deadline and the test fails)."""
    from reconciler.sim import routes

    kinds = {"replicas", "personas", "pronunciation-dictionaries", "tools"}  # personas: what they hold is kept
    arrived: set[str] = set()
    gate = threading.Condition()
    opened: list[bool] = []
    real = routes._route

    def held(s, h, method, path, query, body):
        parts = [p for p in path.split("/") if p]
        if method == "GET" and len(parts) == 2 and parts[1] in kinds:
            with gate:
                arrived.add(parts[1])
                gate.notify_all()
                opened.append(gate.wait_for(lambda: arrived >= kinds, timeout=20))
        return real(s, h, method, path, query, body)

    monkeypatch.setattr(routes, "_route", held)
    res = _run(sim, "plan", _file(tmp_path))
    assert res.code == 0, res.all
    assert arrived == kinds and opened and all(opened), f"listings arrived one by one: {arrived} {opened}"
    order = [r["path"] for r in sim.requests if r["method"] == "GET"]
    assert {p.split("/")[2] for p in order[:4]} == kinds


def test_plan_json_carries_the_kinds(sim, tmp_path):
    plan = json.loads(_run(sim, "plan", _file(tmp_path), "--format", "json").out)
    kinds = {c["kind"] for c in plan["changes"]}
    assert kinds == {"tools", "pronunciation_dictionaries"}
    assert TOKEN not in json.dumps(plan)


def test_replace_on_request_and_removed_releases_without_deleting(sim, tmp_path):
    path = _file(tmp_path)
    assert _apply(sim, path).code == 0
    (old_tool,), (old_pd,) = sim_tools.tools(sim), sim_pds.dictionaries(sim)
    res = _apply(sim, path, "--replace", "acme_lookup_candidate", "--replace", "acme-terms")
    assert res.code == 0, res.all
    (new_tool,), (new_pd,) = sim_tools.tools(sim), sim_pds.dictionaries(sim)
    assert new_tool["tool_id"] != old_tool["tool_id"] and new_pd["pronunciation_dictionary_id"] != old_pd[
        "pronunciation_dictionary_id"]
    assert new_tool["delivery"]["api"]["auth"]["token"] == TOKEN and TOKEN not in res.all
    released = write(tmp_path, """\
version: 1
replicas: []
settings:
  prune: true
  scope:
    name_prefix: "acme-"
removed: [acme_lookup_candidate, acme-terms]
pronunciation_dictionaries:
  - name: acme-other
tools:
  - name: acme_other
""", name="released.yaml")
    plan = _run(sim, "plan", released)
    assert plan.code == 0 and "- delete" not in plan.out, plan.all
    assert _apply(sim, released).code == 0
    assert sorted(t["name"] for t in sim_tools.tools(sim)) == ["acme_lookup_candidate", "acme_other"]
    assert sorted(d["name"] for d in sim_pds.dictionaries(sim)) == ["acme-other", "acme-terms"]


def test_status_output_and_export_include_the_kinds(sim, tmp_path):
    path = _file(tmp_path)
    assert _apply(sim, path).code == 0
    (tool,), (pd,) = sim_tools.tools(sim), sim_pds.dictionaries(sim)
    status = _run(sim, "status", path)
    assert status.code == 0 and f"acme_lookup_candidate  {tool['tool_id']}" in status.out, status.all
    assert f"acme-terms  {pd['pronunciation_dictionary_id']}" in status.out
    rows = json.loads(_run(sim, "status", path, "--format", "json").out)["objects"]
    assert {(r["kind"], r["id"]) for r in rows} == {("tools", tool["tool_id"]),
                                                   ("pronunciation_dictionaries", pd["pronunciation_dictionary_id"])}
    env = _run(sim, "output", path, "--format", "env")
    assert f"TAVUS_TOOL_ACME_LOOKUP_CANDIDATE={tool['tool_id']}" in env.out, env.all
    assert f"TAVUS_PRONUNCIATION_DICTIONARY_ACME_TERMS={pd['pronunciation_dictionary_id']}" in env.out
    exported = tmp_path / "exported.yaml"
    res = _run(sim, "export", "--name-prefix", "acme-", "-o", str(exported))
    assert res.code == 0 and "${ACME_LOOKUP_CANDIDATE_TOKEN}" in res.err, res.all
    assert TOKEN not in exported.read_text() + res.all
    again = run_cli(sim, "plan", str(exported), "--detailed-exitcode",
                    env=cli_env(sim, ACME_LOOKUP_CANDIDATE_TOKEN=TOKEN))
    assert again.code == 0 and "No changes" in again.out, again.all  # adopted: pinned by id, nothing to do


def test_a_file_of_tools_only(sim, tmp_path):
    text = "version: 1\ntools:\n  - name: lookup_candidate\n    description: Look it up.\n"
    path = write(tmp_path, text, name="t.yaml")
    assert run_cli(sim, "validate", path).code == 0
    assert run_cli(sim, "apply", path, "--auto-approve").code == 0
    assert [t["name"] for t in sim_tools.tools(sim)] == ["lookup_candidate"]
    again = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all


def test_prune_never_deletes_a_tool_or_dictionary_a_persona_holds(sim, tmp_path):
    from reconciler.kinds.personas import sim as sim_personas

    held_tool = sim_tools.add_tool(sim, name="acme_held")["tool_id"]
    held_pd = sim_pds.add_dictionary(sim, name="acme-held-terms")["pronunciation_dictionary_id"]
    sim_personas.add_persona(sim, persona_name="someone-elses", system_prompt="x", tool_ids=[held_tool],
                             layers={"tts": {"pronunciation_dictionary_id": held_pd}})
    res = _apply(sim, _file(tmp_path, prune=True))
    assert res.code == 0, res.all
    assert "acme_held" in {t["name"] for t in sim_tools.tools(sim)}
    assert "acme-held-terms" in {d["name"] for d in sim_pds.dictionaries(sim)}
    assert "references it: kept, not pruned" in res.all
