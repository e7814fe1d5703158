"""How plans show a replica's change (the view hooks ``change_lines`` and ``document_fields``; see
reconciler/views/plan_text.py): terraform-like, a flat attribute diff, ``# forces replacement`` on the model,
and where an in-flight replace stands. A replica's change document holds only the common keys."""

from __future__ import annotations

from typing import Any

from reconciler.api.redact import escape_control
from reconciler.engine.models import Action
from reconciler.views.common import _MISSING, _redact_attrs, _safe, _show_value, _style
from reconciler.views.diff_lines import _attr_diff

_REPLACE_STEPS = {
    "training": "successor training (old replica serving) -> delete old, rename successor",
    "swap": "successor ready -> delete old, rename successor",
    "rename": "old replica deleted -> rename successor",
}
_ACTION_COLOR = {Action.CREATE: "green", Action.RENAME: "yellow", Action.REPLACE: "magenta", Action.DELETE: "red"}


def document_fields(change: Any) -> dict:
    """No keys beyond the plan document's common ones (``replica_id`` is one of them)."""
    return {}


def _attribute_lines(attrs: dict | None, name: str) -> list[str]:
    return [f"      {escape_control(k)}: {_show_value(v)}" for k, v in (attrs or {}).items()
            if v is not None and not (k == "replica_name" and v == name)]


def change_lines(c: Any, color: bool) -> list[str]:
    """The lines of one replica change: head, reason, then its attributes or their diff."""
    symbol = _style(f"{c.action.symbol:>3}", color, fg=_ACTION_COLOR[c.action], bold=True)
    verb = _style(c.action.value, color, fg=_ACTION_COLOR[c.action]) + " " * (7 - len(c.action.value))
    head = f"{symbol} {verb} {_safe(c.name)}"
    if c.object_id:
        head += f" ({_safe(c.object_id)})"
    lines = [head, f"      reason: {_safe(c.reason)}"]
    if c.action is Action.REPLACE and c.successor_id:  # in flight: say where it stands and what comes next
        lines.append(f"      in flight: {_safe(c.phase)}: {_REPLACE_STEPS.get(c.phase or '', '')}")
    before, after = _redact_attrs(c.before), _redact_attrs(c.after)
    if c.action is Action.CREATE or (before is None and after is not None):
        return lines + _attribute_lines(after, c.name)
    if c.action is Action.DELETE or after is None:
        return lines + _attribute_lines(before, c.name)
    for k, old, new in _attr_diff(before or {}, after or {}):
        line = f"      {escape_control(k)}: {_show_value(old)} -> {_show_value(new)}"
        if c.action is Action.REPLACE and k == "model_name" and new is not _MISSING:
            line += "   " + _style("# forces replacement", color, fg="magenta")
        lines.append(line)
    return lines
