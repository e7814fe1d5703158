"""plan / apply / wait / status end to end: the real CLI against the simulator over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import jsonschema
import pytest
from e2e import API_KEY, api_requests, cli_env, names_on, replicas_file, run_cli, run_on_a_tty, write

from reconciler.engine.config import load_schema

pytestmark = pytest.mark.e2e


def test_plan_formats_and_detailed_exitcode(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    text = run_cli(sim, "plan", f)
    assert text.code == 0, text.all
    assert "+ create" in text.out and "acme-a" in text.out
    assert "Plan: 2 to create, 0 to rename, 0 to replace, 0 to delete." in text.out
    assert run_cli(sim, "plan", f, "--detailed-exitcode").code == 2
    doc = json.loads(run_cli(sim, "plan", f, "--format", "json").out)
    jsonschema.validate(doc, load_schema("plan.schema.json"))
    assert doc["summary"]["create"] == 2 and [c["action"] for c in doc["changes"]] == ["create", "create"]
    md = run_cli(sim, "plan", f, "--format", "markdown").out
    assert "| Action | Name |" in md and "acme-b" in md
    assert names_on(sim) == []  # plan never writes


def test_apply_creates_waits_and_then_plan_is_empty(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b", "acme-c"])
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    assert "All 3 replica(s) are ready" in res.out
    assert names_on(sim) == ["acme-a", "acme-b", "acme-c"]
    again = run_cli(sim, "plan", f, "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out, again.all
    status = json.loads(run_cli(sim, "status", f, "--format", "json").out)
    assert {row["name"]: row["phase"] for row in status["replicas"] if row["managed"]} == dict.fromkeys(
        ["acme-a", "acme-b", "acme-c"], "ready")
    out = json.loads(run_cli(sim, "output", f, "--format", "json").out)
    assert sorted(out) == ["acme-a", "acme-b", "acme-c"] and all(v.startswith("r") for v in out.values())


def test_training_failure_exits_3_with_the_error_after_the_others_finish(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-ok"], extra=(
        f"  - name: acme-bad\n    train_video_url: {sim.video_url('fail-take.mp4')}\n    synthetic: true\n"))
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 3, res.all
    assert "acme-bad" in res.err and "failed" in res.err
    status = {r["replica_name"]: r["status"] for r in sim.replicas()}
    assert status == {"acme-ok": "completed", "acme-bad": "error"}
    # the failed replica is replaced by the next plan
    assert "-/+" in run_cli(sim, "plan", f).out


def test_timeout_exits_4_with_resume_hint_then_wait_finishes(sim, tmp_path):
    sim.train_seconds = 3.0
    f = replicas_file(tmp_path, sim, ["acme-slow"])
    res = run_cli(sim, "apply", f, "--auto-approve", "--timeout", "0.5s", "--poll-interval", "0.2")
    assert res.code == 4, res.all
    assert f"tavus-reconciler wait {f}" in res.err and "acme-slow" in res.err
    resumed = run_cli(sim, "wait", f, "--poll-interval", "0.3", "--timeout", "30s")
    assert resumed.code == 0, resumed.all
    assert len(api_requests(sim, "POST")) == 1


_WITH_CTRL_C = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "runpy.run_module('reconciler', run_name='__main__', alter_sys=True)")


def test_interrupted_apply_rerun_creates_nothing_twice(sim, tmp_path):
    sim.train_seconds = 30.0
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    # Ctrl-C reaches the CLI even when this test runs under `trap '' INT` (an ignored SIGINT is inherited, and a
    # program started with SIGINT ignored rightly keeps ignoring it): start it with Python's own SIGINT handler
    args = [sys.executable, "-c", _WITH_CTRL_C, "apply", f, "--auto-approve", "--poll-interval", "0.2"]
    proc = subprocess.Popen(args, env=cli_env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    head = ""
    while "Waiting for" not in head:  # both creates were answered and the run waits: not a fixed sleep
        line = proc.stdout.readline()
        assert line, head
        head += line
    line = proc.stdout.readline()  # the first status line: the wait's own Ctrl-C handling is in place
    assert line, head
    head += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    out = head + out
    assert proc.returncode == 130, out + err
    assert "resume with: tavus-reconciler wait" in err
    sim.train_seconds = 0.5
    rerun = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert rerun.code == 0, rerun.all
    assert "No changes." in rerun.out
    assert len(api_requests(sim, "POST")) == 2 and names_on(sim) == ["acme-a", "acme-b"]


def test_apply_without_tty_or_approval_refuses_and_changes_nothing(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, "apply", f, input="yes\n")
    assert res.code == 1 and "--auto-approve" in res.err
    assert names_on(sim) == []


def _apply_on_a_tty(sim, f, answer):
    return run_on_a_tty(["apply", f, "--no-wait"], cli_env(sim), answer)


@pytest.mark.parametrize("answer", ["no", "y", "YES"])
def test_only_the_typed_answer_yes_proceeds(sim, tmp_path, answer):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    code, screen = _apply_on_a_tty(sim, f, answer)
    assert code == 1 and "cancelled" in screen
    assert names_on(sim) == []


def test_typed_yes_applies_and_prompt_names_the_deletes(sim, tmp_path):
    sim.add_replica(replica_name="acme-old", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-a"], prune=True)
    code, screen = _apply_on_a_tty(sim, f, "yes")
    assert code == 0, screen
    assert "1 replica(s) will be DELETED: acme-old" in screen
    assert names_on(sim) == ["acme-a"]


def test_saved_plan_is_applied_and_a_stale_one_is_refused(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    planfile = str(tmp_path / "release.plan")
    assert run_cli(sim, "plan", f, "--out", planfile).code == 0
    assert stat.S_IMODE(os.stat(planfile).st_mode) == 0o600
    with open(planfile) as fh:
        assert API_KEY not in fh.read()
    sim.add_replica(replica_name="acme-intruder", status="completed")
    stale = run_cli(sim, "apply", planfile, "--auto-approve")
    assert stale.code == 1 and "stale" in stale.err, stale.all
    assert names_on(sim) == ["acme-intruder"]
    assert run_cli(sim, "plan", f, "--out", planfile).code == 0
    fresh = run_cli(sim, "apply", planfile, "--auto-approve", "--poll-interval", "0.2")
    assert fresh.code == 0, fresh.all
    assert names_on(sim) == ["acme-a", "acme-intruder"]


def test_url_preflight_lists_every_bad_url_and_changes_nothing(sim, tmp_path):
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-a
            train_video_url: {sim.video_url('missing-a.mp4')}?X-Amz-Signature=topsecret
            consent_video_url: {sim.video_url('expired-consent.mp4')}
          - name: acme-b
            train_video_url: {sim.video_url('ok.mp4')}
            synthetic: true
        """)
    res = run_cli(sim, "apply", f, "--auto-approve")
    assert res.code == 1, res.all
    assert "acme-a: train_video_url" in res.err and "404" in res.err
    assert "acme-a: consent_video_url" in res.err and "403" in res.err
    assert "topsecret" not in res.all
    assert names_on(sim) == [] and not api_requests(sim, "POST")
    skipped = run_cli(sim, "apply", f, "--auto-approve", "--no-wait", "--skip-url-check")
    assert skipped.code == 0, skipped.all


