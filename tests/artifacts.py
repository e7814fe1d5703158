"""What users install, built and installed once per test session and shared by the pytest-xdist workers: the
sdist and the wheel (``python -m build``), a clean virtualenv with the wheel installed, and a copy of the
repository as GitHub or pre-commit checks it out. Each is made by the first worker that asks for it, under a
file lock, in the session's shared temporary folder; the others wait for it and reuse it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: nothing of this checkout or of the test run's virtualenv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSAFEPATH") and not k.startswith(
               ("TAVUS_", "PIP_REQUIRE", "PRE_COMMIT", "GITHUB_", "INPUT_", "PYTEST_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", os.defpath).split(os.pathsep)
                                  if Path(p).resolve() != Path(sys.executable).parent.resolve())
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(cmd: list[str], *, cwd: Path | str, env: dict | None = None, timeout: float = 600,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def source_files() -> list[str] | None:
    """The repository's files as git would commit them (tracked and new, not ignored), or None outside git."""
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return None
    return sorted(f for f in proc.stdout.split("\0") if f and (ROOT / f).is_file())


@contextlib.contextmanager
def once(shared: Path, name: str):
    """Yield the folder ``shared/name`` and whether it still has to be made (only the first caller makes it)."""
    shared.mkdir(parents=True, exist_ok=True)
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            folder, done = shared / name, shared / f"{name}.done"
            make = not done.exists()
            if make:
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
            yield folder, make
            if make:
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def checkout(shared: Path) -> Path:
    """A copy of the repository's files as they would be committed (what a tag checks out), made once."""
    with once(shared, "checkout") as (folder, make):
        if make:
            files = source_files()
            if files is None:  # an unpacked sdist: it is the whole repository already
                shutil.copytree(ROOT, folder, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(".venv", "*.egg-info", "__pycache__", "build", "dist"))
            for f in files or ():
                (folder / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / f, folder / f)
    return folder


def dist(shared: Path) -> dict[str, Path]:
    """{"sdist": ..., "wheel": ...}: ``python -m build`` of the checkout (the wheel built from the sdist)."""
    with once(shared, "dist") as (folder, make):
        if make:
            src = checkout(shared)
            run([sys.executable, "-m", "build", "--outdir", str(folder), str(src)], cwd=folder, env=clean_env())
        return {"sdist": next(folder.glob("*.tar.gz")), "wheel": next(folder.glob("*.whl"))}


def new_venv(folder: Path) -> Path:
    """A clean virtualenv (no system site-packages) in ``folder``; -> its bin folder."""
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    return folder / ("Scripts" if os.name == "nt" else "bin")


def wheel_venv(shared: Path) -> Path:
    """The bin folder of a clean virtualenv with only the wheel (and its dependencies) installed."""
    wheel = dist(shared)["wheel"]
    with once(shared, "wheel-venv") as (folder, make):
        if make:
            bin_dir = new_venv(folder)
            run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=folder)
        return folder / ("Scripts" if os.name == "nt" else "bin")


def github_step(step: dict, inputs: dict[str, str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run one ``run:`` step of a composite action as GitHub's runner does: ``${{ inputs.X }}`` replaced in its
    env and working-directory (never in the script), then ``bash --noprofile --norc -eo pipefail`` on it."""
    import re

    def expand(text: str) -> str:
        return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs.get(m.group(1), ""), str(text))

    assert step.get("shell") == "bash", step
    script = cwd / ".github-step.sh"
    script.write_text(step["run"])
    step_env = {**env, **{k: expand(v) for k, v in (step.get("env") or {}).items()}}
    workdir = cwd / expand(step.get("working-directory", "."))
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workdir,
                          env=step_env, capture_output=True, text=True, timeout=600)


def action_install(shared: Path, action: dict, action_path: Path) -> Path:
    """The bin folder of a clean Python (what actions/setup-python gives) after the action's own install step
    ran in it, with GITHUB_ACTION_PATH at a checkout of this repository; made once."""
    with once(shared, "action-python") as (folder, make):
        bin_dir = folder / ("Scripts" if os.name == "nt" else "bin")
        if make:
            new_venv(folder)
            steps = action["runs"]["steps"]
            assert steps[0]["uses"].startswith("actions/setup-python@")
            install = next(s for s in steps[1:] if "run" in s and s.get("id") != "run")
            env = clean_env(PATH=f"{bin_dir}{os.pathsep}{clean_env()['PATH']}", GITHUB_ACTION_PATH=str(action_path))
            proc = github_step(install, {}, env, folder)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return bin_dir


def release_repo(shared: Path) -> Path:
    """The checkout as a git repository with one commit tagged v<version>: what a user's `rev: v0.2.0`, `pipx
    install git+...@v0.2.0` or `uses: ...@v0.2.0` gets from GitHub; made once."""
    from reconciler import __version__

    src = checkout(shared)
    with once(shared, "release-repo") as (folder, make):
        if make:
            shutil.copytree(src, folder, dirs_exist_ok=True)
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                   "-c", "tag.gpgsign=false"]
            run([*git, "init", "-q"], cwd=folder)
            run([*git, "add", "-A"], cwd=folder)
            run([*git, "commit", "-q", "-m", "release"], cwd=folder)
            run([*git, "tag", "-a", f"v{__version__}", "-m", f"v{__version__}"], cwd=folder)
        return folder
