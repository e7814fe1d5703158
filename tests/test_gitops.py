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
from reconciler.export import env_name, export_yaml, format_outputs, ready_outputs
from reconciler.models import Config, DesiredReplica, RemoteReplica, Settings
from reconciler.planner import compute_plan

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
    while tokens[i].startswith("-"):
        assert tokens[i] in root_opts, f"unknown global option {tokens[i]}"
        i += 1 + (tokens[i] == "--api-url")
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


# ----------------------------------------------------------------------------- export / output (pure)

def r(rid, name, status="completed", model="phoenix-4", rtype="user"):
    return RemoteReplica(rid, name, status=status, model_name=model, replica_type=rtype)


def test_export_round_trips_to_an_empty_plan(tmp_path):
    from reconciler.config import load_config

    inventory = [r("r3", "acme-b"), r("r2", "acme-a", model="phoenix-3"), r("r1", "acme-a"), r("r0", "other"),
                 r("rs", "Anna - Office", rtype="system")]
    text, warnings = export_yaml(inventory, source="https://tavusapi.com", when="2026-11-24T00:00:00Z",
                                 version="0.1.0", name_prefix="acme-")
    assert "r1" in text and warnings and "acme-a" in warnings[0]
    path = tmp_path / "replicas.yaml"
    path.write_text(text)
    config = load_config(path)
    assert [(d.name, d.replica_id) for d in config.replicas] == [("acme-a", "r2"), ("acme-b", "r3")]
    plan = compute_plan(config, inventory)
    assert plan.changes == () and plan.errors == ()
    assert [u.replica_id for u in plan.unmanaged] == ["r1"]  # the commented-out duplicate


def test_export_with_system_replicas_plans_clean(tmp_path):
    from reconciler.config import load_config

    inventory = [r("r1", "mine"), r("rs", "Anna - Office", rtype="system")]
    text, _ = export_yaml(inventory, source="x", when="t", version="0", include_system=True)
    path = tmp_path / "replicas.yaml"
    path.write_text(text)
    plan = compute_plan(load_config(path), inventory, prune=True)
    assert plan.changes == () and plan.errors == ()


def test_outputs_only_ready_declared_replicas():
    config = Config("f", (DesiredReplica("acme-a"), DesiredReplica("acme-b"), DesiredReplica("acme-c")),
                    Settings(name_prefix="acme-"))
    ready, notes = ready_outputs(config, [r("r1", "acme-a"), r("r2", "acme-b", status="started")])
    assert ready == {"acme-a": "r1"}
    assert notes == ["acme-b: not ready (started)", "acme-c: not created yet"]
    assert format_outputs(ready, "env") == "TAVUS_REPLICA_ACME_A=r1\n"
    assert format_outputs(ready, "json") == '{\n  "acme-a": "r1"\n}\n'
    assert env_name("acme news.anchor") == "TAVUS_REPLICA_ACME_NEWS_ANCHOR"
    with pytest.raises(ValueError):
        format_outputs({"a-b": "r1", "a_b": "r2"}, "env")
