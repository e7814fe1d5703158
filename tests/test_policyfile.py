"""reconciler.engine.policyfile: reading a --policy FILE (more cases in tests/test_policy.py)."""

from __future__ import annotations

import pytest

from reconciler.engine.policyfile import load_file
from reconciler.errors import ConfigError


def test_rules_at_the_top_or_under_policy(tmp_path):
    top, nested = tmp_path / "a.yaml", tmp_path / "b.yaml"
    top.write_text("max_deletes: 3\n")
    nested.write_text("policy:\n  max_deletes: {value: 2, level: warning}\n")
    (rule,) = load_file(str(top))
    assert (rule.name, rule.value, rule.level, rule.where) == ("max_deletes", 3, "error", f"{top}:1:1")
    (rule,) = load_file(str(nested))
    assert (rule.value, rule.level, rule.where) == (2, "warning", f"{nested}:2:3")


def test_unreadable_oversized_and_non_utf8_files_are_one_line(tmp_path):
    big, binary = tmp_path / "big.yaml", tmp_path / "bin.yaml"
    big.write_bytes(b"#" * (1024 * 1024 + 1))
    binary.write_bytes(b"max_deletes: \xff\n")
    for path, words in ((tmp_path / "none.yaml", "cannot read the policy file"), (big, "too large (over 1 MB)"),
                        (binary, "not UTF-8 text")):
        with pytest.raises(ConfigError) as info:
            load_file(str(path))
        (line,) = info.value.diagnostics
        assert line.startswith(f"{path}: ") and words in line
