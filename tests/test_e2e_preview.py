"""Issue 25: a ready replica is a production-ready replica. For phoenix-4.5, ``status: completed`` is only a
watermarked preview until ``finetune_status`` is ``completed`` (``errored``: a failed training). The real CLI
against the simulator, which serves both kinds of model (a knob sets the fine-tune's duration)."""

from __future__ import annotations

import json

import pytest
from e2e import api_requests, run_cli, write

from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e


def validate(document, name: str) -> None:
    """The JSON outputs keep to their published schemas (schemas/*.schema.json), previews included."""
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).resolve().parent.parent / "schemas" / name).read_text())
    jsonschema.Draft202012Validator(schema).validate(document)


def preview_file(tmp_path, sim, *, model="phoenix-4.5", video="acme-new.mp4", personas=""):
    return write(tmp_path, "version: 1\nsettings:\n  scope:\n    name_prefix: acme-\nreplicas:\n"
                           f"  - name: acme-new\n    model_name: {model}\n    synthetic: true\n"
                           f"    train_video_url: {sim.video_url(video)}\n{personas}")


def test_a_preview_is_its_own_phase_and_never_ready_for_wait_output_smoke_or_converse(sim, tmp_path):
    sim.train_seconds, sim.finetune_seconds = 0.0, 3600.0  # trained at once, then a fine-tune of an hour
    rid = sim.add_replica(replica_name="acme-new", model_name="phoenix-4.5", status="started")["replica_id"]
    persona = sim_personas.add_persona(sim, persona_name="acme-host", system_prompt="hi", default_replica_id=rid)
    f = preview_file(tmp_path, sim, personas="personas:\n  - name: acme-host\n    default_replica: acme-new\n"
                                             "    system_prompt: hi\n")

    plan = run_cli(sim, "plan", f)
    assert plan.code == 0 and "acme-new" in plan.out and "preview (watermarked; fine-tune running)" in plan.out, \
        plan.all
    doc = json.loads(run_cli(sim, "plan", f, "--format", "json").out)
    assert doc["pending"] == [{"name": "acme-new", "replica_id": rid, "status": "completed", "progress": 0.0,
                               "phase": "preview"}]

    validate(doc, "plan.schema.json")
    status = run_cli(sim, "status", f, "--format", "json")
    validate(json.loads(status.out), "status.schema.json")
    row = next(r for r in json.loads(status.out)["replicas"] if r.get("replica_id") == rid)
    assert (row["status"], row["phase"], row["finetune_status"]) == ("completed", "preview", None)
    text = run_cli(sim, "status", f)
    assert "preview (watermarked; fine-tune running)" in text.out and "1 preview (not ready)" in text.out, text.out

    wait = run_cli(sim, "wait", f, "--timeout", "0.3", "--poll-interval", "0.1")
    assert wait.code == 4, wait.all  # timed out: a preview is not ready
    assert "acme-new (preview, watermarked" in wait.err, wait.all

    out = run_cli(sim, "output", f)
    assert out.code != 0 and "watermarked preview" in out.all, out.all

    sim.reset_requests()
    smoke = run_cli(sim, "smoke", f)
    assert smoke.code == 1 and "is a watermarked preview" in smoke.out, smoke.all
    assert not api_requests(sim, "POST", "/v2/conversations")  # refused before any conversation

    talk = run_cli(sim, "converse", f, "acme-host")
    assert talk.code != 0 and "watermarked preview" in talk.err, talk.all
    assert not api_requests(sim, "POST", "/v2/conversations")

    sim.finetune_seconds = 0.0  # the fine-tune completes: now it is ready, for everything
    assert run_cli(sim, "wait", f, "--timeout", "5", "--poll-interval", "0.1").code == 0
    assert json.loads(run_cli(sim, "output", f, "--format", "json").out)["acme-new"] == rid
    assert run_cli(sim, "smoke", f).code == 0
    assert persona["default_replica_id"] == rid


def test_models_without_the_field_keep_todays_meaning(sim, tmp_path):
    sim.train_seconds, sim.finetune_seconds = 0.0, 3600.0
    sim.add_replica(replica_name="acme-new", model_name="phoenix-4")
    f = preview_file(tmp_path, sim, model="phoenix-4")
    assert run_cli(sim, "wait", f, "--timeout", "5", "--poll-interval", "0.1").code == 0
    row = json.loads(run_cli(sim, "status", f, "--format", "json").out)["replicas"][0]
    assert row["phase"] == "ready" and "finetune_status" not in row


def test_an_errored_finetune_is_a_failed_training_exit_3(sim, tmp_path):
    sim.train_seconds, sim.finetune_seconds = 0.0, 0.0
    f = preview_file(tmp_path, sim, video="acme-errored.mp4")
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", "--timeout", "10")
    assert res.code == 3, res.all
    assert "the fine-tune errored" in res.err, res.all
    assert "): failed: the fine-tune errored (the preview stays watermarked)" in res.out, res.all
    plan = run_cli(sim, "plan", f)
    assert "training failed: the fine-tune errored" in plan.out, plan.all  # a re-run replaces it
    status = run_cli(sim, "status", f)
    assert "fine-tune errored" in status.out and "0 ready, 0 training, 1 failed" in status.out, status.out


def _rollout_file(tmp_path, sim, video):
    return write(tmp_path, f"""\
        version: 1
        settings:
          scope:
            name_prefix: acme-
          rollout:
            verify: smoke
        replicas:
          - name: acme-a
            model_name: phoenix-4.5
            synthetic: true
            train_video_url: {sim.video_url(video)}
        """)


def test_a_rollout_never_swaps_in_a_preview(sim, tmp_path):
    """phoenix-4 -> phoenix-4.5: the successor's preview is not swapped in; the old replica keeps serving until
    the fine-tune completes."""
    sim.train_seconds, sim.finetune_seconds = 0.0, 3600.0
    old = sim.add_replica(replica_name="acme-a", model_name="phoenix-4")["replica_id"]
    f = _rollout_file(tmp_path, sim, "acme-a.mp4")
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1",
                  "--timeout", "0.5")
    assert res.code == 4, res.all  # timed out waiting for the fine-tune
    names = {r["replica_name"]: r for r in sim.replicas()}
    assert names["acme-a"]["replica_id"] == old  # not swapped: the old replica still serves under the name
    successor = next(r for n, r in names.items() if n != "acme-a")
    assert successor["status"] == "completed" and successor["finetune_status"] is None
    assert not api_requests(sim, "DELETE")
    sim.finetune_seconds = 0.0
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", "--timeout", "10")
    assert res.code == 0, res.all
    [now] = sim.replicas()
    assert now["replica_name"] == "acme-a" and now["replica_id"] == successor["replica_id"]


def test_a_rollout_halts_on_an_errored_finetune_and_the_old_replica_keeps_serving(sim, tmp_path):
    sim.train_seconds, sim.finetune_seconds = 0.0, 0.0
    old = sim.add_replica(replica_name="acme-a", model_name="phoenix-4")["replica_id"]
    f = _rollout_file(tmp_path, sim, "acme-a-errored.mp4")
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", "--timeout", "10")
    assert res.code == 3, res.all
    assert "halted" in res.all and "fine-tune errored" in res.all, res.all
    assert [(r["replica_name"], r["replica_id"]) for r in sim.replicas()] == [("acme-a", old)]
