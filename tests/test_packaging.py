"""What users install is what is tested: the sdist and the wheel are built (once per session, tests/artifacts.py),
the wheel is installed in a clean virtualenv and run from a folder outside the repository against the
simulator, and both archives are compared with git's file list so a file left out fails with its name."""

from __future__ import annotations

import email.parser
import os
import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from artifacts import ROOT, clean_env, dist, release_repo, run, source_files, wheel_venv
from e2e import API_KEY, replicas_file

from reconciler import __version__

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def built(shared) -> dict[str, Path]:
    pytest.importorskip("build")
    return dist(shared)


@pytest.fixture(scope="session")
def installed(shared, built) -> Path:
    return wheel_venv(shared)


def _in_wheel(path: str) -> str | None:
    """Where a repository file lives in the wheel, or None when it is not part of the package."""
    top, _, rest = path.partition("/")
    if top == "reconciler":
        return path
    if top in ("schemas", "examples"):  # data folders at the root, installed inside reconciler
        return f"reconciler/{top}/{rest}"
    return None


def test_the_wheel_carries_every_module_schema_example_and_prompt(built):
    files = source_files()
    if files is None:
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare with")
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    expected = [w for w in map(_in_wheel, files) if w]
    assert "reconciler/kinds/replicas/kind.py" in expected
    missing = sorted(set(expected) - names)
    assert not missing, f"missing from the wheel: {missing}"
    top_level = {n.split("/")[0] for n in names if not n.startswith("tavus_reconciler-")}
    assert top_level == {"reconciler"}, "the wheel installs nothing else at the top level"


def test_the_sdist_carries_the_whole_repository_and_the_licence(built):
    files = source_files()
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith("/PKG-INFO")
                                        and m.name.count("/") == 1)).read().decode()
    for must in ("tests/e2e.py", "tests/conftest.py", "tests/fakeserver.py", "tests/golden/plan_full.txt",
                 "action.yml", ".pre-commit-hooks.yaml", "LICENSE", "CHANGELOG.md"):
        assert must in names, must
    if files is not None:
        missing = sorted(set(files) - names)
        assert not missing, f"missing from the sdist: {missing}"
    meta = email.parser.Parser().parsestr(pkg_info)
    assert meta["License-Expression"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert meta["Version"] == __version__


def test_the_installed_wheel_runs_outside_the_repository(installed, sim, tmp_path):
    user = tmp_path / "user"  # a user's folder: no checkout, no PYTHONPATH, the wheel's venv only
    user.mkdir()
    env = clean_env(PATH=f"{installed}{os.pathsep}{clean_env()['PATH']}", TAVUS_API_URL=sim.url,
                    TAVUS_API_KEY=API_KEY, TAVUS_RETRY_BACKOFF_SECONDS="0.01", NO_COLOR="1")
    tool = shutil.which("tavus-reconciler", path=env["PATH"])
    assert tool and Path(tool).parent == installed, "tavus-reconciler is on the PATH after installing the wheel"
    where = run([str(installed / "python"), "-c", "import reconciler; print(reconciler.__file__)"], cwd=user, env=env)
    assert Path(where.stdout.strip()).is_relative_to(installed.parent), where.stdout

    assert run([tool, "--version"], cwd=user, env=env).stdout.strip() == f"tavus-reconciler, version {__version__}"
    replicas_file(user, sim, ["acme-a", "acme-b"])
    res = run([tool, "validate", "replicas.yaml"], cwd=user, env=env)
    assert "replicas.yaml: valid (2 replicas)" in res.stdout, res.stdout + res.stderr
    res = run([tool, "plan", "replicas.yaml", "--detailed-exitcode"], cwd=user, env=env, check=False)
    assert res.returncode == 2, res.stdout + res.stderr  # a fresh account: everything to create
    assert "acme-a" in res.stdout and "internal error" not in res.stderr
    res = run([str(installed / "python"), "-m", "reconciler", "validate", "replicas.yaml"], cwd=user, env=env)
    assert "valid" in res.stdout
    res = run([tool, "demo", "--train-seconds", "1"], cwd=user, env=env, timeout=300)
    assert "Demo complete." in res.stdout, res.stdout + res.stderr


def test_python_m_reconciler_works_in_the_repository_root_with_the_wheel_installed(installed):
    """From the root, ``-m reconciler`` finds the checkout's folder first, which has no schemas/ or examples/
    inside it: the package still finds them (reconciler/__init__.py)."""
    res = run([str(installed / "python"), "-m", "reconciler", "validate", "examples/replicas.yaml"], cwd=ROOT,
              env=clean_env())
    assert "examples/replicas.yaml: valid" in res.stdout, res.stdout + res.stderr



def test_the_pre_commit_hook_as_try_repo_runs_it(shared, tmp_path):
    """`pre-commit try-repo` installs the hook from a (committed) copy of this repository into its own
    environment, as a user's `rev:` would, and runs it on a scratch repository with a good and a bad file."""
    pytest.importorskip("pre_commit")
    hook_repo = release_repo(shared)
    work = tmp_path / "project"
    work.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    run([*git, "init", "-q"], cwd=work)
    (work / "replicas.yaml").write_text((ROOT / "examples" / "replicas.yaml").read_text())
    (work / "prompts").mkdir()
    (work / "prompts" / "interviewer.md").write_text((ROOT / "examples" / "prompts" / "interviewer.md").read_text())
    (work / "bad.tavus.yaml").write_text("version: 1\nreplicas:\n  - name: x\n    synthetic: true\n")
    (work / "notes.yaml").write_text("not: [a replicas file\n")  # not matched by the hook's `files:`
    run([*git, "add", "-A"], cwd=work)
    env = clean_env(PRE_COMMIT_HOME=str(shared / "pre-commit-home"), SKIP="")
    try_repo = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "tavus-reconciler-validate",
                "--color", "never", "--files"]
    good = run([*try_repo, "replicas.yaml", "notes.yaml"], cwd=work, env=env, check=False, timeout=600)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "validate Tavus replicas files" in good.stdout and "Passed" in good.stdout
    bad = run([*try_repo, "replicas.yaml", "bad.tavus.yaml"], cwd=work, env=env, check=False, timeout=600)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout and "bad.tavus.yaml:3:5: x: no training source" in bad.stdout, bad.stdout
    assert "internal error" not in bad.stdout and "Traceback" not in bad.stdout

