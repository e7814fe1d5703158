"""A change's attributes as plan text shows them: flat attribute diffs, terraform-like nested blocks for an
update (a long prompt as a unified line diff), and an object's attributes on create/delete within WIDTH."""

from __future__ import annotations

import json
from collections.abc import Mapping

from reconciler.api.redact import escape_control
from reconciler.engine.models import Change
from reconciler.views.common import _MISSING, WIDTH, _redact_deep, _safe, view_hook


def _attr_diff(before: Mapping[str, object], after: Mapping[str, object]) -> list[tuple[str, object, object]]:
    """(key, old, new) for every top-level attribute that differs; _MISSING for an absent side.
    Ordered like ``after`` then the keys only ``before`` has, so output is stable. The attributes are flat: a
    plain comparison (type-strict, so ``1`` -> ``true`` shows) finds them without importing a diff library."""
    changed = {k for k in {**before, **after}
               if type(old := before.get(k, _MISSING)) is not type(new := after.get(k, _MISSING)) or old != new}
    order = [k for k in after if k in changed] + [k for k in before if k in changed and k not in after]
    return [(k, before.get(k, _MISSING), after.get(k, _MISSING)) for k in order]


def _persona_value(value: object) -> str:
    return _safe(json.dumps(_redact_deep(value), ensure_ascii=False))


def _prompt_diff(old: object, new: object) -> list[str] | None:
    """A long or multi-line prompt change as a unified line diff (None for short one-liners)."""
    if not isinstance(old, str) or not isinstance(new, str) or ("\n" not in old + new and len(old + new) < 120):
        return None
    import difflib

    return [_safe(line.rstrip("\n")) for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2)]


def _fit_diff_line(pad: str, line: str) -> list[str]:
    """A prompt diff line within WIDTH: an unchanged (context) line is cut with an ellipsis, an added or
    removed one is wrapped, each piece under its own + or - so every changed word is shown."""
    import textwrap

    if len(pad) + len(line) <= WIDTH or line[:1] not in " +-" or line.startswith(("+++", "---")):
        return [pad + line]
    if line[:1] == " ":
        return [pad + line[:WIDTH - len(pad) - 1] + "…"]
    return [pad + line[0] + piece for piece in textwrap.wrap(line[1:], WIDTH - len(pad) - 1, drop_whitespace=False)]


def _leaf_lines(pad: str, leaf: str, old: object, new: object) -> list[str]:
    """One changed leaf of a nested diff: a prompt's line diff, an added, a removed or a changed value."""
    prompt = _prompt_diff(old, new)
    if prompt is not None:
        return [f"{pad}~ {escape_control(leaf)}:"] + [
            fitted for line in prompt for fitted in _fit_diff_line(f"{pad}    ", line)]
    if old is None:
        return [f"{pad}+ {escape_control(leaf)}: {_persona_value(new)}"]
    if new is None:
        return [f"{pad}- {escape_control(leaf)}: {_persona_value(old)}"]
    return [f"{pad}~ {escape_control(leaf)}: {_persona_value(old)} -> {_persona_value(new)}"]


def _nested_diff_lines(rows, indent: int = 6) -> list[str]:
    """Rows (dotted path, old, new) as terraform shows a changed block: ``~ layers { ~ llm { ~ model: a -> b } }``."""
    lines: list[str] = []
    opened: list[str] = []
    for path, old, new in rows:
        parts = path.split(".")
        parents, leaf = parts[:-1], parts[-1]
        while opened and opened != parents[:len(opened)]:
            opened.pop()
            lines.append(" " * (indent + 2 * len(opened)) + "}")
        for p in parents[len(opened):]:
            lines.append(" " * (indent + 2 * len(opened)) + f"~ {escape_control(p)} {{")
            opened.append(p)
        lines += _leaf_lines(" " * (indent + 2 * len(opened)), leaf, old, new)
    while opened:
        opened.pop()
        lines.append(" " * (indent + 2 * len(opened)) + "}")
    return lines


def _persona_attr_lines(key: str, value: object, indent: int) -> list[str]:
    """One attribute of a persona being created or deleted, within WIDTH columns where the value allows: a
    mapping as a ``key {`` block of its keys, a long or multi-line string (a prompt) as a ``key: |`` block of
    its lines wrapped at WIDTH (the text itself is unchanged: the file has it as written)."""
    import textwrap

    pad, name = " " * indent, escape_control(key)
    if isinstance(value, Mapping) and value:
        return ([f"{pad}{name} {{"] + [line for k, v in value.items() if v is not None
                                       for line in _persona_attr_lines(str(k), v, indent + 2)] + [f"{pad}}}"])
    shown = _persona_value(value)
    if not isinstance(value, str) or ("\n" not in value and len(pad) + len(name) + 2 + len(shown) <= WIDTH):
        return [f"{pad}{name}: {shown}"]
    body = [escape_control(str(_redact_deep(line))) for line in value.splitlines()]
    inner = " " * (indent + 2)
    return [f"{pad}{name}: |"] + [wrapped for line in body for wrapped in (
        textwrap.wrap(line, WIDTH, initial_indent=inner, subsequent_indent=inner + "  ", break_long_words=True,
                      break_on_hyphens=False) or [inner.rstrip()])]


def _view_rows(c: Change):
    """An update's rows: the kind's view hook (``kinds/<kind>/view.py: plan_rows(change)``) or the diff."""
    hook = view_hook(c.kind, "plan_rows")
    return hook(c) if hook is not None else c.diff
