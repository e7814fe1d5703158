"""The GitOps files users copy: workflows call commands and flags that exist; the pre-commit hook validates."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))


def invocations(script: str):
    for m in re.finditer(r"tavus-reconciler\s+([^|;&>\n]*)", script):
        yield shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "X", m.group(1)))


def option_names(command: click.Command) -> set[str]:
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts} | {
        "--help", "-h"}


def check_invocation(tokens: list[str]) -> None:
    root_opts = option_names(cli)
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        assert tokens[i] in root_opts, f"unknown global option {tokens[i]}"
        i += 1 + (tokens[i] == "--api-url")
    if i == len(tokens):  # global options only (`tavus-reconciler --version`)
        return
    command = cli.commands.get(tokens[i])
    assert command is not None, f"no command {tokens[i]!r}"
    opts = option_names(command)
    for tok in tokens[i + 1:]:
        if tok.startswith("-"):
            assert tok.split("=")[0] in opts, f"{tokens[i]} has no option {tok}"


def test_there_are_three_workflows():
    assert {p.name for p in WORKFLOWS} == {"tavus-plan.yml", "tavus-apply.yml", "tavus-drift.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_parse_and_call_real_commands_and_flags(path):
    doc = yaml.safe_load(path.read_text())
    scripts = [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]
    scripts += ["tavus-reconciler " + step["with"]["command"] for job in doc["jobs"].values()
                for step in job["steps"] if step.get("uses", "").startswith("tavus-reconciler/tavus-reconciler@")]
    calls = [tokens for script in scripts for tokens in invocations(script)]
    assert calls, "the workflow never runs tavus-reconciler"
    for tokens in calls:
        check_invocation(tokens)
    text = path.read_text()
    assert "secrets.TAVUS_API_KEY" in text and not re.search(r"TAVUS_API_KEY:\s*['\"]?[A-Za-z0-9]{16,}", text)


def test_the_checker_catches_a_bad_flag():
    with pytest.raises(AssertionError):
        check_invocation(["plan", "replicas.yaml", "--detailed-exit-code"])
    with pytest.raises(AssertionError):
        check_invocation(["aply", "replicas.yaml"])


def test_apply_workflow_is_serialized_and_drift_uses_detailed_exitcode():
    apply = yaml.safe_load((ROOT / "examples/github-actions/tavus-apply.yml").read_text())
    assert apply["concurrency"]["group"] and apply["concurrency"]["cancel-in-progress"] is False
    drift = (ROOT / "examples/github-actions/tavus-drift.yml").read_text()
    assert "plan replicas.yaml --detailed-exitcode" in drift


def test_pre_commit_hook_runs_validate(tmp_path):
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    entry = shlex.split(hook["entry"])
    assert entry[:2] == ["tavus-reconciler", "validate"]
    assert re.search(hook["files"], "deploy/replicas.yaml") and not re.search(hook["files"], "other.yaml")
    bad = tmp_path / "replicas.yaml"
    bad.write_text("version: 1\nreplicas:\n  - name: a\n    train_video_ulr: https://x/y.mp4\n")
    run = [sys.executable, "-m", "reconciler", *entry[1:]]
    ok = subprocess.run([*run, str(ROOT / "examples/replicas.yaml")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    res = subprocess.run([*run, str(ROOT / "examples/replicas.yaml"), str(bad)], capture_output=True, text=True)
    assert res.returncode == 1 and f"{bad}:4:5" in res.stderr and "train_video_url" in res.stderr


def test_apply_workflow_stays_under_githubs_6h_cap_and_a_scheduled_run_resumes():
    from reconciler.cli import parse_duration

    doc = yaml.safe_load((ROOT / "examples/github-actions/tavus-apply.yml").read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"], "a scheduled run resumes after a timeout"
    (job,) = doc["jobs"].values()
    assert job["timeout-minutes"] < 360, "GitHub-hosted jobs stop at 6 h"
    step = next(s for s in job["steps"] if s.get("with", {}).get("command", "").startswith("apply "))
    tokens = shlex.split(step["with"]["command"])
    waited = parse_duration(tokens[tokens.index("--timeout") + 1])
    assert waited < job["timeout-minutes"] * 60 - 10 * 60, "the tool times out (exit 4) before the job is killed"
    assert "4" in step["with"]["success-codes"].split(), "exit 4 (still training) is resumed, not a failure"
