"""Adopting an account (export, pins, scoped prune, protect, --target) and image replicas, end to end."""

from __future__ import annotations

import json

import pytest
from e2e import API_KEY, api_requests, names_on, replicas_file, run_cli, write

from reconciler.sim.simulator import Simulator

pytestmark = pytest.mark.e2e


def test_export_then_validate_then_plan_is_empty(sim, tmp_path):
    for name in ("acme-a", "acme-b", "acme-b", "other"):
        sim.add_replica(replica_name=name, status="completed")
    out = tmp_path / "replicas.yaml"
    res = run_cli(sim, "export", "--name-prefix", "acme-", "-o", str(out))
    assert res.code == 0, res.all
    assert "acme-b" in res.err and "warning" in res.err  # the duplicate name is called out
    assert run_cli(sim, "validate", str(out)).code == 0
    plan = run_cli(sim, "plan", str(out), "--detailed-exitcode", "--ignore-unmanaged")
    assert plan.code == 0 and "No changes" in plan.out, plan.all
    # the commented-out duplicate is on the account but not in the file: the drift gate says so (issue 15)
    gate = run_cli(sim, "plan", str(out), "--detailed-exitcode")
    assert gate.code == 2 and "1 unmanaged replica(s)" in gate.out and "acme-b" in gate.out, gate.all
    again = run_cli(sim, "export", "-o", str(out))
    assert again.code == 1 and "exists" in again.err  # never overwrites


def test_prune_deletes_only_inside_the_scope(sim, tmp_path):
    sim.add_replica(replica_name="acme-stray", status="completed")
    sim.add_replica(replica_name="other-team", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-a"], prune=True)
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    assert names_on(sim) == ["acme-a", "other-team"]
    stock = [r for r in sim.replicas(include_system=True) if r["replica_type"] == "system"]
    assert stock, "stock replicas are untouched"


def test_protect_blocks_replace_with_a_clear_error_and_changes_nothing(sim, tmp_path):
    failed = sim.add_replica(replica_name="acme-keep", status="error", error_message="blurry")
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-keep
            replica_id: {failed['replica_id']}
            protect: true
          - name: acme-new
            train_video_url: {sim.video_url('new.mp4')}
            synthetic: true
        """)
    res = run_cli(sim, "apply", f, "--auto-approve", "--replace", "acme-keep")
    assert res.code == 1 and "protect" in res.all and "acme-keep" in res.all, res.all
    assert names_on(sim) == ["acme-keep"] and not api_requests(sim, "POST")


def test_target_limits_plan_apply_and_wait(sim, tmp_path):
    sim.add_replica(replica_name="acme-stray", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"], prune=True)
    doc = json.loads(run_cli(sim, "plan", f, "--format", "json", "--target", "acme-b").out)
    assert [(c["action"], c["name"]) for c in doc["changes"]] == [("create", "acme-b")]
    res = run_cli(sim, "apply", f, "--auto-approve", "--target", "acme-b", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    assert names_on(sim) == ["acme-b", "acme-stray"] and "1 replica(s)" in res.out


def test_image_replica_is_created_with_image_and_voice_and_trains(sim, tmp_path):
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-anchor
            train_image_url: {sim.video_url('anchor.png')}?X-Amz-Signature=imgsecret
            voice_name: aria
            synthetic: true
        """)
    plan = run_cli(sim, "plan", f)
    assert "train_image_url" in plan.out and "imgsecret" not in plan.out
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    (replica,) = sim.replicas()
    assert replica["replica_name"] == "acme-anchor" and replica["status"] == "completed"
    heads = [r for r in sim.requests if r["path"] == "/media/anchor.png"]
    assert heads, "the image URL was checked before creating"


def test_image_url_that_is_not_an_image_fails_preflight(sim, tmp_path):
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-anchor
            train_image_url: {sim.video_url('anchor.mp4')}
            voice_name: aria
            synthetic: true
        """)
    res = run_cli(sim, "apply", f, "--auto-approve")
    assert res.code == 1 and "not an image" in res.err, res.all
    assert not sim.replicas()


def test_video_and_image_together_is_a_located_validate_error(tmp_path):
    f = write(tmp_path, """\
        version: 1
        replicas:
          - name: acme-both
            train_video_url: https://v.example.com/a.mp4
            train_image_url: https://v.example.com/a.png
            voice_name: aria
            synthetic: true
        """)
    with Simulator(api_key=API_KEY) as s:
        res = run_cli(s, "validate", f)
    assert res.code == 1 and f"{f}:3:" in res.err and "not both" in res.err, res.all


def test_two_remote_replicas_with_one_declared_name_is_exit_1_naming_both(sim, tmp_path):
    ids = sorted(sim.add_replica(replica_name="acme-a", status="completed")["replica_id"] for _ in range(2))
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, "plan", f, "--detailed-exitcode")
    assert res.code == 1 and all(i in res.all for i in ids), res.all
    assert run_cli(sim, "apply", f, "--auto-approve").code == 1 and names_on(sim) == ["acme-a", "acme-a"]
