"""reconciler.cli.exits: every typed error is one line on stderr and a documented exit code; the process ends
right after the last flush."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.exits import exit_code_for
from reconciler.engine.interrupts import Terminated
from reconciler.errors import AuthError, ConfigError, PlanError, UsageError
from reconciler.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED


@pytest.mark.parametrize("error, code, stderr", [
    (ConfigError(["f.yaml:1:1: bad", "f.yaml:2:1: worse"]), EXIT_ERROR, "f.yaml:1:1: bad\nf.yaml:2:1: worse\n"),
    (PlanError(["one", "two"]), EXIT_ERROR, "error: one\nerror: two\n"),
    (UsageError("leave it out"), EXIT_ERROR, "error: leave it out\n"),
    (click.exceptions.Abort(), EXIT_INTERRUPTED, "Interrupted.\n"),
    (click.ClickException("nope"), EXIT_ERROR, "error: nope\n"),
    (click.UsageError("No such option"), EXIT_ERROR, "error: No such option (see `tavus-reconciler --help`)\n"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "Interrupted.\n"),
    (Terminated(), EXIT_TERMINATED, "Interrupted.\n"),
    (OverflowError("x"), EXIT_ERROR, "error: a value is too large to handle (OverflowError); check the arguments "
                                     "and the file\n"),
    (ValueError("a bug"), EXIT_ERROR, "internal error: ValueError: a bug (set TAVUS_DEBUG=1 for details and please "
                                      "report it)\n"),
])
def test_each_error_is_one_line_and_its_exit_code(error, code, stderr, capsys, monkeypatch):
    monkeypatch.delenv("TAVUS_DEBUG", raising=False)
    assert exit_code_for(error) == code
    assert capsys.readouterr().err == stderr


def test_an_api_error_keeps_its_own_exit_code_and_secrets_stay_out(capsys):
    error = AuthError("401 Unauthorized \x1b[31m")
    assert exit_code_for(error) == error.exit_code
    assert "\x1b" not in capsys.readouterr().err  # the one choke point escapes control characters


def test_an_os_error_names_its_file(capsys, monkeypatch):
    monkeypatch.setattr("reconciler.cli.exits.silence_stdout", lambda: None)  # keep pytest's stdout
    assert exit_code_for(OSError(28, "No space left on device", "out.yaml")) == EXIT_ERROR
    assert capsys.readouterr().err == "error: No space left on device (out.yaml)\n"


def test_a_bug_under_tavus_debug_is_left_to_raise(monkeypatch, capsys):
    monkeypatch.setenv("TAVUS_DEBUG", "1")
    assert exit_code_for(ValueError("a bug")) is None and capsys.readouterr().err == ""


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
