"""A change's attributes as plan text shows them (reconciler/views/diff_lines.py)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change
from reconciler.views.common import _MISSING
from reconciler.views.diff_lines import _attr_diff, _nested_diff_lines, _persona_attr_lines, _view_rows


def test_attr_diff_is_type_strict_and_ordered():
    assert _attr_diff({"a": 1, "b": 2, "gone": 0}, {"b": 2, "a": True}) == [("a", 1, True), ("gone", 0, _MISSING)]


def test_nested_rows_open_and_close_blocks():
    lines = _nested_diff_lines([("layers.llm.model", "a", "b"), ("layers.tts.voice", None, "v"), ("x", "o", None)])
    assert lines == ["      ~ layers {", "        ~ llm {", '          ~ model: "a" -> "b"', "        }",
                     "        ~ tts {", '          + voice: "v"', "        }", "      }", '      - x: "o"']


def test_a_long_prompt_change_is_a_line_diff_within_80_columns():
    old, new = "line one\n" + "word " * 30, "line one\n" + "word " * 31
    lines = _nested_diff_lines([("system_prompt", old, new)])
    assert lines[0] == "      ~ system_prompt:" and any(x.lstrip().startswith("+") for x in lines)
    assert all(len(x) <= 80 for x in lines)


def test_attribute_block_wraps_long_text_and_nests_mappings():
    assert _persona_attr_lines("layers", {"llm": {"model": "m"}}, 6) == [
        "      layers {", "        llm {", '          model: "m"', "        }", "      }"]
    assert _persona_attr_lines("p", "x " * 60, 6)[0] == "      p: |"


def test_view_rows_use_the_kinds_hook():
    c = Change(Action.UPDATE, "o", "r", kind="objectives", diff=(("data", [{"objective_name": "a"}], []),))
    assert _view_rows(c) == [("data[0]", "a", None)]
    d = Change(Action.UPDATE, "d", "r", kind="documents", diff=(("x", 1, 2),))
    assert _view_rows(d) == (("x", 1, 2),)
