"""Running the real CLI (a subprocess, over real HTTP) against an in-process simulator."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

API_KEY = "e2e-secret-key-0123456789"
# settings lines of a file whose fleet-wide replaces are meant (issue 28's mass-change guard refuses them otherwise)
MIGRATION = "  mass_change:\n    max_percent: 100\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def cli_env(sim, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAVUS_", "NO_COLOR"))}
    env.update(TAVUS_API_URL=sim.url, TAVUS_API_KEY=API_KEY, TAVUS_RETRY_BACKOFF_SECONDS="0.01",
               TAVUS_RETRY_BUDGET_SECONDS="20", TAVUS_CREATE_SETTLE_SECONDS="1", NO_COLOR="1", PYTHONUNBUFFERED="1",
               TAVUS_ROLLOUT_JITTER_SECONDS="0")  # tests that race two runs set it (bench/concurrent_rollouts.py)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(sim, *args: str, env: dict | None = None, input: str | None = None, timeout: float = 60,
            cwd: str | Path | None = None) -> Result:
    proc = subprocess.run([sys.executable, "-m", "reconciler", *args], env=env or cli_env(sim), input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write(tmp_path: Path, text: str, name: str = "replicas.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def replicas_file(tmp_path: Path, sim, names, *, prefix="acme-", prune=False, extra="", video=None) -> str:
    """A file declaring synthetic replicas trained from the simulator's media."""
    entries = "".join(
        f"  - name: {n}\n    train_video_url: {video or sim.video_url(n + '.mp4')}\n    synthetic: true\n"
        for n in names)
    return write(tmp_path, f"version: 1\nsettings:\n  prune: {str(prune).lower()}\n  scope:\n"
                           f"    name_prefix: \"{prefix}\"\nreplicas:\n{entries}{extra}")


def api_requests(sim, method=None, path_prefix="/v2/replicas"):
    return [r for r in sim.requests
            if r["path"].startswith(path_prefix) and (method is None or r["method"] == method)]


def names_on(sim) -> list[str]:
    return sorted(r["replica_name"] for r in sim.replicas())


def read_pty(leader: int, proc: subprocess.Popen, timeout: float,
             on_output: Callable[[bytes], None] | None = None) -> bytes:
    """Everything ``proc`` writes to the pseudo-terminal ``leader``, until it is closed or the process has ended
    (or ``timeout``). ``on_output(seen)`` runs after every read: to answer a prompt, or to resize the terminal."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            return seen
        if not chunk:
            return seen
        seen += chunk
        if on_output is not None:
            on_output(seen)
    while select.select([leader], [], [], 0)[0]:  # what arrived between the last read and the process's end
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def run_on_a_tty(args: list[str], env: dict, answer: str | None = None, timeout: float = 30) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin/stdout/stderr; type ``answer`` at the prompt if given."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=env, stdin=follower, stdout=follower,
                            stderr=follower)
    os.close(follower)
    typed = []

    def type_answer(seen: bytes) -> None:
        if answer is not None and not typed and b"Enter a value:" in seen:
            typed.append(True)
            os.write(leader, answer.encode() + b"\n")

    seen = read_pty(leader, proc, timeout, type_answer)
    code = proc.wait(timeout=timeout)
    os.close(leader)
    return code, seen.decode(errors="replace")
