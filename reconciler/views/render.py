"""Renderers: a Plan or a status inventory as JSON, terminal text or Markdown (for PR comments).

Everything shown here may come from the API (names, statuses, error messages), so every string goes through
``escape_control`` before it reaches a terminal or a comment, and every URL through ``redact_url`` (presigned
URLs carry their signature in the query string). Output is deterministic: no clock, no environment (colour is
decided by the CLI and passed in as ``color=``), stable ordering, so golden files and PR comments do not
churn between runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.api import redact as _redact
from reconciler.api.redact import escape_control, redact_url
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.status import Phase
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.kinds.replicas.resolve import ABSENT

FORMAT_VERSION = "1"
WIDTH = 80  # plan text fits an 80-column terminal: nested values one per line, long prose wrapped

_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>`|)\]]+", re.IGNORECASE)
# What escape_control escapes but json.dumps(ensure_ascii=False) leaves raw: C1 controls, DEL, bidi overrides.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MISSING = object()


# ----------------------------------------------------------------------------------------- helpers


def _style(text: str, color: bool, **styles: Any) -> str:
    if not color:
        return text
    import click

    return click.style(text, **styles)


def _is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def redact_text(text: str | None) -> str | None:
    """Redact every URL inside free text (error messages may quote a presigned URL), and the API key."""
    return _redact.redact_text(text)  # (an import statement here cost 2.5 us a call: 0.25 s for 100,000 names)


def _redact_value(key: str | None, value: object) -> object:
    if isinstance(value, str):
        if (key is not None and key.endswith("_url")) or _is_url(value):
            return redact_url(value)
        return value
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(None, v) for v in value]
    return value


def _redact_attrs(attrs: Mapping[str, object] | None) -> dict[str, object] | None:
    return None if attrs is None else _redact_value(None, attrs)


def _safe(text: object) -> str:
    """Untrusted text for display: URLs, signature parameters and registered secrets (the API key, echoed by
    a server) redacted, control characters escaped. redact_text runs its regexes only on text holding
    ``://`` or ``=``, and printable text skips the escaping: 49k lines of names and ids cost no regex."""
    s = redact_text(str(text)) or ""
    return s if s.isprintable() else escape_control(s)


def _plain_cells(table: Sequence[Sequence[str]]) -> bool:
    """Whether every cell would pass :func:`_safe` unchanged, decided on all of them at once: no URL, no
    ``=`` (a signature parameter), no registered secret, nothing unprintable (a space joins the cells; a
    secret that only a join could form makes it answer no, which is merely the slow way)."""
    text = " ".join(" ".join(t) for t in table)
    return "://" not in text and "=" not in text and text.isprintable() and not _redact.has_secret(text)


def _show_value(value: object) -> str:
    """An attribute value as shown in diffs: JSON-quoted strings, ``null`` for None."""
    if value is _MISSING:
        return "(unset)"
    return escape_control(json.dumps(value, ensure_ascii=False, sort_keys=True))


def _json_safe(text: str) -> str:
    """Escape, as JSON \\u escapes, the characters json.dumps(ensure_ascii=False) leaves raw but a terminal
    would obey. They can only occur inside JSON strings, so the document's data is unchanged."""
    from reconciler.api import redact

    for secret in redact._SECRETS:  # a server echoing the API key in a name or message
        if secret in text:
            text = text.replace(secret, f"[{redact.REDACTED}]")
    if text.isascii() and "\x7f" not in text:  # what the two scans below look for is DEL or beyond ASCII
        return text
    text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return redact.INVISIBLE_CHARS.sub(_json_escape, text)


def _json_escape(m: re.Match) -> str:
    o = ord(m.group())
    if o < 0x10000:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xd800 + (o >> 10):04x}\\u{0xdc00 + (o & 0x3ff):04x}"


def _percent(progress: float | None) -> str:
    return "-" if progress is None else f"{progress:.0f}%"


def _summary_line(summary: Mapping[str, int]) -> str:
    update = f", {summary['update']} to update in place" if summary.get("update") else ""
    return (f"Plan: {summary['create']} to create, {summary['rename']} to rename, "
            f"{summary['replace']} to replace{update}, {summary['delete']} to delete.")


# ----------------------------------------------------------------------------------------- plan document


