"""reconciler.cli.console: colour only for a terminal, one redaction choke point, Terraform's approval prompt."""

from __future__ import annotations

import io

import pytest

from reconciler.cli.console import answered_yes, err, stdin_is_a_terminal, use_color


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_for_a_terminal_without_no_color_or_a_dumb_term(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(Tty()) and not use_color(io.StringIO()) and not use_color(object())
    closed = io.StringIO()
    closed.close()  # its isatty() raises ValueError
    assert not use_color(closed)
    monkeypatch.setenv("TERM", "dumb")
    assert not use_color(Tty())
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())


def test_err_escapes_control_characters_and_keeps_blank_lines(capsys):
    err("\nbad \x1b[2J name\n\n")
    assert capsys.readouterr().err == "\nbad \\x1b[2J name\n\n\n"


@pytest.mark.parametrize("answer, approved", [("yes", True), ("  yes \n", True), ("y", False), ("YES", False),
                                              ("", False)])
def test_only_yes_approves(answer, approved, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt="": answer)
    assert answered_yes() is approved
    assert capsys.readouterr().out == "  Only 'yes' will be accepted to approve.\n"


def test_no_answer_is_no(monkeypatch):
    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert answered_yes() is False


def test_a_closed_or_piped_stdin_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", Tty())
    assert stdin_is_a_terminal()
    monkeypatch.setattr("sys.stdin", io.StringIO())
    assert not stdin_is_a_terminal()
    closed = Tty()
    closed.close()
    monkeypatch.setattr("sys.stdin", closed)
    assert not stdin_is_a_terminal()
    monkeypatch.setattr("sys.stdin", None)
    assert not stdin_is_a_terminal()
