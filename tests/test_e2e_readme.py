"""Every ```sh block of the README runs as written, against the simulator.

The two set-up commands install (a venv, pip): they are checked structurally, and the demo they end with is
run for real. The benchmark block is checked structurally (it takes minutes). The simulator walkthrough is
run with its port 8080 swapped for a free one (other tests may be using 8080 on this machine); nothing else
in any block is changed. Blocks that use `replicas.yaml` run in a directory where it is a copy of
examples/replicas.yaml (a user's repository), against a simulator seeded like the walkthrough's.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from e2e import API_KEY, cli_env, read_pty
from test_gitops import check_invocation

from reconciler.sim.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```sh\n(.*?)^```", README, flags=re.S | re.M)
SETUP = [b for b in BLOCKS if "python3 -m venv .venv" in b]
BENCH = [b for b in BLOCKS if "bench/bench.py" in b]
WALKTHROUGH = [b for b in BLOCKS if "tavus-reconciler simulator" in b]
INSTALL = [b for b in BLOCKS if "pipx install" in b]
DEVELOPMENT = [b for b in BLOCKS if "bench/mutate.py" in b]  # minutes long: checked structurally
ACCOUNT = [b for b in BLOCKS if b not in SETUP + BENCH + WALKTHROUGH + INSTALL + DEVELOPMENT]

pytestmark = pytest.mark.e2e


def test_the_readme_blocks_are_all_accounted_for():
    assert len(SETUP) == 2 and len(BENCH) == 1 and len(WALKTHROUGH) == 1 and len(INSTALL) == 1
    assert len(ACCOUNT) >= 4, ACCOUNT
    for block in BLOCKS:  # every tavus-reconciler call uses commands and options that exist
        for line in block.splitlines():
            m = re.search(r"tavus-reconciler\s+([^|;&>#\n]*)", line)
            if m:
                import shlex

                check_invocation(shlex.split(m.group(1)))


def _bin_path(env: dict) -> dict:
    return {**env, "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", os.defpath)}


def test_setup_commands_are_the_documented_ones_and_the_demo_runs(tmp_path):
    demo, tests = SETUP
    assert demo.strip() == ("python3 -m venv .venv && .venv/bin/pip install -q -e . && "
                            ".venv/bin/tavus-reconciler demo examples/replicas.yaml")
    assert tests.strip() == ("python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
                             ".venv/bin/ruff check . && .venv/bin/pytest")
    assert tests.strip() in (ROOT / ".ci" / "run").read_text()  # CI runs exactly the README's command
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    res = subprocess.run([sys.executable, "-m", "reconciler", "demo", "examples/replicas.yaml", "--train-seconds",
                          "0.3"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "Demo complete" in res.stdout, res.stdout + res.stderr


def test_development_block_names_scripts_and_files_that_exist():
    (block,) = DEVELOPMENT
    for script in re.findall(r"bench/\w+\.py", block):
        assert (ROOT / script).is_file(), script
    assert "coverage run -m pytest" in block and (ROOT / ".coveragerc").is_file()
    assert "patch = subprocess" in (ROOT / ".coveragerc").read_text()


def test_bench_block_names_a_script_and_flag_that_exist():
    (block,) = BENCH
    assert ".venv/bin/python bench/bench.py" in block
    assert "--quick" in (ROOT / "bench" / "bench.py").read_text()


def _run_block(block: str, cwd: Path, env: dict, timeout: float = 120) -> tuple[int, str]:
    """Run a block with bash -e on a pseudo-terminal (apply asks for "yes" there: the test types it)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(["bash", "-e", "-c", block], cwd=cwd, env=env, stdin=follower, stdout=follower,
                            stderr=follower, start_new_session=True)
    os.close(follower)
    deadline = time.monotonic() + timeout
    answered = []

    def type_yes(seen: bytes) -> None:
        if seen.count(b"Enter a value:") > len(answered):
            answered.append(True)
            os.write(leader, b"yes\n")

    try:
        seen = read_pty(leader, proc, timeout, type_yes)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # only the group this test started
            proc.wait()
        os.close(leader)
    return code, seen.decode(errors="replace")


