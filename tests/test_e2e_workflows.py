"""Everyday workflows (issue 15): drift gate, outputs, saved plans, global options, forget, export, live view."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import yaml
from e2e import API_KEY, api_requests, cli_env, names_on, read_pty, replicas_file, run_cli, write

from reconciler.sim.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.e2e


# ----------------------------------------------------------------------------------------- drift gate


def test_drift_gate_counts_unmanaged_replicas_and_can_ignore_them(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    assert run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2").code == 0
    assert run_cli(sim, "plan", f, "--detailed-exitcode").code == 0
    sim.add_replica(replica_name="acme-stray", status="completed")
    sim.add_replica(replica_name="other-team", status="completed")  # outside the scope: not drift
    gate = run_cli(sim, "plan", f, "--detailed-exitcode")
    assert gate.code == 2, gate.all
    assert "acme-stray" in gate.out and "other-team" not in gate.out
    assert "No changes. Inventory matches" not in gate.out
    assert "the inventory does not match" in gate.out and "1 unmanaged replica(s)" in gate.out
    ignored = run_cli(sim, "plan", f, "--detailed-exitcode", "--ignore-unmanaged")
    assert ignored.code == 0, ignored.all
    md = run_cli(sim, "plan", f, "--detailed-exitcode", "--format", "markdown")
    assert md.code == 2 and "does not match" in md.out


# ----------------------------------------------------------------------------------------- forget (removed:)


def test_removed_releases_a_replica_prune_never_deletes_it_and_it_is_not_drift(sim, tmp_path):
    keep = sim.add_replica(replica_name="acme-old", status="completed")
    by_id = sim.add_replica(replica_name="acme-other", status="completed")
    sim.add_replica(replica_name="acme-stray", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-a"], prune=True,
                      extra=f"removed:\n  - acme-old\n  - {{replica_id: {by_id['replica_id']}}}\n")
    plan = run_cli(sim, "plan", f)
    assert plan.code == 0, plan.all
    assert f"forget acme-old ({keep['replica_id']})" in plan.out and "forget acme-other" in plan.out
    assert "delete  acme-stray" in plan.out and "delete  acme-old" not in plan.out
    doc = json.loads(run_cli(sim, "plan", f, "--format", "json").out)
    assert {r["name"] for r in doc["forgotten"]} == {"acme-old", "acme-other"}
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.2")
    assert res.code == 0, res.all
    assert names_on(sim) == ["acme-a", "acme-old", "acme-other"]  # prune deleted only the stray
    assert len(api_requests(sim, "DELETE")) == 1
    gate = run_cli(sim, "plan", f, "--detailed-exitcode")
    assert gate.code == 0 and "forget acme-old" in gate.out, gate.all  # released replicas are not drift


def test_a_name_both_declared_and_removed_is_an_error(tmp_path):
    f = write(tmp_path, """\
        version: 1
        replicas:
          - name: acme-a
            train_video_url: https://v.example.com/a.mp4
            synthetic: true
        removed:
          - acme-a
          - {name: acme-b}
          - {name: acme-b}
          - {colour: red}
        """)
    res = run_cli(None, "validate", f, env=dict(os.environ))
    assert res.code == 1
    lines = res.err.strip().splitlines()
    assert f"{f}:7:5: removed[0]: acme-a is also declared under replicas: (line 3)" in lines[0]
    assert any(f"{f}:9:" in line and "already listed at line 8" in line for line in lines)
    assert any("removed[3] must be a replica name, {name: NAME} or {replica_id: ID}" in line for line in lines)
    assert "Traceback" not in res.all


# ----------------------------------------------------------------------------------------- output


def test_output_fails_naming_each_replica_without_a_ready_id_unless_allow_partial(tmp_path):
    with Simulator(api_key=API_KEY, train_seconds=3600) as sim:
        _output_partial(sim, tmp_path)


def _output_partial(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b", "acme-c", "acme-d", "acme-e"])
    sim.add_replica(replica_name="acme-a", status="completed")
    sim.add_replica(replica_name="acme-b", status="started")
    sim.add_replica(replica_name="acme-c", status="error",
                    error_message="bad video https://s3.example.com/x.mp4?X-Amz-Signature=topsecret")
    sim.add_replica(replica_name="acme-d", status="completed")
    sim.add_replica(replica_name="acme-d", status="completed")
    res = run_cli(sim, "output", f, "--format", "env")
    assert res.code == 1 and res.out == "", res.all
    for line in ("acme-b: not ready (started", "acme-c: training failed", "acme-d: ambiguous",
                 "acme-e: not created yet", "--allow-partial"):
        assert line in res.err
    assert "topsecret" not in res.all
    partial = run_cli(sim, "output", f, "--format", "env", "--allow-partial")
    assert partial.code == 0 and partial.out.startswith("TAVUS_REPLICA_ACME_A=r"), partial.all
    assert "note: acme-e: not created yet" in partial.err


# ----------------------------------------------------------------------------------------- saved plans


def test_show_a_saved_plan_and_a_plan_passed_as_a_replicas_file_is_recognised(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a", "acme-b"])
    saved = str(tmp_path / "release.plan")
    made = run_cli(sim, "plan", f, "--out", saved)
    assert made.code == 0, made.all
    env = {k: v for k, v in cli_env(sim).items() if k != "TAVUS_API_KEY"}  # show is offline
    text = run_cli(sim, "show", saved, env=env)
    assert text.code == 0, text.all
    assert "+ create  acme-a" in text.out and "Plan: 2 to create" in text.out and f"apply {saved}" in text.out
    doc = json.loads(run_cli(sim, "show", saved, "--format", "json", env=env).out)
    assert [c["name"] for c in doc["changes"]] == ["acme-a", "acme-b"] and doc["options"]["prune"] is False
    md = run_cli(sim, "show", saved, "--format", "markdown", env=env)
    assert md.code == 0 and "**Plan: 2 to create" in md.out
    assert api_requests(sim, "POST") == []
    for command in ("plan", "validate", "status", "wait", "output"):
        wrong = run_cli(sim, command, saved)
        assert wrong.code == 1, (command, wrong.all)
        assert len(wrong.err.strip().splitlines()) == 1 and "is a saved plan" in wrong.err
        assert f"tavus-reconciler show {saved}" in wrong.err and f"tavus-reconciler apply {saved}" in wrong.err
    targeted = str(tmp_path / "targeted.plan")
    assert run_cli(sim, "plan", f, "--target", "acme-b", "--out", targeted).code == 0
    shown = run_cli(sim, "show", targeted, env=env)
    assert "Made with: --target acme-b" in shown.out and "acme-a" not in shown.out, shown.all
    not_a_plan = run_cli(sim, "show", f, env=env)
    assert not_a_plan.code == 1 and "not a saved plan" in not_a_plan.err


# ----------------------------------------------------------------------------------------- global options


def test_global_options_work_before_and_after_the_subcommand_and_v2_is_accepted(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    env = {k: v for k, v in cli_env(sim).items() if k != "TAVUS_API_URL"}
    for args in (["--no-color", "-v", "--api-url", sim.url, "plan", f],
                 ["plan", f, "--no-color", "-v", "--api-url", sim.url],
                 ["plan", f, "--api-url", sim.url + "/v2"],
                 ["--api-url", sim.url + "/v2/", "plan", f]):
        res = run_cli(sim, *args, env=env)
        assert res.code == 0 and "+ create  acme-a" in res.out, (args, res.all)
        assert "no route" not in res.all
    verbose = run_cli(sim, "plan", f, "-v", "--api-url", sim.url, env=env)
    assert "GET /v2/replicas" in verbose.err and API_KEY not in verbose.all


# ----------------------------------------------------------------------------------------- check-urls


def test_plan_check_urls_finds_a_dead_training_url_before_apply(sim, tmp_path):
    f = write(tmp_path, f"""\
        version: 1
        replicas:
          - name: acme-ok
            train_video_url: {sim.video_url("ok.mp4")}
            synthetic: true
          - name: acme-gone
            train_video_url: {sim.video_url("missing.mp4")}?X-Amz-Signature=topsecret
            synthetic: true
        """)
    assert run_cli(sim, "plan", f, "--detailed-exitcode").code == 2
    res = run_cli(sim, "plan", f, "--check-urls", "--detailed-exitcode")
    assert res.code == 1, res.all
    assert "acme-gone: train_video_url" in res.err and "404" in res.err and "acme-ok" not in res.err
    assert "topsecret" not in res.all
    assert api_requests(sim, "POST") == []


# ----------------------------------------------------------------------------------------- demo


def test_demo_without_an_argument_works_from_any_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    res = subprocess.run([sys.executable, "-m", "reconciler", "demo", "--train-seconds", "0.3"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Demo complete" in res.stdout and "forget acme-old-promo" in res.stdout
    assert "demo-secret-signature" not in res.stdout + res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing left behind in the user's directory


def test_packaged_examples_are_the_repository_examples():
    import importlib.resources

    for name in ("replicas.yaml", "simulator-seed.yaml"):
        packaged = importlib.resources.files("reconciler.examples").joinpath(name).read_text(encoding="utf-8")
        assert packaged == (ROOT / "examples" / name).read_text(encoding="utf-8")


# ----------------------------------------------------------------------------------------- export


def test_export_counts_marks_stock_replicas_and_duplicates_uncomment_into_valid_yaml(sim, tmp_path):
    for name in ("acme-a", "acme-b", "acme-b", "acme-b"):
        sim.add_replica(replica_name=name, status="completed")
    inside = ROOT / "tests" / f".export-{os.getpid()}.yaml"  # inside the checkout: a relative $schema
    outside = tmp_path / "replicas.yaml"
    try:
        res = run_cli(sim, "export", "--include-system", "-o", str(inside))
        assert res.code == 0, res.all
        assert "Exported 5 replica(s)" in res.err  # acme-a, acme-b and the three stock replicas
        head = inside.read_text().splitlines()[0]
        assert head == "# yaml-language-server: $schema=../schemas/replicas.schema.json"
        assert (inside.parent / head.split("=", 1)[1]).resolve().is_file()
    finally:
        inside.unlink(missing_ok=True)
    res = run_cli(sim, "export", "--include-system", "-o", str(outside))
    assert res.code == 0 and "Exported 5 replica(s)" in res.err, res.all
    text = outside.read_text()
    assert "$schema=https://raw.githubusercontent.com/" in text.splitlines()[0]
    stock_lines = [line for line in text.splitlines() if "stock replica (read-only)" in line]
    assert len(stock_lines) == 3 and "read-only references" in text
    # uncomment the duplicates as an editor does (drop "# "), giving them new names: valid and plannable
    lines, n = [], 0
    for line in text.splitlines():
        if line.startswith("# - name:"):
            n += 1
            line = f"# - name: acme-b-{n}"
        if line.startswith(("# - ", "#   ")):
            line = line[2:]
        lines.append(line)
    assert n == 2
    outside.write_text("\n".join(lines) + "\n")
    assert run_cli(sim, "validate", str(outside)).code == 0
    plan = run_cli(sim, "plan", str(outside), "--detailed-exitcode")
    assert plan.code == 2 and plan.out.count("~ rename") == 2, plan.all  # renames in place, nothing else


def test_renaming_a_pinned_stock_replica_warns_instead_of_no_changes(sim, tmp_path):
    f = write(tmp_path, "version: 1\nreplicas:\n  - name: my-anna\n    replica_id: r9fa0878977\n")
    res = run_cli(sim, "plan", f)
    assert res.code == 0, res.all
    assert "stock replica r9fa0878977" in res.out and "read-only" in res.out and "not renamed" in res.out


# ----------------------------------------------------------------------------------------- small fixes


def test_a_tab_in_the_indentation_is_named_at_its_line_and_column(tmp_path):
    f = write(tmp_path, "version: 1\nreplicas:\n  - name: a\n  \tsynthetic: true\n")
    res = run_cli(None, "validate", f, env=dict(os.environ))
    assert res.code == 1 and res.err.strip() == f"{f}:4:3: tabs are not allowed for indentation: indent with spaces"


def test_wait_header_shows_a_sub_second_interval(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.5")
    assert res.code == 0 and "polling every 0.5s" in res.out, res.all


def test_pre_commit_pattern_matches_common_names():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for name in ("replicas.yaml", "deploy/replicas.yml", "tavus-replicas.yaml", "replicas.prod.yaml",
                 "acme_replicas.yaml", "prod.tavus.yaml", "tavus/prod.yaml"):
        assert re.search(hook["files"], name), name
    for name in ("other.yaml", "myreplicasx.yaml", ".github/workflows/tavus.yml", "replicas.json"):
        assert not re.search(hook["files"], name), name


# ----------------------------------------------------------------------------------------- live view


_CSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _cells(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_live_view_fits_a_70_column_terminal_and_redraws_on_resize(tmp_path):
    import pty

    names = [f"acme-a-rather-long-replica-name-view-{i}" for i in range(3)]
    names.append("acme-" + "名前" * 10)  # wide characters: two cells each
    assert all(_cells(n) >= 38 for n in names)
    with Simulator(api_key=API_KEY, train_seconds=4) as sim:
        f = replicas_file(tmp_path, sim, names)
        env = cli_env(sim)
        env.pop("NO_COLOR")
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        leader, follower = pty.openpty()
        _set_size(follower, 40, 70)
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve",
                                 "--poll-interval", "0.5"], env=env, stdin=follower, stdout=follower,
                                stderr=follower)
        resized = []

        def resize_once(seen: bytes) -> None:
            if not resized and b"elapsed" in seen:
                resized.append(len(seen))
                _set_size(follower, 40, 50)
                proc.send_signal(signal.SIGWINCH)

        seen = read_pty(leader, proc, 60, resize_once)
        resized_at = resized[0] if resized else None
        code = proc.wait(timeout=30)
        os.close(follower)
        os.close(leader)
    text = seen.decode(errors="replace")
    assert code == 0, text
    assert resized_at is not None, text
    before, after = seen[:resized_at].decode(errors="replace"), seen[resized_at:].decode(errors="replace")

    def frame_lines(chunk: str) -> list[str]:
        return [_CSI.sub("", line) for line in chunk.replace("\r", "").split("\n") if "\x1b[2K" in line]

    live = frame_lines(before)
    assert live and all(_cells(line) <= 70 for line in live), [line for line in live if _cells(line) > 70]
    assert any("…" in line for line in live)  # long names were shortened, not wrapped
    assert "\x1b[2J" in after  # the width changed: the screen was cleared and the table drawn anew
    redrawn = frame_lines(after.split("\x1b[2J", 1)[1])
    assert redrawn and all(_cells(line) <= 50 for line in redrawn), redrawn