def test_unset_variable_a_create_needs_is_an_error_for_plan_and_apply(sim, tmp_path):
    f = write(tmp_path, """\
        version: 1
        replicas:
          - name: acme-a
            train_video_url: ${UNSET_TRAIN_URL_FOR_TEST}
            synthetic: true
        """)
    saved = tmp_path / "release.plan"
    plan = run_cli(sim, "plan", f, "--out", str(saved))  # like Terraform's missing variable: exit 1, nothing saved
    assert plan.code == 1 and not saved.exists(), plan.all
    assert plan.err.strip().splitlines()[-1] == ("error: the plan needs ${UNSET_TRAIN_URL_FOR_TEST}, not set: apply "
                                                 "would refuse it; set it and plan again (nothing was saved)")
    assert run_cli(sim, "plan", f, env=cli_env(sim, UNSET_TRAIN_URL_FOR_TEST=sim.video_url("a.mp4"))).code == 0
    res = run_cli(sim, "apply", f, "--auto-approve")
    assert res.code == 1 and "UNSET_TRAIN_URL_FOR_TEST" in res.err
    assert names_on(sim) == []


def test_replace_and_prune_delete_only_after_creates(sim, tmp_path):
    failed = sim.add_replica(replica_name="acme-a", status="error", error_message="blurry video")
    old = sim.add_replica(replica_name="acme-gone", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"], prune=True)
    sim.reset_requests()
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    writes = [(r["method"], r["path"]) for r in api_requests(sim) if r["method"] != "GET"]
    methods = [m for m, _ in writes]
    assert methods.count("POST") == 2 and methods.count("DELETE") == 2
    at = {(m, p.rsplit("/", 1)[1]): i for i, (m, p) in enumerate(writes)}
    # the prune comes after the plain creates; the replaced replica goes only after its successor (the rollout's)
    # was created, trained and verified
    assert at[("DELETE", old["replica_id"])] > min(i for i, m in enumerate(methods) if m == "POST")
    assert at[("DELETE", failed["replica_id"])] > max(i for i, m in enumerate(methods) if m == "POST")
    assert {p.rsplit("/", 1)[1] for m, p in writes if m == "DELETE"} == {failed["replica_id"], old["replica_id"]}
    assert names_on(sim) == ["acme-a", "acme-b"]


def test_rename_of_pinned_replica(sim, tmp_path):
    pinned = sim.add_replica(replica_name="legacy", status="completed")
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-legacy
            replica_id: {pinned['replica_id']}
        """)
    plan = run_cli(sim, "plan", f)
    assert "~ rename" in plan.out and "legacy" in plan.out
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    assert names_on(sim) == ["acme-legacy"] and len(api_requests(sim, "PATCH")) == 1


def test_missing_api_key_is_one_clear_line(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    env = cli_env(sim)
    del env["TAVUS_API_KEY"]
    res = run_cli(sim, "plan", f, env=env)
    assert res.code == 1
    assert res.err.strip() == "error: TAVUS_API_KEY is not set: export your Tavus API key (see README)"


def test_wrong_api_key(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, "plan", f, env=cli_env(sim, TAVUS_API_KEY="wrong"))
    assert res.code == 1 and "authentication failed: check TAVUS_API_KEY" in res.err
    assert "Traceback" not in res.all and "wrong" not in res.all


def test_wait_on_a_terminal_shows_a_live_progress_table(sim, tmp_path):
    sim.train_seconds = 60
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    assert run_cli(sim, "apply", f, "--auto-approve", "--no-wait").code == 0
    listed_by_apply = len(api_requests(sim, "GET"))

    def finish_training_once_the_wait_has_drawn():  # a condition, not a race against a 2.5 s training
        deadline = time.monotonic() + 30
        while len(api_requests(sim, "GET")) <= listed_by_apply and time.monotonic() < deadline:
            time.sleep(0.02)
        sim.train_seconds = 0.5  # both replicas are older than that: the next poll finds them completed

    threading.Thread(target=finish_training_once_the_wait_has_drawn, daemon=True).start()
    code, text = run_on_a_tty(["wait", f, "--poll-interval", "1s"], cli_env(sim))
    assert code == 0, text
    assert "\x1b[2K" in text and "\x1b[3F" in text  # redrawn in place (2 rows + the elapsed footer)
    assert "[####################] 100.0%" in text and "elapsed" in text
    assert "All 2 replica(s) are ready" in text


def test_a_saved_plan_is_refused_by_another_account_at_the_same_url(sim, tmp_path):
    """Issue 24 #9: every Tavus account shares one API URL; a saved plan records a digest of the key (never the
    key) and refuses to run with another key, even on an account whose inventory looks the same."""
    import json

    f = replicas_file(tmp_path, sim, ["acme-a"])
    planfile = str(tmp_path / "release.plan")
    assert run_cli(sim, "plan", f, "--out", planfile).code == 0
    with open(planfile) as fh:
        saved = json.load(fh)
    assert saved["account"].startswith("sha256:") and API_KEY not in json.dumps(saved)
    other = "another-account-key-5555"
    sim.api_key = other
    refused = run_cli(sim, "apply", planfile, "--auto-approve", env=cli_env(sim, TAVUS_API_KEY=other))
    assert refused.code == 1 and "made for another Tavus account" in refused.err, refused.all
    assert names_on(sim) == []
    sim.api_key = API_KEY
    assert run_cli(sim, "apply", planfile, "--auto-approve", "--poll-interval", "0.2").code == 0
