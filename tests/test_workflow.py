"""workflows/workflow.py is the facade the CLI imports the workflows from (issue 26 split them by workflow): each
name it exports is the very object of the module that defines it, and every ``workflow.X`` the CLI uses exists.
The workflows' own tests are their modules' mirrors (test_planning.py, test_applying.py, test_waiting.py, ...)."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler.workflows import workflow

CLI = Path(__file__).resolve().parents[1] / "reconciler" / "cli"


def test_every_exported_name_is_the_defining_modules_object():
    import importlib

    for name in workflow.__all__:
        obj = getattr(workflow, name)
        home = importlib.import_module(obj.__module__)
        assert home is not workflow and getattr(home, name) is obj, name
        assert obj.__module__.startswith("reconciler.workflows."), (name, obj.__module__)


def test_every_name_the_cli_takes_from_the_facade_exists():
    used: set[str] = set()
    for path in CLI.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bworkflow\.(\w+)", text))
        used |= {n.strip() for m in re.findall(r"from reconciler\.workflows\.workflow import ([\w, ]+)", text)
                 for n in m.split(",")}
    assert used >= {"plan", "apply", "wait", "status", "output", "export", "smoke", "converse", "Console"}
    assert sorted(used - set(workflow.__all__)) == []
