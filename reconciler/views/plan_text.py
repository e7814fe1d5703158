"""The plan for a terminal, terraform-like: the safety header, every change with its attributes, the rollout,
then what stays as it is (training, unmanaged, not compared, released), variables, warnings, errors and the
summary line. A kind shows its changes through its view hook ``change_lines(change, color)``
(``kinds/<kind>/view.py``) or, without one, as the generic kinds' objects (:func:`_object_change_lines`)."""

from __future__ import annotations

from reconciler.api.redact import escape_control
from reconciler.engine.models import Action, Change, Plan
from reconciler.views.common import (
    _UNCOMPARED_HEAD,
    _noun,
    _oid,
    _pending_word,
    _percent,
    _safe,
    _style,
    _summary_line,
    _uncompared,
    _unmanaged_line,
    view_hook,
)
from reconciler.views.diff_lines import _nested_diff_lines, _persona_attr_lines, _view_rows
from reconciler.views.rollout_text import rollout_lines


def _object_notes(c: Change) -> list[str]:
    """What a change sends without comparing, could not compare, or overwrites."""
    lines = []
    if c.resent:
        lines.append("      sent as declared without comparing (--resend; the API does not return them): "
                     + ", ".join(_safe(a) for a in c.resent))
    if c.uncomparable:
        lines.append("      could not be compared (the API does not return them): "
                     + ", ".join(_safe(a) for a in c.uncomparable) + f"; `--resend {_safe(c.name)}` sends them")
    if c.discard_drafts:
        lines.append("      overwrites any unpublished changes left in the Tavus editor (--discard-editor-drafts)")
    return lines


def _object_change_lines(c: Change, color: bool) -> list[str]:
    """A change of a kind without its own ``change_lines`` hook (personas, and the generic engine's kinds):
    kind noun, name, id, reason, then the nested diff of an update or the attributes of a create/delete."""
    noun = _noun(c.kind)
    color_of = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}.get(c.action, "yellow")
    label = "update in place" if c.action is Action.UPDATE else c.action.value
    head = (_style(f"{c.action.symbol:>3}", color, fg=color_of, bold=True) + " "
            + _style(label, color, fg=color_of) + f" {noun} {_safe(c.name)}")
    if c.object_id:
        head += f" ({_safe(c.object_id)})"
    lines = [head, f"      reason: {_safe(c.reason)}"]
    if c.action is Action.UPDATE:
        lines += _nested_diff_lines(_view_rows(c))
    else:
        for k, v in ((c.after if c.action is Action.CREATE else c.before) or {}).items():
            if v is None or (k in (f"{noun}_name", "name") and v == c.name):
                continue
            lines += _persona_attr_lines(k, v, 6)
    return lines + _object_notes(c)


def _change_lines(c: Change, color: bool) -> list[str]:
    hook = view_hook(c.kind, "change_lines")
    return hook(c, color) if hook is not None else _object_change_lines(c, color)


def _replica_line(r, extra: str) -> str:
    return f"  {_safe(r.name)} ({_safe(r.replica_id)})  {extra}"


# ----------------------------------------------------------------------------------------- the blocks, in order
# each (plan, color, shown file) -> its lines, or none when it has nothing to say


def _safety_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if plan.safety is None:
        return []
    from reconciler.engine.policy import header_lines

    return [_style(_safe(line), color, fg="yellow" if "WHOLE" in line else None, bold=True)
            for line in header_lines(plan.safety)]


def _changes_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.changes:
        return []
    block = [f"tavus-reconciler will perform the following actions ({shown_file}):", ""]
    for c in plan.changes:
        block.extend(_change_lines(c, color))
    return block


def _rollout_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    return rollout_lines(plan.rollout, color) if plan.rollout is not None and plan.rollout.steps else []


def _pending_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.pending:
        return []
    return [_style("Still training (no change):", color, bold=True)] + [
        _replica_line(r, f"{_pending_word(r)} {_percent(r.progress_percent)}"
                      if r.progress_percent is not None else _pending_word(r))
        for r in plan.pending]


def _unmanaged_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.unmanaged:
        return []
    return [_style("Unmanaged (in scope, not declared; use --prune or settings.prune to delete):", color,
                   bold=True)] + [_replica_line(r, _pending_word(r)) for r in plan.unmanaged]


def _unmanaged_personas_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.unmanaged_personas:
        return []
    return ([_style("Unmanaged personas (in scope, not declared; use --prune to delete):", color, bold=True)]
            + [f"  {_safe(p.name)} ({_safe(p.persona_id)})" for p in plan.unmanaged_personas])


def _unmanaged_objects_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.unmanaged_objects:
        return []
    return ([_style("Unmanaged objects (in scope, not declared; use --prune to delete):", color, bold=True)]
            + [f"  {_safe(key)} {_safe(getattr(o, 'name', ''))}" for key, o in plan.unmanaged_objects])


def _uncompared_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    uncompared = _uncompared(plan)
    if not uncompared:
        return []
    return ([_style(_UNCOMPARED_HEAD + ":", color, bold=True)]
            + [f"  {_safe(n)}: {', '.join(_safe(x) for x in a)}" for n, a in uncompared])


def _released_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not (plan.forgotten or plan.forgotten_personas or plan.forgotten_objects):
        return []
    return ([_style("Released from management (removed:; kept on the account, never deleted):", color, bold=True)]
            + [f"  forget {_safe(r.name)} ({_safe(r.replica_id)})" for r in plan.forgotten]
            + [f"  forget persona {_safe(p.name or '')} ({_safe(p.persona_id)})" for p in plan.forgotten_personas]
            + [f"  forget {_safe(_noun(key))} {_safe(getattr(o, 'name', '') or '')} ({_safe(_oid(key, o))})"
               for key, o in plan.forgotten_objects])


def _notes_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.missing_vars:
        return []
    return ([_style("Variables not set (apply will refuse):", color, fg="red", bold=True)]
            + [f"  ${{{escape_control(v)}}}" for v in plan.missing_vars])


def _warnings_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.warnings:
        return []
    return [_style("Warnings:", color, fg="yellow", bold=True)] + [f"  - {_safe(w)}" for w in plan.warnings]


def _errors_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if not plan.errors:
        return []
    return [_style("Errors:", color, fg="red", bold=True)] + [f"  - {_safe(e)}" for e in plan.errors]


def _final_block(plan: Plan, color: bool, shown_file: str) -> list[str]:
    if plan.changes or plan.errors:
        final = _style(_summary_line(plan.summary), color, bold=True)
        if plan.errors:
            final += f"\nThe plan has {len(plan.errors)} error(s): it cannot be applied."
        return [final]
    if plan.unmanaged:
        return [_style(_unmanaged_line(plan, shown_file), color, fg="yellow", bold=True)]
    return [_style(f"No changes. Inventory matches {shown_file}.", color, fg="green", bold=True)]


_BLOCKS = (_safety_block, _changes_block, _rollout_block, _pending_block, _unmanaged_block,
           _unmanaged_personas_block, _unmanaged_objects_block, _uncompared_block, _released_block, _notes_block,
           _warnings_block, _errors_block, _final_block)


def plan_text(plan: Plan, *, file: str, color: bool = False) -> str:
    """Terraform-like plan for a terminal."""
    shown_file = _safe(file)
    blocks = [block for build in _BLOCKS if (block := build(plan, color, shown_file))]
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"
