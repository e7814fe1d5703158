"""reconciler.exitcodes: the codes are distinct, the old names agree, and the README's table lists each one."""

from __future__ import annotations

import re
from pathlib import Path

from reconciler import exitcodes as ec

CODES = {"OK": 0, "ERROR": 1, "CHANGES": 2, "FAILED": 3, "TIMEOUT": 4, "INTERRUPTED": 130, "TERMINATED": 143}


def test_every_code_has_its_documented_value_and_they_are_distinct():
    assert {name: getattr(ec, name) for name in CODES} == CODES
    assert len(set(CODES.values())) == len(CODES)


def test_the_legacy_names_are_the_same_codes():
    for name in CODES:
        assert getattr(ec, f"EXIT_{name}") == getattr(ec, name)


def test_the_readme_table_lists_exactly_these_codes():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    listed = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.M)}
    assert listed == set(CODES.values())


def test_signal_exit_codes_follow_the_shell_convention():
    import signal

    assert ec.INTERRUPTED == 128 + signal.SIGINT and ec.TERMINATED == 128 + signal.SIGTERM
