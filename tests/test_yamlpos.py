"""Reading YAML with positions: pieces not covered through load_config in test_config.py."""

from __future__ import annotations

from reconciler.engine.yamlpos import indent_tab as _indent_tab


def test_indent_tab_position():
    assert _indent_tab("a:\n\tb: 1\n", 2) == (2, 1)
    assert _indent_tab("a:\n  \tb: 1\n", 2) == (2, 3)
    assert _indent_tab("a:\n  b: '\t'\n", 2) is None  # a tab inside a value is not indentation
