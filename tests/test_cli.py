"""The CLI's contract for bad input: one line saying what and where, exit 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.cli import _interval, cli


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


def test_interval_shows_sub_second_values():
    assert _interval(0.5) == "0.5s" and _interval(0.25) == "0.25s" and _interval(30) == "30s"
    assert _interval(120) == "2m00s" and _interval(1.5) == "1.5s"


@pytest.mark.parametrize("text,seconds", [("90", 90), ("45s", 45), ("10m", 600), ("6h", 21600), ("1h30m", 5400),
                                          ("0.5s", 0.5)])
def test_durations(text, seconds):
    from reconciler.cli import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5", "h"])
def test_bad_durations(text):
    from reconciler.cli import parse_duration

    with pytest.raises(ValueError):
        parse_duration(text)


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

def test_the_console_entry_point_exits_without_tearing_the_interpreter_down(tmp_path):
    """Issue 29: after the last line the process ends (stdout/stderr flushed, the exit code kept) without the
    interpreter's final teardown (a large plan's garbage collection took ~0.1 s): atexit hooks do not run."""
    import subprocess
    import sys

    script = ("import atexit, sys\nfrom reconciler.cli import main\natexit.register(lambda: print('torn down'))\n"
              "sys.argv = ['tavus-reconciler', 'validate', sys.argv[1]]\nmain()\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nreplicas:\n  - name: [\n")
    proc = subprocess.run([sys.executable, "-c", script, str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "bad.yaml" in proc.stderr  # the error line is flushed, the code kept
    assert "torn down" not in proc.stdout


def test_the_client_is_built_while_the_file_is_read_and_its_errors_come_after_the_files(monkeypatch):
    """Issue 29: the client (httpx, its TLS context) is built in a thread while the file is loaded; an error
    building it (no API key) is raised only after the file's own errors, as before."""
    import threading

    import click

    from reconciler import cli as cli_module
    from reconciler.errors import ConfigError, UsageError

    built = threading.Event()

    class Client:
        closed = False

        def close(self):
            Client.closed = True

    def client_for(api_url):
        built.set()
        return Client()

    def load(path, policy_file=None):
        assert built.wait(20), "the client was not being built while the file loaded"
        if path == "bad.yaml":
            raise ConfigError(["bad.yaml:1:1: nope"])
        return "config"

    monkeypatch.setattr(cli_module, "_client_for", client_for)
    monkeypatch.setattr(cli_module, "_load", load)
    ctx = click.Context(cli, obj={"api_url": None, "no_color": False})
    config, client = cli_module._load_with_client(ctx, "good.yaml")
    assert config == "config" and isinstance(client, Client)

    built.clear()
    with pytest.raises(ConfigError):
        cli_module._load_with_client(ctx, "bad.yaml")
    assert cli_module._PENDING  # never taken: main() closes it
    cli_module._PENDING.pop().discard()
    assert Client.closed

    def no_key(api_url):
        built.set()
        raise UsageError("TAVUS_API_KEY is not set")

    built.clear()
    monkeypatch.setattr(cli_module, "_client_for", no_key)
    with pytest.raises(ConfigError):  # the file's error first
        cli_module._load_with_client(ctx, "bad.yaml")
    cli_module._PENDING.clear()
    with pytest.raises(UsageError, match="TAVUS_API_KEY"):
        cli_module._load_with_client(ctx, "good.yaml")
