"""reconciler.cli (the group, its global options, main): bad input is one line saying what and where, exit 1,
never a traceback; every command has help with an example; shell completion as the README documents it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.cli import cli


def run(*args: str, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("args,needle", [
    (["plan", "--format", "xml", "f.yaml"], "'--format': 'xml' is not one of"),
    (["apply", "f.yaml", "--timeout", "5x"], "'5x' is not a duration"),
    (["wait", "f.yaml", "--poll-interval", "0"], "too short"),
    (["apply", "f.yaml", "--parallelism", "0"], "--parallelism"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["plan"], "Missing argument 'FILE'"),
    (["plan", "."], "is a directory"),
    (["validate", "/nonexistent/replicas.yaml"], "/nonexistent/replicas.yaml: no such file"),
])
def test_bad_input_is_one_line_and_exit_1(args, needle):
    res = run(*args)
    assert res.returncode == 1
    assert needle in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_every_command_has_help_with_an_example():
    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), name
        res = run(name, "--help")
        assert res.returncode == 0 and "Example:" in res.stdout, name


def test_version():
    from reconciler import __version__

    res = run("--version")
    assert res.returncode == 0 and __version__ in res.stdout


def _completion_lines() -> dict[str, str]:
    """The README's shell completion table: shell -> the line to add."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    return {m.group(1): m.group(2).replace("\\|", "|")
            for m in re.finditer(r"^\| (bash|zsh|fish) \| `[^`]+` \| `(.+)` \|$", readme, flags=re.M)}


def _path_env() -> dict:
    import os

    return {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


def test_bash_completion_as_the_readme_documents_it():
    lines = _completion_lines()
    assert set(lines) == {"bash", "zsh", "fish"}
    script = lines["bash"] + ('\nCOMP_WORDS=(tavus-reconciler pl); COMP_CWORD=1; _tavus_reconciler_completion '
                              'tavus-reconciler; printf "%s\\n" "${COMPREPLY[@]}"'
                              '\nCOMPREPLY=(); COMP_WORDS=(tavus-reconciler plan --det); COMP_CWORD=2; '
                              '_tavus_reconciler_completion tavus-reconciler; printf "%s\\n" "${COMPREPLY[@]}"')
    res = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=_path_env(), timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["plan", "--detailed-exitcode"], res.stdout + res.stderr


@pytest.mark.parametrize("shell, marker", [("zsh", "compdef _tavus_reconciler_completion tavus-reconciler"),
                                           ("fish", "complete --no-files --command tavus-reconciler")])
def test_zsh_and_fish_completion_scripts(shell, marker):
    import shutil

    line = _completion_lines()[shell]
    source = subprocess.run(["tavus-reconciler"], env={**_path_env(), "_TAVUS_RECONCILER_COMPLETE": f"{shell}_source"},
                            capture_output=True, text=True, timeout=60)
    assert source.returncode == 0 and marker in source.stdout, source.stdout + source.stderr
    if shutil.which(shell):  # the documented line itself, where the shell is installed
        check = {"zsh": "autoload -Uz compinit && compinit -u && " + line,
                 "fish": line.replace("| source", "| source; and complete -C 'tavus-reconciler pl'")}[shell]
        res = subprocess.run([shell, "-c", check], capture_output=True, text=True, env=_path_env(), timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        if shell == "fish":
            assert "plan" in res.stdout, res.stdout
