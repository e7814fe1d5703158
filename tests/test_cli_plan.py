"""reconciler.cli.plan: validate, plan and show; what they print and their exit codes (offline parts)."""

from __future__ import annotations

import pytest

from reconciler.cli import main
from reconciler.cli.plan import _error_lines
from reconciler.errors import ConfigError, PlanError, UsageError

GOOD = "version: 1\nreplicas:\n  - name: a\n    train_video_url: https://v.example/a.mp4\n    synthetic: true\n"


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_validate_counts_what_each_file_declares_and_fails_on_any_bad_one(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text("version: 1\nreplicas:\n  - name: [\n")
    assert run(capsys, "validate", str(good)) == (0, f"{good}: valid (1 replica)\n", "")
    code, out, err = run(capsys, "validate", str(good), str(bad))
    assert code == 1 and out == f"{good}: valid (1 replica)\n"
    assert err.startswith(f"{bad}:") and "Traceback" not in err


def test_the_lines_of_an_error_are_those_main_prints():
    assert _error_lines(ConfigError(["f:1:1: a", "f:2:1: b"])) == ["f:1:1: a", "f:2:1: b"]
    assert _error_lines(PlanError(["x", "y"])) == ["x", "y"]
    assert _error_lines(UsageError("z")) == ["z"]


def test_show_refuses_what_is_not_a_saved_plan(tmp_path, capsys):
    replicas = tmp_path / "r.yaml"
    replicas.write_text(GOOD)
    assert run(capsys, "show", str(replicas)) == (
        1, "", f"error: {replicas}: not a saved plan (make one with `plan --out`)\n")
    missing = tmp_path / "none.plan"
    assert run(capsys, "show", str(missing)) == (1, "", f"error: {missing}: no such file\n")


def test_plan_refuses_a_saved_plan_as_its_file(tmp_path, capsys, monkeypatch):
    from reconciler.cli import loading

    closed = []

    class Client:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(loading, "client_for", lambda api_url: Client())
    monkeypatch.setattr("reconciler.engine.planfile.is_planfile", lambda path: True)
    code, out, err = run(capsys, "plan", str(tmp_path / "release.plan"))
    assert code == 1 and "is a saved plan, not a replicas file" in err and out == ""
    assert closed == [True] and not loading.PENDING  # the client built meanwhile is closed by main()
