"""``status``: the inventory as an aligned table for a terminal, or as the versioned status document
(schemas/status.schema.json)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.engine.status import Phase
from reconciler.kinds.replicas.resolve import ABSENT
from reconciler.views.common import (
    FORMAT_VERSION,
    PREVIEW_WORD,
    _json_safe,
    _percent,
    _plain_cells,
    _safe,
    _style,
    redact_text,
)
from reconciler.views.json_text import dumps_indented

_PHASE_COLOR = {"ready": "green", "pending": "yellow", "preview": "cyan", "failed": "red", "absent": "magenta"}
_STATUS_HEADER = ("NAME", "REPLICA_ID", "STATUS", "PROGRESS", "MODEL")


def status_json(rows: Sequence[Mapping[str, object]], personas: Sequence[Mapping[str, object]] = (),
                objects: Mapping[str, Sequence[Mapping[str, object]]] | None = None) -> str:
    """The status document (schemas/status.schema.json): versioned like the plan's, replicas then personas,
    then one list per other kind the file declares (``documents``...)."""
    def named(items):
        return [{**row, "name": redact_text(row["name"])} if "name" in row else row for row in items]

    doc = {"format_version": FORMAT_VERSION, "replicas": named(rows), "personas": named(personas),
           **{key: named(items) for key, items in (objects or {}).items()}}
    return _json_safe(dumps_indented(doc, end="\n"))


def _rollout_cell(row: Mapping[str, Any]) -> str:
    """A status row's place in the rollout (issue 19): its state, what comes next."""
    r = row.get("rollout")
    if not isinstance(r, Mapping):
        return "-"
    words = {"waiting": f"waiting (#{r.get('position')})", "trained": "trained: verify+swap next"}
    cell = words.get(r.get("state"), str(r.get("state")))
    return f"canary: {cell}" if r.get("canary") else cell


def _raw(row: Mapping[str, Any]) -> list[str]:
    """A row's cells, before redaction."""
    status = PREVIEW_WORD if row.get("phase") == Phase.PREVIEW.value else row.get("status")
    if row.get("phase") == Phase.FAILED.value and row.get("finetune_status"):  # phoenix-4.5: its fine-tune
        status = f"fine-tune {row['finetune_status']}"
    return [str(row.get("name") or ""), str(row.get("replica_id") or "-"), str(status or "-"),
            _percent(row.get("progress")), str(row.get("model_name") or "-")]


def _cells(rows: Sequence[Mapping[str, Any]], with_rollout: bool) -> list[list[str]]:
    """Every row's cells, safe to show: each through _safe only when some cell needs it (49k lines: 0.15 s)."""
    table = [_raw(r) for r in rows]
    if not _plain_cells(table):
        table = [[_safe(c) for c in t] for t in table]
    if with_rollout:
        table = [[*t, _rollout_cell(r)] for r, t in zip(rows, table, strict=True)]
    return table


class _Table:
    """Aligned lines of cells (terminal cells: 日本語 takes two each, a combining mark none)."""

    def __init__(self, header: Sequence[str], table: Sequence[Sequence[str]], color: bool):
        from reconciler.views.progress import _width_of

        self.color = color
        self.ascii_only = all(c.isascii() for t in table for c in t)
        self.width = len if self.ascii_only else _width_of
        self.widths = [max([len(h)] + [self.width(t[i]) for t in table]) for i, h in enumerate(header)]
        self.template = "  ".join(f"{{:<{w}}}" for w in self.widths)

    def line(self, values: Sequence[str], phase: str | None = None) -> str:
        if self.ascii_only and (phase is None or not self.color):
            return self.template.format(*values).rstrip()
        padded = [v + " " * (w - self.width(v)) for v, w in zip(values, self.widths, strict=True)]
        if phase is not None:
            padded[2] = _style(padded[2], self.color, fg=_PHASE_COLOR.get(phase))
        return "  ".join(padded).rstrip()


def _count_line(declared: Sequence[Mapping[str, Any]], unmanaged: int) -> str:
    count = {p: sum(r.get("phase") == p for r in declared) for p in ("ready", "pending", "preview", "failed", ABSENT)}
    previews = f"{count['preview']} preview (not ready), " if count["preview"] else ""
    return (f"{len(declared)} declared: {count['ready']} ready, {count['pending']} training, {previews}"
            f"{count['failed']} failed, {count[ABSENT]} absent; {unmanaged} unmanaged")


def status_text(rows: Sequence[Mapping[str, Any]], *, color: bool = False, rollout: str | None = None) -> str:
    """An aligned table; failed rows are followed by their error message; a one-line summary at the end.
    ``rollout``: the rollout's summary line (issue 19); rows carrying a ``rollout`` field add a ROLLOUT column."""
    with_rollout = any("rollout" in r for r in rows)
    header = _STATUS_HEADER + (("ROLLOUT",) if with_rollout else ())
    declared = [r for r in rows if r.get("managed", True)]
    unmanaged = [r for r in rows if not r.get("managed", True)]
    table = _cells(rows, with_rollout)
    shown = {id(r): t for r, t in zip(rows, table, strict=True)}
    lines = _Table(header, table, color)
    out = [_style(lines.line(header), color, bold=True)]

    def emit(group: Sequence[Mapping[str, Any]]) -> None:
        for r in group:
            out.append(lines.line(shown[id(r)], str(r.get("phase"))))
            if r.get("phase") == Phase.FAILED.value:
                out.append(_style(f"  error: {_safe(r.get('error_message') or 'no error message')}", color,
                                  fg="red"))

    emit(declared)
    if unmanaged:
        out += ["", "Unmanaged (in scope, not declared):"]
        emit(unmanaged)
    out += ["", _count_line(declared, len(unmanaged))]
    if rollout:
        out.append(_safe(rollout))
    return "\n".join(out) + "\n"
