"""Markdown pieces (reconciler/views/md.py): nothing the API says renders as HTML, a link or a cell break."""

from __future__ import annotations

from reconciler.views.md import _md_code, _md_details, _md_fence, _md_table, _md_text


def test_text_escapes_markdown_and_html():
    assert _md_text("<b>x</b> | *y*") == "\\<b\\>x\\</b\\> \\| \\*y\\*"


def test_code_is_fenced_longer_than_any_backtick_run_and_pipes_escaped_in_cells():
    assert _md_code("a`b") == "`` a`b ``"
    assert _md_code("a|b") == "`a\\|b`" and _md_code("a|b", cell=False) == "`a|b`"
    assert _md_code("") == ""


def test_fence_outgrows_the_body():
    assert _md_fence("x\n````\ny").startswith("`````text\n")


def test_table_and_details():
    assert _md_table(["A", "B"], [["1", "2"]]) == ["| A | B |", "|---|---|", "| 1 | 2 |"]
    out = _md_details("S (1)", "intro", ["A"], [["1"]])
    assert out[0] == "<details><summary>S (1)</summary>" and "intro" in out and out[-2] == "</details>"
