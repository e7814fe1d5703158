"""reconciler.cli.apply: apply's confirmation, and the intervals wait prints."""

from __future__ import annotations

import io

import pytest

from reconciler.cli.apply import _confirm, _interval
from reconciler.errors import UsageError


def test_interval_shows_sub_second_values():
    assert _interval(0.5) == "0.5s" and _interval(0.25) == "0.25s" and _interval(30) == "30s"
    assert _interval(120) == "2m00s" and _interval(1.5) == "1.5s"


def test_apply_without_a_terminal_is_refused_not_approved(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))  # piped input is not an answer
    with pytest.raises(UsageError, match="pass --auto-approve"):
        _confirm(None)


def test_apply_asks_and_names_what_it_deletes(monkeypatch, capsys):
    from types import SimpleNamespace

    from reconciler.engine.models import Action

    class Tty(io.StringIO):
        def isatty(self):
            return True

    class Result:
        changes = (SimpleNamespace(action=Action.DELETE, name="old"),
                   SimpleNamespace(action=Action.RENAME, name="kept"))

    monkeypatch.setattr("sys.stdin", Tty())
    answers = iter(["yes", "no"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert _confirm(Result()) is True
    assert _confirm(Result()) is False
    out = capsys.readouterr().out
    assert "1 replica(s) will be DELETED: old\n" in out and "kept" not in out
