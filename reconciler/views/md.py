"""Markdown pieces for PR comments: plain text, inline code, fences, tables and collapsed sections, safe to
render whatever the API answered (no HTML, no links, no emphasis, no cell breaks)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from reconciler.views.common import _safe

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")


def _md_text(text: object) -> str:
    """Plain Markdown text in a table cell or a paragraph: no HTML, no links, no emphasis, no cell breaks."""
    return _MD_SPECIAL.sub(r"\\\1", _safe(text))


def _md_code(text: object, *, cell: bool = True) -> str:
    """Inline code: fenced with more backticks than any run inside; ``|`` escaped in GFM table cells."""
    s = _safe(text)
    if cell:
        s = s.replace("|", "\\|")
    if not s:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0) if "`" in s else 0
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or longest else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _md_fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}text\n{body}\n{fence}"


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    return [row(header), "|" + "---|" * len(header), *(row(r) for r in rows)]


def _md_details(summary: str, intro: str | None, header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A collapsed section of a PR comment: its summary line, an optional sentence, a table."""
    return [f"<details><summary>{summary}</summary>", "", *([intro, ""] if intro else []),
            *_md_table(header, rows), "", "</details>", ""]
