"""The plan for a pull-request comment: stable between runs, safe to render. The summary and the changes'
table first, the attribute changes and the diagram collapsed, then what stays as it is, each a collapsed
table."""

from __future__ import annotations

from reconciler.engine.models import Action, Plan
from reconciler.views.common import (
    _FORGET,
    _UNCOMPARED_HEAD,
    _object_rows,
    _pending_word,
    _percent,
    _summary_line,
    _uncompared,
    _unmanaged_line,
)
from reconciler.views.md import _md_code, _md_details, _md_fence, _md_table, _md_text
from reconciler.views.plan_text import _change_lines
from reconciler.views.rollout_text import rollout_markdown

_MD_EMOJI = {Action.CREATE: "➕", Action.RENAME: "✏️", Action.REPLACE: "♻️", Action.DELETE: "➖", Action.UPDATE: "✏️"}
_UNMANAGED = "In scope but not declared; `--prune` or `settings.prune` would delete them."


def _md_objects(plan: Plan) -> list[str]:
    """The generic kinds' forgotten and unmanaged objects, each a collapsed table (kind, name, id)."""
    out: list[str] = []
    for title, intro, items in (("Forget objects", _FORGET, plan.forgotten_objects),
                                ("Unmanaged objects", _UNMANAGED, plan.unmanaged_objects)):
        if items:
            out += _md_details(f"{title} ({len(items)})", intro, ["Kind", "Name", "Id"], (
                [_md_text(row["kind"]), _md_code(row["name"]), _md_code(row["id"])] for row in _object_rows(items)))
    return out


def _md_diagram(plan: Plan) -> list[str]:
    """The Mermaid diagram of what the plan touches (reconciler.views.mermaid; none when nothing references)."""
    from reconciler.kinds import kinds
    from reconciler.views.common import _safe
    from reconciler.views.mermaid import diagram

    return diagram(plan.changes, {k.key: k.noun for k in kinds()}, redact=_safe)


def _md_head(plan: Plan, file: str) -> list[str]:
    """The title, the safety header, the errors and the summary (or that nothing changes)."""
    out: list[str] = [f"### tavus-reconciler plan: {_md_code(file, cell=False)}", ""]
    if plan.safety is not None:
        from reconciler.engine.policy import header_lines

        out += [x for line in header_lines(plan.safety) for x in (f"**{_md_text(line)}**", "")]
    for e in plan.errors:
        out += [f"> **Error:** {_md_text(e)}", ""]
    if plan.changes or plan.errors:
        out += [f"**{_summary_line(plan.summary)}**", ""]
    elif plan.unmanaged:
        out += [_md_text(_unmanaged_line(plan, file)), ""]
    else:
        out += [f"No changes. Inventory matches {_md_code(file, cell=False)}.", ""]
    return out


def _md_changes(plan: Plan) -> list[str]:
    """The changes' table, their attributes in a collapsed fence, the diagram."""
    if not plan.changes:
        return []
    out = _md_table(["Action", "Name", "Replica", "Reason"], (
        [f"{_MD_EMOJI[c.action]} {c.action.value}", _md_code(c.name), _md_code(c.object_id or ""),
         _md_text(c.reason)] for c in plan.changes))
    out.append("")
    details = "\n".join(line for c in plan.changes for line in _change_lines(c, False))
    out += ["<details><summary>Attribute changes</summary>", "", _md_fence(details), "", "</details>", ""]
    return out + _md_diagram(plan)


def _md_notes(plan: Plan) -> list[str]:
    """The rollout, the variables not set, the warnings."""
    out: list[str] = []
    if plan.rollout is not None and plan.rollout.steps:
        out += rollout_markdown(plan.rollout)
    if plan.missing_vars:
        names = ", ".join(_md_code(f"${{{v}}}", cell=False) for v in plan.missing_vars)
        out += [f"**Variables not set (apply will refuse):** {names}", ""]
    for w in plan.warnings:
        out += [f"> **Warning:** {_md_text(w)}", ""]
    return out


def _md_unchanged(plan: Plan) -> list[str]:
    """What the plan leaves as it is: training, released, not compared, unmanaged."""
    out: list[str] = []
    if plan.pending:
        out += _md_details(f"Still training ({len(plan.pending)})", None, ["Name", "Replica", "Status", "Progress"], (
            [_md_code(r.name), _md_code(r.replica_id), _md_text(_pending_word(r)), _percent(r.progress_percent)]
            for r in plan.pending))
    if plan.forgotten:
        out += _md_details(f"Forget ({len(plan.forgotten)})", _FORGET, ["Name", "Replica", "Status"], (
            [_md_code(r.name), _md_code(r.replica_id), _md_text(r.status)] for r in plan.forgotten))
    if plan.forgotten_personas:
        out += _md_details(f"Forget personas ({len(plan.forgotten_personas)})", _FORGET, ["Name", "Persona"], (
            [_md_code(p.name or ""), _md_code(p.persona_id)] for p in plan.forgotten_personas))
    uncompared = _uncompared(plan)
    if uncompared:
        out += _md_details(f"Not compared ({len(uncompared)})", _md_text(_UNCOMPARED_HEAD) + ".",
                           ["Name", "Attributes"],
                           ([_md_code(n), ", ".join(_md_code(x) for x in a)] for n, a in uncompared))
    if plan.unmanaged:
        out += _md_details(f"Unmanaged ({len(plan.unmanaged)})", _UNMANAGED, ["Name", "Replica", "Status"],
                           ([_md_code(r.name), _md_code(r.replica_id), _md_text(_pending_word(r))]
                            for r in plan.unmanaged))
    return out


def plan_markdown(plan: Plan, *, file: str) -> str:
    """The plan for a pull-request comment: stable between runs, safe to render."""
    out = _md_head(plan, file) + _md_changes(plan) + _md_notes(plan) + _md_unchanged(plan) + _md_objects(plan)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