def _user_repo(tmp_path: Path, name: str, with_file: bool) -> Path:
    repo = tmp_path / name
    shutil.copytree(ROOT / "examples", repo / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas", repo / "schemas", ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    if with_file:
        shutil.copy(ROOT / "examples" / "replicas.yaml", repo / "replicas.yaml")
        shutil.copytree(ROOT / "examples" / "prompts", repo / "prompts")  # its system_prompt_file
    return repo


def test_every_account_block_runs_as_written(tmp_path):
    seed = yaml.safe_load((ROOT / "examples" / "simulator-seed.yaml").read_text())
    with Simulator(api_key=API_KEY, train_seconds=0, seed=seed) as sim:
        github_env = tmp_path / "github_env"
        env = _bin_path(cli_env(sim, VIDEO_BASE_URL=sim.video_url("").rstrip("/"),
                                ANNA_TRAIN_URL=sim.video_url("anna-train.mp4"), GITHUB_ENV=github_env))
        for i, block in enumerate(ACCOUNT):
            repo = _user_repo(tmp_path, f"block{i}", with_file="-o replicas.yaml" not in block)
            code, out = _run_block(block, repo, env)
            assert code == 0, f"README block failed (exit {code}):\n{block}\n--- output ---\n{out}"
            assert "Traceback" not in out and "internal error" not in out
    assert "TAVUS_REPLICA_ACME_ANNA=r" in github_env.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_simulator_walkthrough_runs_as_written(tmp_path):
    (block,) = WALKTHROUGH
    assert block.count("8080") >= 3
    block = block.replace("8080", str(_free_port()))
    repo = _user_repo(tmp_path, "walkthrough", with_file=False)
    env = _bin_path({k: v for k, v in os.environ.items()
                     if not k.startswith(("TAVUS_", "ANNA_", "VIDEO_BASE_URL"))})
    code, out = _run_block(block, repo, env)
    assert code == 0, f"exit {code}:\n{out}"
    assert "All 4 replica(s) and 1 document(s) are ready" in out and "forget acme-old-promo" in out, out


def test_the_readme_replicas_file_example_is_valid(tmp_path):
    from reconciler.engine.config import load_config

    (example,) = [b for b in re.findall(r"^```yaml\n(.*?)^```", README, flags=re.S | re.M) if "version: 1" in b]
    path = tmp_path / "replicas.yaml"
    path.write_text(example)
    config = load_config(path, environ={})
    assert [d.name for d in config.replicas][-1] == "acme-legacy" and config.removed_names == ("acme-old-promo",)


def test_the_install_block_puts_the_tool_on_the_path(shared, tmp_path):
    """The users' Install block as written, with only GitHub's URL swapped for a local clone tagged like the
    release (the tag the README names is this version's, with a CHANGELOG entry); pipx in a scratch home."""
    from artifacts import clean_env, release_repo

    from reconciler import __version__

    (block,) = INSTALL
    url = "git+https://github.com/tavus-reconciler/tavus-reconciler@"
    tag = re.search(re.escape(url) + r"(v[\w.]+)", block).group(1)
    assert tag == f"v{__version__}" and f"## {__version__} " in (ROOT / "CHANGELOG.md").read_text()
    assert README.count(f"@v{__version__}") >= 2 and f"rev: v{__version__}" in README  # the Action, the hook
    pipx = shutil.which("pipx", path=os.path.dirname(sys.executable)) or shutil.which("pipx")
    if pipx is None:
        pytest.skip("pipx is not installed (it is in the test extras)")
    local = block.replace(url, f"git+file://{release_repo(shared)}@")
    bin_dir = tmp_path / "bin"
    env = clean_env(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(bin_dir), PIPX_MAN_DIR=str(tmp_path / "man"),
                    HOME=str(tmp_path))
    env["PATH"] = os.pathsep.join([str(bin_dir), os.path.dirname(pipx), env["PATH"]])
    res = subprocess.run(["bash", "-e", "-c", local], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip().endswith(f"tavus-reconciler, version {__version__}"), res.stdout
    assert (bin_dir / "tavus-reconciler").exists()
    demo = subprocess.run([str(bin_dir / "tavus-reconciler"), "validate", str(ROOT / "examples/replicas.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0 and "valid" in demo.stdout, demo.stdout + demo.stderr
