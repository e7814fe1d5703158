"""Issue 13, end to end: every row of its table as a run of the real CLI against the simulator.

Never a duplicate, never a delete nobody asked for, a saved plan is exactly what runs, interrupts stop
queued work. Soak lengths: CONCURRENT_TRIALS (default 2 per latency), REPLACE_KILL_ROUNDS (default 1).
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from e2e import api_requests, cli_env, names_on, replicas_file, run_cli, write

from reconciler.engine.successor import successor_name

pytestmark = pytest.mark.e2e
FAST = {"TAVUS_RETRY_MAX_ATTEMPTS": "10", "TAVUS_RETRY_BACKOFF_SECONDS": "0.01"}


def env13(sim, **extra) -> dict[str, str]:
    return cli_env(sim, **extra)


def start(sim, *args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=env or env13(sim),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until(condition, timeout=30.0, step=0.005):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def duplicates(sim) -> dict[str, int]:
    return {n: c for n, c in collections.Counter(names_on(sim)).items() if c > 1}


def ids_named(sim, name) -> list[str]:
    return [r["replica_id"] for r in sim.replicas() if r["replica_name"] == name]


# ------------------------------------------------------------------------- three applies at the same moment


@pytest.mark.parametrize("latency", [0.0, 0.05])
def test_concurrent_applies_converge_to_one_replica_per_name(sim, tmp_path, latency, record_property):
    names = [f"acme-{i}" for i in range(4)]
    trials = int(os.environ.get("CONCURRENT_TRIALS", "2"))
    duplicated_trials = lost = 0
    for trial in range(trials):
        for r in sim.replicas():
            sim.delete(r["replica_id"])
        f = replicas_file(tmp_path, sim, names)
        sim.set_faults(latency=latency)
        procs = [start(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2") for _ in range(3)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        sim.set_faults()
        if duplicates(sim):
            duplicated_trials += 1
        lost += len(set(names) - set(names_on(sim)))
        for code, out, err in results:
            # a run that lists the account in the instant two runs' creates coexist refuses (exit 1, nothing
            # changed: two unmarked replicas under one name are never guessed at); every other run succeeds
            assert code == 0 or (code == 1 and "remote replicas are named" in out + err
                                 and "nothing was changed" in err), f"trial {trial}: {out}{err}"
        assert sum(code == 0 for code, _, _ in results) >= 1
        until(lambda: names_on(sim) == names, timeout=10)  # the racing runs have exited: this is the end state
        assert names_on(sim) == names, f"trial {trial}"
    record_property("concurrent", f"latency={latency} trials={trials} duplicated={duplicated_trials} lost={lost}")
    print(f"3 concurrent applies, latency {latency}s: trials={trials} duplicated={duplicated_trials} lost={lost}")


# ------------------------------------------------------------------------- lost answers


@pytest.mark.parametrize("fault", [{"gateway_504": 1.0}, {"slow_create": 2.0}])
def test_a_lost_create_answer_is_adopted_after_the_settle_window_never_sent_twice(sim, tmp_path, fault):
    names = ["acme-a", "acme-b", "acme-c"]
    f = replicas_file(tmp_path, sim, names)
    sim.set_faults(**fault)
    env = env13(sim, TAVUS_CREATE_SETTLE_SECONDS="3", TAVUS_TIMEOUT_SECONDS="0.5", **FAST)
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2", "--parallelism", "3", env=env)
    assert res.code == 0, res.all
    until(lambda: len(api_requests(sim, "POST")) >= 3, timeout=10)  # a slow create is logged once answered
    assert len(api_requests(sim, "POST")) == 3  # one POST per replica: the lost ones were found, not resent
    assert names_on(sim) == names and not duplicates(sim)


def test_lost_answers_at_high_parallelism_settle_while_the_runs_own_creates_land(sim, tmp_path):
    """Issue 18 found the adoption check giving up at --parallelism 64 because the run's own creates changed
    the listing's total under it: the confirming listing now waits for this run's creates on the wire."""
    names = [f"acme-{i:02d}" for i in range(40)]
    f = replicas_file(tmp_path, sim, names)
    sim.set_faults(drop_create_response=0.3, fault_seed=5)
    env = env13(sim, TAVUS_CREATE_SETTLE_SECONDS="1", **FAST)
    res = run_cli(sim, "apply", f, "--auto-approve", "--no-wait", "--parallelism", "32", env=env)
    assert res.code == 0, res.all
    assert [r for r in api_requests(sim, "POST") if r["status"] == 0], "no answer was dropped"
    assert names_on(sim) == names and not duplicates(sim)


def test_a_lost_create_the_account_cannot_confirm_is_outcome_unknown_then_adopted(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    sim.set_faults(gateway_504=1.0)
    env = env13(sim, TAVUS_CREATE_SETTLE_SECONDS="2", TAVUS_RETRY_MAX_ATTEMPTS="2")
    proc = start(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2", "--parallelism", "1", "--target",
                 "acme-a", env=env)
    until(lambda: api_requests(sim, "POST"))
    sim.set_faults(gateway_504=1.0, list_error=1.0)  # from now on the account cannot be listed
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "UNKNOWN" in err and "not sent again" in err and "Traceback" not in out + err
    assert len(api_requests(sim, "POST")) == 1
    sim.set_faults()
    until(lambda: names_on(sim) == ["acme-a"])  # the create landed after all
    rerun = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2", env=env)
    assert rerun.code == 0, rerun.all
    assert names_on(sim) == ["acme-a", "acme-b"] and len(api_requests(sim, "POST")) == 2  # adopted, b created


# ------------------------------------------------------------------------- a replica renamed by hand


def test_an_older_replica_renamed_by_hand_to_a_declared_name_is_never_deleted(sim, tmp_path):
    current = sim.add_replica(replica_name="acme-a", status="completed", model_name="phoenix-4")
    older = sim.add_replica(replica_name="legacy", status="completed", model_name="phoenix-3",
                            created_at="2025-01-01T00:00:00Z")
    sim.rename(older["replica_id"], "acme-a")  # someone in the portal
    f = replicas_file(tmp_path, sim, ["acme-a"])
    plan = run_cli(sim, "plan", f, env=env13(sim))
    assert plan.code == 1 and current["replica_id"] in plan.all and older["replica_id"] in plan.all, plan.all
    res = run_cli(sim, "apply", f, "--auto-approve", env=env13(sim))
    assert res.code == 1, res.all
    assert not api_requests(sim, "DELETE") and len(sim.replicas()) == 2


# ------------------------------------------------------------------------- blue/green replace


def _seed_trained(sim, name="acme-a"):
    return sim.add_replica(replica_name=name, status="completed", model_name="phoenix-4",
                           created_at="2026-01-01T00:00:00Z")["replica_id"]


def test_replace_is_blue_green_old_serves_until_the_successor_is_trained(sim, tmp_path):
    sim.train_seconds = 60
    old = _seed_trained(sim)
    f = replicas_file(tmp_path, sim, ["acme-a"])
    proc = start(sim, "apply", f, "--auto-approve", "--replace", "acme-a", "--poll-interval", "0.2")
    until(lambda: api_requests(sim, "POST"))
    marked = successor_name("acme-a", old)
    assert ids_named(sim, "acme-a") == [old] and len(ids_named(sim, marked)) == 1  # old still serves
    plan = run_cli(sim, "plan", f, env=env13(sim))
    assert "in flight: training" in plan.out and plan.code == 0, plan.all
    assert marked in run_cli(sim, "status", f, env=env13(sim)).out
    sim.train_seconds = 0.5  # training finishes now
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    (new,) = ids_named(sim, "acme-a")
    assert new != old and names_on(sim) == ["acme-a"]
    writes = [(r["method"], r["path"].rsplit("/", 2)[-1]) for r in api_requests(sim) if r["method"] != "GET"]
    assert [m for m, _ in writes] == ["POST", "DELETE", "PATCH"]  # create, (training), delete old, rename


def test_a_failed_successor_is_removed_and_the_working_replica_stays(sim, tmp_path):
    old = _seed_trained(sim)
    f = replicas_file(tmp_path, sim, ["acme-a"], video=sim.video_url("fail-retake.mp4"))
    res = run_cli(sim, "apply", f, "--auto-approve", "--replace", "acme-a", "--poll-interval", "0.2",
                  env=env13(sim))
    assert res.code == 3, res.all
    assert "keeps the name" in res.all
    assert [(r["replica_id"], r["status"]) for r in sim.replicas()] == [(old, "completed")]
    assert not [r for r in api_requests(sim, "DELETE") if r["path"].endswith(old)]


@pytest.mark.parametrize("command", ["apply", "wait"])
@pytest.mark.parametrize("state", ["training", "trained", "old-deleted", "failed"])
def test_every_intermediate_replace_state_is_carried_to_its_end(sim, tmp_path, state, command):
    old = _seed_trained(sim)
    marked = successor_name("acme-a", old)
    status = {"training": "started", "trained": "completed", "old-deleted": "completed", "failed": "error"}[state]
    succ = sim.add_replica(replica_name=marked, status=status, model_name="phoenix-4")["replica_id"]
    if state == "old-deleted":
        sim.delete(old)
    f = replicas_file(tmp_path, sim, ["acme-a"])
    args = ["--auto-approve"] if command == "apply" else []
    res = run_cli(sim, command, f, *args, "--poll-interval", "0.2", env=env13(sim))
    if state == "failed":
        assert res.code == (0 if command == "apply" else 3), res.all
        assert [r["replica_id"] for r in sim.replicas()] == [old]
        return
    assert res.code == 0, res.all
    assert [(r["replica_name"], r["replica_id"]) for r in sim.replicas()] == [("acme-a", succ)]
    again = run_cli(sim, "plan", f, "--detailed-exitcode", env=env13(sim))
    assert again.code == 0 and "No changes." in again.out, again.all


def test_apply_no_wait_leaves_the_replace_in_flight_and_plan_shows_it(sim, tmp_path):
    sim.train_seconds = 30
    old = _seed_trained(sim)
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, "apply", f, "--auto-approve", "--replace", "acme-a", "--no-wait", env=env13(sim))
    assert res.code == 0 and "in flight" in res.out, res.all
    plan = run_cli(sim, "plan", f, "--format", "json", env=env13(sim))
    (change,) = __import__("json").loads(plan.out)["changes"]
    assert (change["action"], change["phase"], change["replica_id"]) == ("replace", "training", old)
    assert run_cli(sim, "plan", f, "--detailed-exitcode", env=env13(sim)).code == 2
    sim.train_seconds = 0.5
    assert run_cli(sim, "wait", f, "--poll-interval", "0.2", env=env13(sim)).code == 0
    assert names_on(sim) == ["acme-a"] and ids_named(sim, "acme-a") != [old]


def test_sigkill_in_every_phase_of_a_blue_green_replace_converges(sim, tmp_path, record_property):
    """Kill `apply --replace` right after the successor's POST, while it trains, right after the old replica's
    DELETE (before the rename), and after a seeded number of requests; every re-run (apply or wait) converges,
    nothing duplicated."""
    rounds = int(os.environ.get("REPLACE_KILL_ROUNDS", "1"))
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    kills = runs = 0
    for round_ in range(rounds):
        for point, rerun in (("POST", "apply"), ("GET-after-POST", "wait"), ("DELETE", "apply"), ("DELETE", "wait"),
                             ("random", "apply")):
            for r in sim.replicas():
                sim.delete(r["replica_id"])
            olds = {n: _seed_trained(sim, n) for n in ("acme-a", "acme-b")}
            sim.train_seconds = 0.6
            sim.set_faults(latency=0.02)
            sim.reset_requests()
            proc = start(sim, "apply", f, "--auto-approve", "--replace", "acme-a", "--replace", "acme-b",
                         "--poll-interval", "0.1")
            if point == "POST":
                until(lambda: api_requests(sim, "POST"))
            elif point == "GET-after-POST":
                until(lambda: any(r["method"] == "GET" and r["t"] > api_requests(sim, "POST")[-1]["t"]
                                  for r in api_requests(sim)) if api_requests(sim, "POST") else False)
            elif point == "DELETE":
                until(lambda: api_requests(sim, "DELETE"))
            else:  # after the k-th API request (seeded), never a sleep racing the machine (issue 24)
                k = random.Random(20261202 + round_).randint(1, 12)
                until(lambda k=k, proc=proc: len(sim.requests) >= k or proc.poll() is not None)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            runs += 1
            sim.set_faults()
            res = run_cli(sim, rerun, f, *(["--auto-approve"] if rerun == "apply" else []), "--poll-interval", "0.1",
                          env=env13(sim))
            runs += 1
            assert res.code == 0, f"{point}/{rerun}: {res.all}"
            assert names_on(sim) == ["acme-a", "acme-b"], f"{point}/{rerun}"
            # every successor the killed run created carried its replace to the end, and none was created twice
            # (a kill before a POST leaves that replica as it was: the re-run has no --replace)
            replaced = set(olds.values()) - {r["replica_id"] for r in sim.replicas()}
            assert len(replaced) == len(api_requests(sim, "POST")), f"{point}/{rerun}"
            if point == "POST":
                assert replaced, f"{point}/{rerun}"
            elif point != "random":  # the canary's successor was made before these kill points (acme-b's starts
                assert olds["acme-a"] in replaced, f"{point}/{rerun}"  # only once the canary is replaced)
    record_property("replace-sigkill", f"runs={runs} kills={kills} duplicates=0")
    assert kills == runs // 2, "a run ended before its kill point: the test did not test what it says"


# ------------------------------------------------------------------------- saved plans


def test_a_saved_plan_is_refused_when_the_environment_changes_what_it_would_do(sim, tmp_path):
    sim.add_replica(replica_name="acme-a", status="completed", model_name="phoenix-4")
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-a
            train_video_url: {sim.video_url('a.mp4')}
            synthetic: true
            model_name: ${{MODEL:-phoenix-4}}
        """)
    planfile = str(tmp_path / "release.plan")
    made = run_cli(sim, "plan", f, "--out", planfile, env=env13(sim))
    assert made.code == 0 and "No changes." in made.out, made.all
    res = run_cli(sim, "apply", planfile, env=env13(sim, MODEL="phoenix-3"))
    assert res.code == 1 and "stale" in res.err and "nothing was changed" in res.err, res.all
    assert [r["method"] for r in api_requests(sim)] == ["GET", "GET"]  # the plan's and the apply's listing
    ok = run_cli(sim, "apply", planfile, "--poll-interval", "0.2", env=env13(sim))  # no prompt, no --auto-approve
    assert ok.code == 0 and "still matches" in ok.out, ok.all
    assert not [r for r in api_requests(sim) if r["method"] != "GET"]


