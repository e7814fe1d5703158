"""reconciler.cli.converse: smoke and converse; a billed conversation is never started without a yes."""

from __future__ import annotations

import io

import pytest

from reconciler.cli import main
from reconciler.cli.converse import _confirm_conversation
from reconciler.errors import UsageError


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_end_takes_only_the_conversation_id(capsys):
    code, out, err = run(capsys, "converse", "replicas.yaml", "--end", "c123")
    assert code == 1 and out == ""
    assert err == "error: --end takes only the conversation id: `tavus-reconciler converse --end CONVERSATION_ID`\n"


def test_converse_needs_a_file_and_a_name(capsys):
    code, out, err = run(capsys, "converse", "replicas.yaml")
    assert code == 1 and "converse needs FILE and NAME" in err and out == ""


def test_no_terminal_no_conversation(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    with pytest.raises(UsageError, match="pass --yes"):
        _confirm_conversation("acme-interviewer")


def test_a_terminal_is_asked_and_only_yes_starts_it(monkeypatch, capsys):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    answers = iter(["yes", "sure"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert _confirm_conversation("acme-interviewer") is True
    assert _confirm_conversation("acme-interviewer") is False
    assert "Start a real conversation with acme-interviewer? It is billed" in capsys.readouterr().out