def plan_document(plan: Plan, *, file: str) -> dict:
    """The plan as a JSON-able dict (described by schemas/plan.schema.json); URLs redacted."""
    return {
        "format_version": FORMAT_VERSION,
        "file": file,
        "changes": [
            {
                "action": c.action.value,
                "name": redact_text(c.name),
                "replica_id": redact_text(c.replica_id),
                "reason": redact_text(c.reason),
                "before": _redact_attrs(c.before),
                "after": _redact_attrs(c.after),
                **({"phase": c.phase or "create", "successor_id": redact_text(c.successor_id)}
                   if c.action is Action.REPLACE else {}),
                **(_persona_fields(c) if c.kind == "personas" else _object_fields(c) if c.kind != "replicas"
                   else {}),
            }
            for c in plan.changes
        ],
        "pending": [
            {"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status,
             "progress": r.progress_percent, **({"phase": "preview"} if r.preview else {})}
            for r in plan.pending
        ],
        # remote names are untrusted: one may be a presigned URL or the key itself (found by the API fuzz test)
        "unmanaged": [_replica_row(r) for r in plan.unmanaged],
        "forgotten": [{"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status}
                      for r in plan.forgotten],
        **({"forgotten_personas": [{"name": redact_text(p.name or ""), "persona_id": redact_text(p.persona_id)}
                                   for p in plan.forgotten_personas]} if plan.forgotten_personas else {}),
        **({"forgotten_objects": [{"kind": key, "name": redact_text(getattr(o, "name", "") or ""),
                                   "id": redact_text(_oid(key, o))} for key, o in plan.forgotten_objects]}
           if plan.forgotten_objects else {}),
        **({"unmanaged_personas": [{"name": redact_text(p.name), "persona_id": redact_text(p.persona_id)}
                                   for p in plan.unmanaged_personas],
            "uncompared": [{"name": redact_text(n), "attributes": list(a)} for n, a in plan.uncompared]}
           if plan.unmanaged_personas or plan.uncompared else {}),
        **({"unmanaged_objects": _object_rows(plan.unmanaged_objects)} if plan.unmanaged_objects else {}),
        **({"checked": [{"kind": k, "name": redact_text(n)} for k, n in plan.checked]}
           if plan.checked is not None else {}),
        "errors": [redact_text(e) for e in plan.errors],
        "warnings": [redact_text(w) for w in plan.warnings],
        "missing_vars": list(plan.missing_vars),
        "summary": plan.summary,
        **({"rollout": _rollout_document(plan)} if plan.rollout is not None else {}),
        **(_safety_document(plan) if plan.safety is not None else {}),
    }


def _safety_document(plan: Plan) -> dict:
    """``scope``, ``policy`` and ``mass_change`` (issue 28): what plan and apply checked."""
    from reconciler.engine.policy import document

    return _redact_deep(document(plan.safety))


def _redact_deep(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_deep(v) for v in value]
    return value


def _persona_fields(c: Change) -> dict:
    """A persona change's extra keys: the nested diff (secrets masked), what could not be compared."""
    return {
        "kind": "personas",
        "persona_id": redact_text(c.persona_id),
        "diff": [{"path": p, "before": _redact_deep(old), "after": _redact_deep(new)} for p, old, new in c.diff],
        "uncomparable": list(c.uncomparable),
        **({"default_replica": c.ref_replica} if c.ref_replica else {}),
        **({"resent": list(c.resent)} if c.resent else {}),
        **({"discard_editor_drafts": True} if c.discard_drafts else {}),
    }


def _object_fields(c: Change) -> dict:
    """A generic kind's change (reconciler.engine.objects): its kind, the object's id, the nested diff."""
    return {"kind": c.kind, "object_id": redact_text(c.object_id),
            "diff": [{"path": p, "before": _redact_deep(old), "after": _redact_deep(new)} for p, old, new in c.diff]}


def _object_rows(items) -> list[dict]:
    """Objects of the generic kinds, as (kind, name, id) rows; remote names are untrusted: redacted."""
    from reconciler.kinds import kind

    return [{"kind": key, "name": redact_text(kind(key).remote_name(o)), "id": kind(key).remote_id(o)}
            for key, o in items]


def _replica_row(r: RemoteReplica) -> dict:
    return {"name": redact_text(r.name), "replica_id": redact_text(r.replica_id), "status": r.status}


class _Rows:
    """The unmanaged replicas of a plan, made into document rows a chunk at a time while they are encoded
    (100,000 row dicts at once were 18 MB of a large plan's peak memory)."""

    CHUNK = 2000

    def __init__(self, replicas: Sequence[RemoteReplica]):
        self.replicas = replicas

    def chunks(self):
        for i in range(0, len(self.replicas), self.CHUNK):
            yield [_replica_row(r) for r in self.replicas[i:i + self.CHUNK]]


def plan_json(plan: Plan, *, file: str) -> str:
    from dataclasses import replace

    document = plan_document(replace(plan, unmanaged=()), file=file)
    document["unmanaged"] = _Rows(plan.unmanaged)  # (the rows plan_document makes, in the same place)
    return _json_safe(dumps_indented(document, end="\n"))


_SCALARS = (str, int, float, bool, type(None))


def _json_key(key: object) -> str:
    return json.dumps(key, ensure_ascii=False) if isinstance(key, str) else json.dumps({key: 0})[1:-4]


def _flat_objects(rows: Sequence[dict], inner: str, deeper: str) -> str:
    """Non-empty flat objects as list items, indented, without the first "{" and the last "}"."""
    text = json.dumps(rows, ensure_ascii=False, separators=("," + deeper, ": "))
    return text.replace("}," + deeper + "{", inner + "}," + inner + "{" + deeper)[2:-2]


def dumps_indented(value: object, *, end: str = "") -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False) + end``, byte for byte, about 5x faster: with
    ``indent`` the json module falls back to its pure-Python encoder (0.17 s for a 10,000-replica plan); here
    every container of scalars is one call of the C encoder, its item separator carrying the newline and
    indent. The pieces are joined once (a 100,000-replica plan's text is 10 MB: few copies of it at a time)."""
    out: list[str] = []
    _indented(value, 0, out)
    out.append(end)
    return "".join(out)


def _indented(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, _Rows):
        if not value.replicas:
            out.append("[]")
            return
        inner = "\n" + "  " * (level + 1)
        deeper = inner + "  "
        out += ["[", inner, "{", deeper]
        for i, rows in enumerate(value.chunks()):
            if i:
                out.append(inner + "}," + inner + "{" + deeper)
            out.append(_flat_objects(rows, inner, deeper))
        out += [inner, "}", "\n" + "  " * level + "]"]
        return
    if isinstance(value, dict | list | tuple) and not value:
        out.append("{}" if isinstance(value, dict) else "[]")
        return
    inner = "\n" + "  " * (level + 1)
    close = "\n" + "  " * level + ("}" if isinstance(value, dict) else "]")
    if isinstance(value, dict):
        if all(isinstance(v, _SCALARS) for v in value.values()):
            out += ["{", inner, json.dumps(value, ensure_ascii=False, separators=("," + inner, ": "))[1:-1], close]
            return
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            out += ["," + inner if i else inner, _json_key(k), ": "]
            _indented(v, level + 1, out)
        out.append(close)
        return
    if isinstance(value, list | tuple):
        if all(type(v) is dict and v and all(isinstance(x, _SCALARS) for x in v.values()) for v in value):
            # a list of flat objects (the unmanaged replicas): one C-encoder call for all of them. Its separator
            # holds a newline, which JSON text has nowhere else (a string's is escaped), so "}" + separator +
            # "{" can only be the border between two objects: there the list's own indent is put back
            deeper = inner + "  "
            out += ["[", inner, "{", deeper, _flat_objects(value, inner, deeper), inner, "}", close]
            return
        if all(isinstance(v, _SCALARS) for v in value):
            out += ["[", inner, json.dumps(value, ensure_ascii=False, separators=("," + inner, ": "))[1:-1], close]
            return
        out.append("[")
        for i, v in enumerate(value):
            out.append("," + inner if i else inner)
            _indented(v, level + 1, out)
        out.append(close)
        return
    out.append(json.dumps(value, ensure_ascii=False))


def plan_failure(errors: Sequence[str], *, file: str, fmt: str) -> str:
    """What ``plan --format json|markdown`` prints when there is no plan (a bad file, a refused API call): a
    document carrying the errors, so a PR comment or a consumer shows why instead of nothing."""
    errors = [redact_text(escape_control(e)) or "" for e in errors]
    if fmt == "json":
        doc = {"format_version": FORMAT_VERSION, "file": file, "failed": True, "errors": errors}
        return _json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n"
    out = [f"### tavus-reconciler plan failed: {_md_code(file, cell=False)}", ""]
    out += [f"> **Error:** {_md_text(e)}" + ("" if i == len(errors) - 1 else "  ") for i, e in enumerate(errors)]
    out += ["", "No plan was made, so nothing can be applied: fix the errors above and plan again.", ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------------------- plan text


def _attr_diff(before: Mapping[str, object], after: Mapping[str, object]) -> list[tuple[str, object, object]]:
    """(key, old, new) for every top-level attribute that differs; _MISSING for an absent side.
    Ordered like ``after`` then the keys only ``before`` has, so output is stable. The attributes are flat: a
    plain comparison (type-strict, so ``1`` -> ``true`` shows) finds them without importing a diff library."""
    changed = {k for k in {**before, **after}
               if type(old := before.get(k, _MISSING)) is not type(new := after.get(k, _MISSING)) or old != new}
    order = [k for k in after if k in changed] + [k for k in before if k in changed and k not in after]
    return [(k, before.get(k, _MISSING), after.get(k, _MISSING)) for k in order]


_REPLACE_STEPS = {
    "training": "successor training (old replica serving) -> delete old, rename successor",
    "swap": "successor ready -> delete old, rename successor",
    "rename": "old replica deleted -> rename successor",
}
_ACTION_COLOR = {Action.CREATE: "green", Action.RENAME: "yellow", Action.REPLACE: "magenta", Action.DELETE: "red"}


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
        pad = " " * (indent + 2 * len(opened))
        prompt = _prompt_diff(old, new)
        if prompt is not None:
            lines.append(f"{pad}~ {escape_control(leaf)}:")
            lines += [fitted for line in prompt for fitted in _fit_diff_line(f"{pad}    ", line)]
        elif old is None:
            lines.append(f"{pad}+ {escape_control(leaf)}: {_persona_value(new)}")
        elif new is None:
            lines.append(f"{pad}- {escape_control(leaf)}: {_persona_value(old)}")
        else:
            lines.append(f"{pad}~ {escape_control(leaf)}: {_persona_value(old)} -> {_persona_value(new)}")
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
    import importlib

    from reconciler.kinds import kind

    name = type(kind(c.kind)).__module__.rpartition(".")[0] + ".view"
    try:
        hook = getattr(importlib.import_module(name), "plan_rows", None)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        hook = None
    return hook(c) if hook is not None else c.diff


def _object_change_lines(c: Change, color: bool) -> list[str]:
    """A change of any kind but replicas (personas, and the generic engine's kinds): kind noun, name, id,
    reason, then the nested diff of an update or the attributes of a create/delete."""
    from reconciler.kinds import kind

    noun = kind(c.kind).noun
    color_of = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}.get(c.action, "yellow")
    label = "update in place" if c.action is Action.UPDATE else c.action.value
    head = (_style(f"{c.action.symbol:>3}", color, fg=color_of, bold=True) + " "
            + _style(label, color, fg=color_of) + f" {noun} {_safe(c.name)}")
    if c.persona_id or c.object_id:
        head += f" ({_safe(c.persona_id or c.object_id)})"
    lines = [head, f"      reason: {_safe(c.reason)}"]
    if c.action is Action.UPDATE:
        lines += _nested_diff_lines(_view_rows(c))
    else:
        for k, v in ((c.after if c.action is Action.CREATE else c.before) or {}).items():
            if v is None or (k in (f"{noun}_name", "name") and v == c.name):
                continue
            lines += _persona_attr_lines(k, v, 6)
    if c.resent:
        lines.append("      sent as declared without comparing (--resend; the API does not return them): "
                     + ", ".join(_safe(a) for a in c.resent))
    if c.uncomparable:
        lines.append("      could not be compared (the API does not return them): "
                     + ", ".join(_safe(a) for a in c.uncomparable) + f"; `--resend {_safe(c.name)}` sends them")
    if c.discard_drafts:
        lines.append("      overwrites any unpublished changes left in the Tavus editor (--discard-editor-drafts)")
    return lines


def _change_lines(c: Change, color: bool) -> list[str]:
    if c.kind != "replicas":
        return _object_change_lines(c, color)
    symbol = _style(f"{c.action.symbol:>3}", color, fg=_ACTION_COLOR[c.action], bold=True)
    verb = _style(c.action.value, color, fg=_ACTION_COLOR[c.action]) + " " * (7 - len(c.action.value))
    head = f"{symbol} {verb} {_safe(c.name)}"
    if c.replica_id:
        head += f" ({_safe(c.replica_id)})"
    lines = [head, f"      reason: {_safe(c.reason)}"]
    if c.action is Action.REPLACE and c.successor_id:  # in flight: say where it stands and what comes next
        lines.append(f"      in flight: {_safe(c.phase)}: {_REPLACE_STEPS.get(c.phase or '', '')}")
    before, after = _redact_attrs(c.before), _redact_attrs(c.after)
    if c.action is Action.CREATE or (before is None and after is not None):
        for k, v in (after or {}).items():
            if v is None or (k == "replica_name" and v == c.name):
                continue
            lines.append(f"      {escape_control(k)}: {_show_value(v)}")
    elif c.action is Action.DELETE or after is None:
        for k, v in (before or {}).items():
            if v is None or (k == "replica_name" and v == c.name):
                continue
            lines.append(f"      {escape_control(k)}: {_show_value(v)}")
    else:
        for k, old, new in _attr_diff(before or {}, after or {}):
            line = f"      {escape_control(k)}: {_show_value(old)} -> {_show_value(new)}"
            if c.action is Action.REPLACE and k == "model_name" and new is not _MISSING:
                line += "   " + _style("# forces replacement", color, fg="magenta")
            lines.append(line)
    return lines


_UNCOMPARED_HEAD = ("Could not be compared (the API does not return them; sent on create only; a change to "
                    "them is sent with `--resend PERSONA`)")


def _replica_line(r: RemoteReplica, extra: str) -> str:
    return f"  {_safe(r.name)} ({_safe(r.replica_id)})  {extra}"


def _unmanaged_line(plan: Plan, shown_file: str) -> str:
    """The drift an empty plan still has: replicas in scope that the file does not account for."""
    return (f"No changes to make, but the inventory does not match {shown_file}: {len(plan.unmanaged)} unmanaged "
            "replica(s) in scope (declare them, list them under removed:, or delete them with --prune).")


def plan_text(plan: Plan, *, file: str, color: bool = False) -> str:
    """Terraform-like plan for a terminal."""
    shown_file = _safe(file)
    blocks: list[list[str]] = []
    if plan.safety is not None:
        from reconciler.engine.policy import header_lines

        head = [_style(_safe(line), color, fg="yellow" if "WHOLE" in line else None, bold=True)
                for line in header_lines(plan.safety)]
        if head:
            blocks.append(head)
    if plan.changes:
        block = [f"tavus-reconciler will perform the following actions ({shown_file}):", ""]
        for c in plan.changes:
            block.extend(_change_lines(c, color))
        blocks.append(block)
    if plan.rollout is not None and plan.rollout.steps:
        blocks.append(rollout_lines(plan.rollout, color))
    if plan.pending:
        blocks.append([_style("Still training (no change):", color, bold=True)] + [
            _replica_line(r, f"{_pending_word(r)} {_percent(r.progress_percent)}"
                          if r.progress_percent is not None else _pending_word(r))
            for r in plan.pending])
    if plan.unmanaged:
        blocks.append([_style("Unmanaged (in scope, not declared; use --prune or settings.prune to delete):", color,
                              bold=True)] + [_replica_line(r, _pending_word(r)) for r in plan.unmanaged])
    if plan.unmanaged_personas:
        blocks.append([_style("Unmanaged personas (in scope, not declared; use --prune to delete):", color, bold=True)]
                      + [f"  {_safe(p.name)} ({_safe(p.persona_id)})" for p in plan.unmanaged_personas])
    if plan.unmanaged_objects:
        blocks.append([_style("Unmanaged objects (in scope, not declared; use --prune to delete):", color, bold=True)]
                      + [f"  {_safe(key)} {_safe(getattr(o, 'name', ''))}" for key, o in plan.unmanaged_objects])
    uncompared = [(n, a) for n, a in plan.uncompared if not any(c.name == n and c.uncomparable for c in plan.changes)]
    if uncompared:
        blocks.append([_style(_UNCOMPARED_HEAD + ":", color, bold=True)]
                      + [f"  {_safe(n)}: {', '.join(_safe(x) for x in a)}" for n, a in uncompared])
    if plan.forgotten or plan.forgotten_personas or plan.forgotten_objects:
        blocks.append([_style("Released from management (removed:; kept on the account, never deleted):", color,
                              bold=True)]
                      + [f"  forget {_safe(r.name)} ({_safe(r.replica_id)})" for r in plan.forgotten]
                      + [f"  forget persona {_safe(p.name or '')} ({_safe(p.persona_id)})"
                         for p in plan.forgotten_personas]
                      + [f"  forget {_safe(_noun(key))} {_safe(getattr(o, 'name', '') or '')} ({_safe(_oid(key, o))})"
                         for key, o in plan.forgotten_objects])
    if plan.missing_vars:
        blocks.append([_style("Variables not set (apply will refuse):", color, fg="red", bold=True)]
                      + [f"  ${{{escape_control(v)}}}" for v in plan.missing_vars])
    if plan.warnings:
        blocks.append([_style("Warnings:", color, fg="yellow", bold=True)]
                      + [f"  - {_safe(w)}" for w in plan.warnings])
    if plan.errors:
        blocks.append([_style("Errors:", color, fg="red", bold=True)] + [f"  - {_safe(e)}" for e in plan.errors])
    if plan.changes or plan.errors:
        final = _style(_summary_line(plan.summary), color, bold=True)
        if plan.errors:
            final += f"\nThe plan has {len(plan.errors)} error(s): it cannot be applied."
        blocks.append([final])
    elif plan.unmanaged:
        blocks.append([_style(_unmanaged_line(plan, shown_file), color, fg="yellow", bold=True)])
    else:
        blocks.append([_style(f"No changes. Inventory matches {shown_file}.", color, fg="green", bold=True)])
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


# ----------------------------------------------------------------------------------------- plan markdown

_MD_EMOJI = {Action.CREATE: "➕", Action.RENAME: "✏️", Action.REPLACE: "♻️", Action.DELETE: "➖", Action.UPDATE: "✏️"}
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


_FORGET = "Listed under `removed:`: no longer managed, kept on the account, never deleted."


def _md_details(summary: str, intro: str | None, header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A collapsed section of a PR comment: its summary line, an optional sentence, a table."""
    return [f"<details><summary>{summary}</summary>", "", *([intro, ""] if intro else []),
            *_md_table(header, rows), "", "</details>", ""]


def _md_objects(plan: Plan) -> list[str]:
    """The generic kinds' forgotten and unmanaged objects, each a collapsed table (kind, name, id)."""
    out: list[str] = []
    for title, intro, items in (
            ("Forget objects", _FORGET, plan.forgotten_objects),
            ("Unmanaged objects", "In scope but not declared; `--prune` or `settings.prune` would delete them.",
             plan.unmanaged_objects)):
        if items:
            out += _md_details(f"{title} ({len(items)})", intro, ["Kind", "Name", "Id"], (
                [_md_text(row["kind"]), _md_code(row["name"]), _md_code(row["id"])] for row in _object_rows(items)))
    return out


def _md_diagram(plan: Plan) -> list[str]:
    """The Mermaid diagram of what the plan touches (reconciler.views.mermaid; none when nothing references)."""
    from reconciler.kinds import kinds
    from reconciler.views.mermaid import diagram

    return diagram(plan.changes, {k.key: k.noun for k in kinds()}, redact=_safe)


def plan_markdown(plan: Plan, *, file: str) -> str:
    """The plan for a pull-request comment: stable between runs, safe to render."""
    out: list[str] = [f"### tavus-reconciler plan: {_md_code(file, cell=False)}", ""]
    if plan.safety is not None:
        from reconciler.engine.policy import header_lines

        out += [x for line in header_lines(plan.safety) for x in (f"**{_md_text(line)}**", "")]
    if plan.errors:
        for e in plan.errors:
            out += [f"> **Error:** {_md_text(e)}", ""]
    if plan.changes or plan.errors:
        out += [f"**{_summary_line(plan.summary)}**", ""]
    elif plan.unmanaged:
        out += [_md_text(_unmanaged_line(plan, file)), ""]
    else:
        out += [f"No changes. Inventory matches {_md_code(file, cell=False)}.", ""]
    if plan.changes:
        out += _md_table(["Action", "Name", "Replica", "Reason"], (
            [f"{_MD_EMOJI[c.action]} {c.action.value}", _md_code(c.name), _md_code(c.replica_id or c.persona_id or ""),
             _md_text(c.reason)] for c in plan.changes))
        out.append("")
        details = "\n".join(line for c in plan.changes for line in _change_lines(c, False))
        out += ["<details><summary>Attribute changes</summary>", "", _md_fence(details), "", "</details>", ""]
        out += _md_diagram(plan)
    if plan.rollout is not None and plan.rollout.steps:
        out += rollout_markdown(plan.rollout)
    if plan.missing_vars:
        names = ", ".join(_md_code(f"${{{v}}}", cell=False) for v in plan.missing_vars)
        out += [f"**Variables not set (apply will refuse):** {names}", ""]
    for w in plan.warnings:
        out += [f"> **Warning:** {_md_text(w)}", ""]
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
    uncompared = [(n, a) for n, a in plan.uncompared if not any(c.name == n and c.uncomparable for c in plan.changes)]
    if uncompared:
        out += _md_details(f"Not compared ({len(uncompared)})", _md_text(_UNCOMPARED_HEAD) + ".",
                           ["Persona", "Attributes"],
                           ([_md_code(n), ", ".join(_md_code(x) for x in a)] for n, a in uncompared))
    if plan.unmanaged:
        out += _md_details(f"Unmanaged ({len(plan.unmanaged)})",
                           "In scope but not declared; `--prune` or `settings.prune` would delete them.",
                           ["Name", "Replica", "Status"],
                           ([_md_code(r.name), _md_code(r.replica_id), _md_text(_pending_word(r))]
                            for r in plan.unmanaged))
    out += _md_objects(plan)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------- status


def _noun(key: str) -> str:
    from reconciler.kinds import kind

    return kind(key).noun


def _oid(key: str, remote: Any) -> str:
    from reconciler.kinds import kind

    return kind(key).remote_id(remote)


def status_json(rows: Sequence[Mapping[str, object]], personas: Sequence[Mapping[str, object]] = (),
                objects: Mapping[str, Sequence[Mapping[str, object]]] | None = None) -> str:
    """The status document (schemas/status.schema.json): versioned like the plan's, replicas then personas,
    then one list per other kind the file declares (``documents``...)."""
    def named(items):
        return [{**row, "name": redact_text(row["name"])} if "name" in row else row for row in items]

    doc = {"format_version": FORMAT_VERSION, "replicas": named(rows), "personas": named(personas),
           **{key: named(items) for key, items in (objects or {}).items()}}
    return _json_safe(dumps_indented(doc, end="\n"))


_PHASE_COLOR = {"ready": "green", "pending": "yellow", "preview": "cyan", "failed": "red", "absent": "magenta"}
PREVIEW_WORD = "preview (watermarked; fine-tune running)"  # a replica in Phase.PREVIEW (issue 25), as shown


def _pending_word(r: Any) -> str:
    """A replica's status as shown: the raw word, or that it is only a preview, or that its fine-tune failed."""
    if r.phase is Phase.PREVIEW:
        return PREVIEW_WORD
    if r.phase is Phase.FAILED and r.finetunes and r.finetune_status:
        return _safe(f"fine-tune {r.finetune_status}")
    return _safe(r.status)
_STATUS_HEADER = ("NAME", "REPLICA_ID", "STATUS", "PROGRESS", "MODEL")


def _rollout_cell(row: Mapping[str, Any]) -> str:
    """A status row's place in the rollout (issue 19): its state, what comes next."""
    r = row.get("rollout")
    if not isinstance(r, Mapping):
        return "-"
    words = {"waiting": f"waiting (#{r.get('position')})", "trained": "trained: verify+swap next"}
    cell = words.get(r.get("state"), str(r.get("state")))
    return f"canary: {cell}" if r.get("canary") else cell


def status_text(rows: Sequence[Mapping[str, Any]], *, color: bool = False, rollout: str | None = None) -> str:
    """An aligned table; failed rows are followed by their error message; a one-line summary at the end.
    ``rollout``: the rollout's summary line (issue 19); rows carrying a ``rollout`` field add a ROLLOUT column."""
    with_rollout = any("rollout" in r for r in rows)
    header = _STATUS_HEADER + (("ROLLOUT",) if with_rollout else ())

    def raw(row: Mapping[str, Any]) -> list[str]:
        status = PREVIEW_WORD if row.get("phase") == Phase.PREVIEW.value else row.get("status")
        if row.get("phase") == Phase.FAILED.value and row.get("finetune_status"):  # phoenix-4.5: its fine-tune
            status = f"fine-tune {row['finetune_status']}"
        return [str(row.get("name") or ""), str(row.get("replica_id") or "-"), str(status or "-"),
                _percent(row.get("progress")), str(row.get("model_name") or "-")]

    declared = [r for r in rows if r.get("managed", True)]
    unmanaged = [r for r in rows if not r.get("managed", True)]
    table = [raw(r) for r in rows]
    if not _plain_cells(table):  # some cell needs redacting or escaping: each through _safe (49k lines: 0.15 s)
        table = [[_safe(c) for c in t] for t in table]
    if with_rollout:
        table = [[*t, _rollout_cell(r)] for r, t in zip(rows, table, strict=True)]
    shown = {id(r): t for r, t in zip(rows, table, strict=True)}
    from reconciler.views.progress import _width_of  # terminal cells: 日本語 takes two each, a combining mark none

    ascii_only = all(c.isascii() for t in table for c in t)
    width = len if ascii_only else _width_of
    widths = [max([len(h)] + [width(t[i]) for t in table]) for i, h in enumerate(header)]
    template = "  ".join(f"{{:<{w}}}" for w in widths)

    def line(values: Sequence[str], phase: str | None = None) -> str:
        if ascii_only and (phase is None or not color):
            return template.format(*values).rstrip()
        padded = [v + " " * (w - width(v)) for v, w in zip(values, widths, strict=True)]
        if phase is not None:
            padded[2] = _style(padded[2], color, fg=_PHASE_COLOR.get(phase))
        return "  ".join(padded).rstrip()

    out = [_style(line(header), color, bold=True)]

    def emit(group: Sequence[Mapping[str, Any]]) -> None:
        for r in group:
            out.append(line(shown[id(r)], str(r.get("phase"))))
            if r.get("phase") == Phase.FAILED.value:
                out.append(_style(f"  error: {_safe(r.get('error_message') or 'no error message')}", color,
                                  fg="red"))

    emit(declared)
    if unmanaged:
        out += ["", "Unmanaged (in scope, not declared):"]
        emit(unmanaged)
    count = {p: sum(r.get("phase") == p for r in declared) for p in ("ready", "pending", "preview", "failed", ABSENT)}
    previews = f"{count['preview']} preview (not ready), " if count["preview"] else ""
    out += ["", f"{len(declared)} declared: {count['ready']} ready, {count['pending']} training, {previews}"
                f"{count['failed']} failed, {count[ABSENT]} absent; {len(unmanaged)} unmanaged"]
    if rollout:
        out.append(_safe(rollout))
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------- rollout (issue 19)


def _rollout_document(plan: Plan) -> dict:
    from reconciler.views import rollout_view

    doc = rollout_view.document(plan.rollout)
    doc["steps"] = [{**st, "name": redact_text(st["name"])} for st in doc["steps"]]
    return doc


def _batches_word(n: int) -> str:
    return f"{n} batch{'' if n == 1 else 'es'}"


def _rollout_rule(rollout) -> list[str]:
    """How the steps run, in two sentences."""
    s = rollout.settings
    verify = f"verify ({s.verify})" if s.verify != "none" else ""
    slots = f"at most {s.max_replacing} training at once"
    halts = (f"A failed training{' or verify' if verify else ''} halts the rollout: nothing new starts, the rest "
             "keep their old replica.")
    if s.canary and len(rollout.steps) > s.canary:
        gate = "train and pass " + verify if verify else "finish training"
        first = "The canary" if s.canary == 1 else f"The {s.canary} canaries"
        return [f"{first} must {gate} before any other starts; then a successor starts as soon as a slot frees, "
                f"in this order ({slots}).", halts]
    each = f"; each passes {verify} before its old replica is deleted" if verify else ""
    return [f"A successor starts as soon as a slot frees, in this order ({slots}){each}.", halts]


def _rollout_batches(rollout, name) -> list[tuple[str, str]]:
    """(batch heading, members) per nominal batch; a state shared by the whole batch goes in the heading."""
    from reconciler.views import rollout_view

    verify = rollout.settings.verify
    out = []
    for batch in rollout.batches:
        labels = {rollout_view.label(st, verify) for st in batch}
        head = f"batch {batch[0].batch}" + (", canary" if batch[0].canary else "")
        if len(labels) == 1:
            out.append((f"{head} ({labels.pop()})", ", ".join(name(st.name) for st in batch)))
        else:
            out.append((head, ", ".join(f"{name(st.name)} ({rollout_view.label(st, verify)})" for st in batch)))
    return out


def _rollout_settings_words(rollout) -> str:
    s = rollout.settings
    return f"max_replacing {s.max_replacing}, canary {s.canary}, verify {s.verify}"


def _single_rollout(rollout, name) -> str:
    """A single replace: one line (settings are validated words, the name goes through ``name``)."""
    from reconciler.views import rollout_view

    st, verify = rollout.steps[0], rollout.settings.verify
    then = f"passes verify ({verify}), then " if verify != "none" else ""
    return (f"1 replacement, {name(st.name)} ({rollout_view.label(st, verify)}): it trains, {then}replaces the "
            "old replica.")


def rollout_lines(rollout, color: bool = False) -> list[str]:
    """The plan's rollout as text: settings, the order in nominal batches with each step's state, the rule.
    One line for a single replace."""
    if len(rollout.steps) == 1:
        return [_style("Rollout:", color, bold=True) + " " + _single_rollout(rollout, _safe)]
    head = (f"Rollout of {len(rollout.steps)} replacements ({_rollout_settings_words(rollout)}), "
            "in this order:")
    lines = [_style(head, color, bold=True)]
    lines += [f"  {h}: {members}" for h, members in _rollout_batches(rollout, _safe)]
    lines += [f"  {sentence}" for sentence in _rollout_rule(rollout)]
    return lines


def rollout_markdown(rollout) -> list[str]:
    """The plan's rollout for a PR comment: one paragraph, and the batches in a collapsed table."""
    if len(rollout.steps) == 1:
        return [f"**Rollout:** {_single_rollout(rollout, lambda n: _md_code(n, cell=False))}", ""]
    out = [f"**Rollout:** {len(rollout.steps)} replacements in {_batches_word(len(rollout.batches))} "
           f"({_rollout_settings_words(rollout)}). {_md_text(' '.join(_rollout_rule(rollout)))}", ""]
    return out + _md_details(f"Rollout order ({len(rollout.steps)})", None, ["Batch", "Replicas"], (
        [_md_text(h), members] for h, members in _rollout_batches(rollout, _md_code)))