def test_a_saved_plan_prints_its_changes_and_applies_them_without_asking(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    planfile = str(tmp_path / "release.plan")
    assert run_cli(sim, "plan", f, "--out", planfile, env=env13(sim)).code == 0
    sim.add_replica(replica_name="other-team", status="completed")  # out of scope: the plan is the same
    res = run_cli(sim, "apply", planfile, "--poll-interval", "0.2", env=env13(sim))
    assert res.code == 0 and "+ create" in res.out, res.all
    assert names_on(sim) == ["acme-a", "other-team"]


# ------------------------------------------------------------------------- interrupts


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_during_a_prune_sends_no_further_delete(sim, tmp_path, sig, code):
    for i in range(10):
        sim.add_replica(replica_name=f"acme-old-{i}", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-keep"], prune=True)
    sim.add_replica(replica_name="acme-keep", status="completed")
    sim.set_faults(latency=0.3)
    proc = start(sim, "apply", f, "--auto-approve", "--parallelism", "1", "--allow-mass-change")
    until(lambda: api_requests(sim, "DELETE"))
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, out + err
    # the process waited for its in-flight request before exiting, so every DELETE it sent is logged by now
    sent = len(api_requests(sim, "DELETE"))
    assert sent <= 2, sent  # the one answered before the signal and the one in flight when it came
    assert "no new request was started" in err and "Resume with `tavus-reconciler apply" in err
    assert "not done delete" in err and "Traceback" not in out + err


def test_sigterm_during_wait_prints_a_summary_and_exits_143(sim, tmp_path):
    sim.train_seconds = 60
    f = replicas_file(tmp_path, sim, ["acme-a"])
    assert run_cli(sim, "apply", f, "--auto-approve", "--no-wait", env=env13(sim)).code == 0
    sim.reset_requests()
    proc = start(sim, "wait", f, "--poll-interval", "0.2")
    until(lambda: len(api_requests(sim, "GET")) >= 2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, out + err
    assert "Interrupted (SIGTERM)" in err and f"resume with: tavus-reconciler wait {f}" in err
    assert "acme-a started" in err and "Traceback" not in out + err
