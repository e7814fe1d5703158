"""Personas from plan to apply (issue 17), through the real CLI against the simulator."""

from __future__ import annotations

import json

import jsonschema
import pytest
from e2e import api_requests, run_cli, write

from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e


def _file(tmp_path, sim, *, prompt="You interview candidates.", model="tavus-gpt-4o", extra_replica="",
          persona_extra=""):
    return write(tmp_path, f"""\
version: 1
settings:
  scope:
    name_prefix: "acme-"
replicas:
  - name: acme-anna
    train_video_url: {sim.video_url('anna.mp4')}
    synthetic: true
{extra_replica}personas:
  - name: acme-interviewer
    default_replica: acme-anna
    system_prompt: "{prompt}"
    pipeline_mode: full
    document_tags: [hiring]
    layers:
      llm: {{model: {model}, speculative_inference: true}}
      conversational_flow: {{turn_detection_model: sparrow-1}}
{persona_extra}""")


def _apply(sim, path, *extra):
    return run_cli(sim, "apply", path, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", *extra)


def test_persona_created_after_its_replica_then_one_patch_per_prompt_edit(sim, tmp_path):
    path = _file(tmp_path, sim)
    plan = run_cli(sim, "plan", path)
    assert plan.code == 0, plan.all
    assert "persona acme-interviewer" in plan.out and "(known after apply: acme-anna)" in plan.out

    first = _apply(sim, path)
    assert first.code == 0, first.all
    personas = sim_personas.personas(sim)
    assert len(personas) == 1 and personas[0]["persona_name"] == "acme-interviewer"
    (replica,) = sim.replicas()
    assert personas[0]["default_replica_id"] == replica["replica_id"]  # the replica created in the same apply
    assert personas[0]["layers"]["llm"]["model"] == "tavus-gpt-4o"

    again = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all  # never flaps

    edited = _file(tmp_path, sim, prompt="You interview senior candidates.", model="tavus-llama-4")
    text = run_cli(sim, "plan", edited)
    assert "~ update in place persona acme-interviewer" in text.out, text.all
    assert "~ layers {" in text.out and '~ model: "tavus-gpt-4o" -> "tavus-llama-4"' in text.out
    assert "1 to update in place" in text.out
    doc = json.loads(run_cli(sim, "plan", edited, "--format", "json").out)
    from reconciler.engine.config import load_schema

    jsonschema.validate(doc, load_schema("plan.schema.json"))
    (change,) = doc["changes"]
    assert change["action"] == "update" and change["kind"] == "personas"
    assert {d["path"] for d in change["diff"]} == {"system_prompt", "layers.llm.model"}
    md = run_cli(sim, "plan", edited, "--format", "markdown").out
    assert "acme-interviewer" in md and "update" in md

    before = len(sim.requests)
    done = _apply(sim, edited)
    assert done.code == 0, done.all
    writes = [r for r in sim.requests[before:] if r["method"] != "GET"]
    assert [(r["method"], r["path"].split("/")[2]) for r in writes] == [("PATCH", "personas")]  # ONE PATCH
    (p,) = sim_personas.personas(sim)
    assert p["system_prompt"] == "You interview senior candidates." and p["layers"]["llm"]["model"] == "tavus-llama-4"
    assert p["document_tags"] == ["hiring"]
    final = run_cli(sim, "plan", edited, "--detailed-exitcode")
    assert final.code == 0 and "No changes" in final.out, final.all


def test_uncomparable_fields_are_listed_not_diffed(sim, tmp_path):
    sim_personas.configure(sim, hide_uncertain=True)
    path = _file(tmp_path, sim)
    assert _apply(sim, path).code == 0
    again = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0, again.all  # no flapping on what the API does not return
    assert "could not be compared" in again.out.lower() or "Could not be compared" in again.out
    assert "pipeline_mode" in again.out and "layers.conversational_flow" in again.out


def test_undeclared_persona_is_unmanaged_then_pruned_and_stock_personas_never(sim, tmp_path):
    path = _file(tmp_path, sim)
    assert _apply(sim, path).code == 0
    sim_personas.add_persona(sim, persona_name="acme-old", system_prompt="x")
    sim_personas.add_persona(sim, persona_name="other-team", system_prompt="x")
    plan = run_cli(sim, "plan", path)
    assert "acme-old" in plan.out and "other-team" not in plan.out, plan.all
    pruned = _apply(sim, path, "--prune")
    assert pruned.code == 0, pruned.all
    names = sorted(p["persona_name"] for p in sim_personas.personas(sim))
    assert names == ["acme-interviewer", "other-team"]
    assert len(api_requests(sim, "DELETE", "/v2/personas")) == 1


def test_saved_plan_is_refused_when_a_persona_changed_on_the_account(sim, tmp_path):
    path = _file(tmp_path, sim)
    assert _apply(sim, path).code == 0
    edited = _file(tmp_path, sim, prompt="New prompt.")
    saved = str(tmp_path / "plan.json")
    assert run_cli(sim, "plan", edited, "--out", saved).code == 0
    (p,) = sim_personas.personas(sim)
    sim_personas.add_persona  # noqa: B018 - the account changes behind the saved plan:
    run_cli(sim, "apply", _file(tmp_path, sim, prompt="Someone else's prompt."), "--auto-approve",
            "--skip-url-check")
    _file(tmp_path, sim, prompt="New prompt.")
    stale = run_cli(sim, "apply", saved, "--auto-approve", "--skip-url-check")
    assert stale.code != 0 and "stale" in stale.err, stale.all
    assert sim_personas.personas(sim)[0]["system_prompt"] == "Someone else's prompt."


def test_blue_green_replace_repoints_the_persona_before_deleting_the_old_replica(sim, tmp_path):
    path = _file(tmp_path, sim)
    assert _apply(sim, path).code == 0
    (old,) = sim.replicas()
    other = sim_personas.add_persona(sim, persona_name="elsewhere", system_prompt="x",
                                     default_replica_id=old["replica_id"])  # unmanaged: re-pointed too
    before = len(sim.requests)
    done = _apply(sim, path, "--replace", "acme-anna")
    assert done.code == 0, done.all
    (new,) = sim.replicas()
    assert new["replica_id"] != old["replica_id"] and new["replica_name"] == "acme-anna"
    by_name = {p["persona_name"]: p for p in sim_personas.personas(sim)}
    assert by_name["acme-interviewer"]["default_replica_id"] == new["replica_id"]
    assert by_name["elsewhere"]["default_replica_id"] == new["replica_id"], other
    log = [(r["method"], r["path"]) for r in sim.requests[before:]]
    delete_old = log.index(("DELETE", f"/v2/replicas/{old['replica_id']}"))
    patches = [i for i, (m, p) in enumerate(log) if m == "PATCH" and p.startswith("/v2/personas/")]
    assert len(patches) == 2 and max(patches) < delete_old  # no persona ever references a deleted replica
    again = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert again.code == 0 and "No changes" in again.out, again.all


@pytest.mark.parametrize("masked", [False, True])
def test_layer_api_keys_are_never_printed_even_when_echoed(sim, tmp_path, masked):
    from e2e import cli_env

    sim_personas.configure(sim, mask_api_keys=masked)
    secret, rotated = "sk-live-SECRET-one-1234567890", "sk-live-SECRET-two-0987654321"
    extra = "      tts:\n        tts_engine: cartesia\n        api_key: ${TTS_KEY}\n"
    path = _file(tmp_path, sim, persona_extra=extra)
    outputs = []
    for key in (secret, rotated):
        env = cli_env(sim, TTS_KEY=key)
        for fmt in ("text", "json", "markdown"):
            shown = run_cli(sim, "plan", path, "--format", fmt, env=env)
            assert shown.code == 0, shown.all
            outputs.append(shown.all)
        res = run_cli(sim, "apply", path, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", env=env)
        assert res.code == 0, res.all
        outputs.append(res.all)
        outputs.append(run_cli(sim, "plan", path, env=env).all)
    (p,) = sim_personas.personas(sim)
    if not masked:
        assert p["layers"]["tts"]["api_key"] == rotated  # sent: the server holds the new key
    for text in outputs:
        assert "SECRET" not in text, text
    if not masked:  # echoed in clear: a rotated key is a real change, shown masked
        assert any("api_key" in t and "update in place" in t for t in outputs[4:])
    else:  # masked by the server: cannot be compared, and the plan says so
        assert "layers.tts.api_key" in outputs[-1]


def test_status_and_output_include_personas(sim, tmp_path):
    path = _file(tmp_path, sim)
    out = run_cli(sim, "output", path)
    assert out.code == 1 and "persona not created yet" in out.err, out.all
    assert _apply(sim, path).code == 0
    (p,) = sim_personas.personas(sim)
    doc = json.loads(run_cli(sim, "output", path, "--format", "json").out)
    assert doc["acme-interviewer"] == p["persona_id"] and doc["acme-anna"].startswith("r")
    env = run_cli(sim, "output", path, "--format", "env").out
    assert f"TAVUS_PERSONA_ACME_INTERVIEWER={p['persona_id']}" in env
    rows = json.loads(run_cli(sim, "status", path, "--format", "json").out)
    from reconciler.engine.config import load_schema

    jsonschema.validate(rows, load_schema("status.schema.json"))
    assert {"kind": "persona", "name": "acme-interviewer", "persona_id": p["persona_id"], "phase": "present",
            "default_replica_id": p["default_replica_id"], "managed": True} in rows["personas"]
    text = run_cli(sim, "status", path)
    assert text.code == 0 and "PERSONAS" in text.out and p["persona_id"] in text.out, text.all


def test_smoke_reports_each_persona_and_fails_on_a_rejection(sim, tmp_path):
    path = _file(tmp_path, sim)
    missing = run_cli(sim, "smoke", path)
    assert missing.code == 1 and "not created yet" in missing.out, missing.all
    assert _apply(sim, path).code == 0
    ok = run_cli(sim, "smoke", path, "--target", "acme-interviewer")
    assert ok.code == 0 and "ok     acme-interviewer" in ok.out, ok.all
    convs = [r for r in sim.requests if r["method"] == "POST" and r["path"] == "/v2/conversations"]
    assert len(convs) == 1
    (p,) = sim_personas.personas(sim)
    sim_personas.configure(sim, reject_test_mode={p["persona_id"]})
    bad = run_cli(sim, "smoke", path)
    assert bad.code == 1 and "FAILED acme-interviewer" in bad.out and "rejected" in bad.out, bad.all
    unknown = run_cli(sim, "smoke", path, "--target", "nope")
    assert unknown.code == 1 and "Traceback" not in unknown.all and "nope" in unknown.err


def test_plan_over_many_personas_is_a_few_page_reads(sim, tmp_path):
    n = 300
    for i in range(n):
        sim.account.add_replica(replica_name=f"acme-r{i:04d}", status="completed")
        sim_personas.add_persona(sim, persona_name=f"acme-p{i:04d}", system_prompt="x")
    reps = "".join(f"  - name: acme-r{i:04d}\n    train_video_url: https://x.example/v.mp4\n    synthetic: true\n"
                   for i in range(n))
    pers = "".join(f"  - name: acme-p{i:04d}\n    system_prompt: x\n" for i in range(n))
    path = write(tmp_path, "version: 1\nsettings:\n  scope:\n    name_prefix: acme-\nreplicas:\n" + reps
                 + "personas:\n" + pers)
    before = len(sim.requests)
    res = run_cli(sim, "plan", path, "--detailed-exitcode")
    assert res.code == 0 and "No changes" in res.out, res.all
    reqs = sim.requests[before:]
    assert {(r["method"], r["path"]) for r in reqs} == {("GET", "/v2/replicas"), ("GET", "/v2/personas")}
    assert len(reqs) <= 10, len(reqs)  # pages of the two listings, never one request per object


def test_converse_starts_a_conversation_by_declared_name(sim, tmp_path):
    path = _file(tmp_path, sim)
    early = run_cli(sim, "converse", path, "acme-interviewer")
    assert early.code == 1 and "not created yet" in early.err and "Traceback" not in early.all
    assert _apply(sim, path).code == 0
    for name in ("acme-interviewer", "acme-anna"):
        res = run_cli(sim, "converse", path, name, "--yes")
        assert res.code == 0 and res.out.strip().startswith("https://"), res.all
    unknown = run_cli(sim, "converse", path, "nobody")
    assert unknown.code == 1 and "nobody" in unknown.err
