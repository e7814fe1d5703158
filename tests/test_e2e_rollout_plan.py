"""Issue 19 end to end, the declarative surface: the real CLI against the simulator shows the rollout of 10
model-change replaces in `plan` (text, JSON, markdown), in `status`, and in saved plans, which refuse a different
rollout; bad rollout options and settings are one clear line. None of these commands writes to the account."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from e2e import MIGRATION, api_requests, run_cli, write

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parent.parent
NAMES = [f"acme-{i:02d}" for i in range(1, 11)]


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def fleet(sim, tmp_path, *, rollout: str = "") -> tuple[str, dict[str, str]]:
    """10 trained phoenix-3 replicas on the account; a file that moves them all to phoenix-4."""
    ids = {n: sim.add_replica(replica_name=n, status="completed", model_name="phoenix-3")["replica_id"]
           for n in NAMES}
    entries = "".join(f"  - name: {n}\n    train_video_url: {sim.video_url(n + '.mp4')}\n    synthetic: true\n"
                      for n in NAMES)
    text = (f"version: 1\nsettings:\n  scope:\n    name_prefix: acme-\n{rollout}{MIGRATION}"
            f"defaults:\n  model_name: phoenix-4\nreplicas:\n{entries}")
    return write(tmp_path, text), ids


def no_writes(sim) -> bool:
    return not [r for r in api_requests(sim, path_prefix="/v2/") if r["method"] != "GET"]


def rollout_block(out: str) -> list[str]:
    return next(b for b in out.split("\n\n") if b.startswith("Rollout")).splitlines()


def test_plan_shows_the_rollout_of_ten_model_change_replaces(sim, tmp_path):
    f, _ = fleet(sim, tmp_path)
    r = run_cli(sim, "plan", f)
    assert r.code == 0, r.all
    assert rollout_block(r.out)[:7] == [
        "Rollout of 10 replacements (max_replacing 2, canary 1, verify smoke), in this order:",
        "  batch 1, canary (not started): acme-01",
        "  batch 2 (not started): acme-02, acme-03",
        "  batch 3 (not started): acme-04, acme-05",
        "  batch 4 (not started): acme-06, acme-07",
        "  batch 5 (not started): acme-08, acme-09",
        "  batch 6 (not started): acme-10",
    ]
    assert "The canary must train and pass verify (smoke) before any other starts" in r.out
    assert "Plan: 0 to create, 0 to rename, 10 to replace, 0 to delete." in r.out

    j = run_cli(sim, "plan", f, "--format", "json")
    doc = json.loads(j.out)
    jsonschema.Draft202012Validator(schema("plan.schema.json")).validate(doc)
    steps = doc["rollout"]["steps"]
    assert [s["name"] for s in steps] == NAMES
    assert [s["batch"] for s in steps] == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert [s["canary"] for s in steps] == [True] + [False] * 9
    assert {s["state"] for s in steps} == {"not_started"}

    md = run_cli(sim, "plan", f, "--format", "markdown")
    assert md.code == 0
    assert "**Rollout:** 10 replacements in 6 batches (max_replacing 2, canary 1, verify smoke)." in md.out
    assert "| batch 1, canary (not started) | `acme-01` |" in md.out
    assert no_writes(sim)


def test_settings_and_options_shape_the_rollout(sim, tmp_path):
    f, _ = fleet(sim, tmp_path, rollout="  rollout:\n    max_replacing: 4\n    canary: 0\n    verify: none\n")
    r = run_cli(sim, "plan", f)
    assert r.code == 0, r.all
    assert rollout_block(r.out)[:4] == [
        "Rollout of 10 replacements (max_replacing 4, canary 0, verify none), in this order:",
        "  batch 1 (not started): acme-01, acme-02, acme-03, acme-04",
        "  batch 2 (not started): acme-05, acme-06, acme-07, acme-08",
        "  batch 3 (not started): acme-09, acme-10",
    ]
    r = run_cli(sim, "plan", f, "--max-replacing", "3", "--canary", "2")  # the options win over the file
    assert rollout_block(r.out)[:3] == [
        "Rollout of 10 replacements (max_replacing 3, canary 2, verify none), in this order:",
        "  batch 1, canary (not started): acme-01, acme-02",
        "  batch 2 (not started): acme-03, acme-04, acme-05",
    ]
    assert no_writes(sim)


@pytest.fixture
def slow_sim():
    """Training takes an hour here: a successor added as training stays training for the whole test."""
    from e2e import API_KEY

    from reconciler.sim.simulator import Simulator

    with Simulator(api_key=API_KEY, train_seconds=3600) as s:
        yield s


def test_status_shows_the_rollout_progress_from_the_account(slow_sim, tmp_path):
    sim = slow_sim
    f, ids = fleet(sim, tmp_path)
    r = run_cli(sim, "status", f)
    assert r.code == 0, r.all
    assert r.out.rstrip().endswith(
        "rollout: 0 training, 0 trained, 10 waiting; next: acme-01 (halted or not started: run apply)")
    assert "ROLLOUT" in r.out.splitlines()[0] and "canary: waiting (#1)" in r.out

    # the canary's successor trained (as a killed or halted apply leaves it), the next one is training
    sim.add_replica(replica_name=f"acme-01~next~{ids['acme-01']}", status="completed", model_name="phoenix-4")
    sim.add_replica(replica_name=f"acme-02~next~{ids['acme-02']}", status="started", model_name="phoenix-4",
                    training_progress="10/100")
    j = run_cli(sim, "status", f, "--format", "json")
    assert j.code == 0, j.all
    rows = json.loads(j.out)
    jsonschema.Draft202012Validator(schema("status.schema.json")).validate(rows)
    states = {row["name"]: row["rollout"]["state"] for row in rows["replicas"]
              if "rollout" in row and "~" not in row["name"]}
    assert states == {"acme-01": "trained", "acme-02": "training", **{n: "waiting" for n in NAMES[2:]}}
    t = run_cli(sim, "status", f)
    last = t.out.rstrip().splitlines()[-1]
    assert last.startswith("rollout: ") and "trained" in last and "8 waiting; next: acme-03" in last
    assert no_writes(sim)


def test_a_saved_plan_records_the_options_and_refuses_a_different_rollout(sim, tmp_path):
    f, _ = fleet(sim, tmp_path)
    plan = str(tmp_path / "release.plan")
    r = run_cli(sim, "plan", f, "--canary", "2", "--out", plan)
    assert r.code == 0, r.all
    shown = run_cli(sim, "show", plan)
    assert "Made with: --canary 2" in shown.out and "batch 1, canary (not started): acme-01, acme-02" in shown.out
    assert json.loads(run_cli(sim, "show", plan, "--format", "json").out)["options"]["canary"] == 2

    refused = run_cli(sim, "apply", plan, "--canary", "1")
    assert refused.code == 1
    assert "the rollout differs: it would now be max_replacing 2, canary 1, verify smoke, the saved plan says " \
           "max_replacing 2, canary 2, verify smoke" in refused.err
    assert "nothing was changed" in refused.err and "Traceback" not in refused.all
    assert no_writes(sim)


@pytest.mark.parametrize("args, needle", [
    (["plan", "{f}", "--max-replacing", "0"], "--max-replacing"),
    (["plan", "{f}", "--canary", "-1"], "--canary"),
    (["plan", "{f}", "--max-replacing", "two"], "--max-replacing"),
    (["apply", "{f}", "--canary", "-3", "--auto-approve"], "--canary"),
    (["apply", "{f}", "--max-replacing", "0", "--auto-approve"], "--max-replacing"),
])
def test_bad_rollout_options_are_one_line_and_change_nothing(sim, tmp_path, args, needle):
    f, _ = fleet(sim, tmp_path)
    r = run_cli(sim, *[a.format(f=f) for a in args])
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.err
    assert "must be" in lines[0] and "at least" in lines[0]  # what is wrong and how to fix it
    assert "--help" in lines[0] and "Traceback" not in r.all
    assert not api_requests(sim, path_prefix="/v2/")


def test_bad_rollout_settings_are_located_and_plan_refuses(sim, tmp_path):
    f, _ = fleet(sim, tmp_path, rollout="  rollout:\n    max_replacing: 0\n    canery: 1\n")
    for command in ("validate", "plan"):
        r = run_cli(sim, command, f)
        assert r.code == 1
        assert r.err.strip().splitlines() == [
            f"{f}:6:20: settings.rollout.max_replacing must be at least 1, not 0",
            f"{f}:7:5: unknown field 'canery' (did you mean 'canary'?)"]
    assert not api_requests(sim, path_prefix="/v2/")
