"""What every renderer shares: redaction and escaping of untrusted text, styling, the few words and lines the
text plan, the Markdown plan and status all print, and the lookup of a kind's view hook.

Everything shown may come from the API (names, statuses, error messages), so every string goes through
``escape_control`` before it reaches a terminal or a comment, and every URL through ``redact_url`` (presigned
URLs carry their signature in the query string). Output is deterministic: no clock, no environment (colour is
decided by the CLI and passed in as ``color=``), stable ordering, so golden files and PR comments do not
churn between runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from reconciler.api import redact as _redact
from reconciler.api.redact import escape_control, redact_url
from reconciler.engine.models import Plan
from reconciler.engine.status import Phase

FORMAT_VERSION = "1"
WIDTH = 80  # plan text fits an 80-column terminal: nested values one per line, long prose wrapped

# What escape_control escapes but json.dumps(ensure_ascii=False) leaves raw: C1 controls, DEL, bidi overrides.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MISSING = object()
PREVIEW_WORD = "preview (watermarked; fine-tune running)"  # a replica in Phase.PREVIEW (issue 25), as shown
_FORGET = "Listed under `removed:`: no longer managed, kept on the account, never deleted."
_UNCOMPARED_HEAD = ("Could not be compared (the API does not return them; sent on create only; a change to "
                    "them is sent with `--resend NAME`, naming the persona or tool)")


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


def _redact_deep(value: object) -> object:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_deep(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_deep(v) for v in value]
    return value


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
    for secret in _redact._SECRETS:  # a server echoing the API key in a name or message
        if secret in text:
            text = text.replace(secret, f"[{_redact.REDACTED}]")
    return _json_chars(text)  # (what its scans look for is DEL or beyond ASCII: none in most documents)


class JsonSafeWriter:
    """:func:`_json_safe` of a text handed over in pieces, each escaped piece passed to ``write``: the same
    output as ``write(_json_safe(whole))``. A registered secret that straddles two pieces is still masked:
    the last (longest secret - 1) characters of a piece wait for the next one before they are written."""

    def __init__(self, write: Callable[[str], object]):
        self._write = write
        self._held = ""
        self._keep = max((len(s) for s in _redact._SECRETS), default=1) - 1

    def __call__(self, piece: str) -> None:
        text = self._held + piece
        for secret in _redact._SECRETS:
            if secret in text:
                text = text.replace(secret, f"[{_redact.REDACTED}]")
        cut = max(0, len(text) - self._keep)
        self._held = text[cut:]
        if cut:
            self._write(_json_chars(text[:cut]))

    def close(self) -> None:
        if self._held:
            self._write(_json_chars(self._held))
            self._held = ""


def _json_chars(text: str) -> str:
    """The character escapes of :func:`_json_safe` (not the secrets)."""
    if text.isascii() and "\x7f" not in text:
        return text
    text = _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _redact.INVISIBLE_CHARS.sub(_json_escape, text)


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


def _unmanaged_line(plan: Plan, shown_file: str) -> str:
    """The drift an empty plan still has: replicas in scope that the file does not account for."""
    return (f"No changes to make, but the inventory does not match {shown_file}: {len(plan.unmanaged)} unmanaged "
            "replica(s) in scope (declare them, list them under removed:, or delete them with --prune).")


def _uncompared(plan: Plan) -> list[tuple[str, Sequence[str]]]:
    """What could not be compared, but for the changes that say so themselves."""
    return [(n, a) for n, a in plan.uncompared if not any(c.name == n and c.uncomparable for c in plan.changes)]


def _pending_word(r: Any) -> str:
    """A replica's status as shown: the raw word, or that it is only a preview, or that its fine-tune failed."""
    if r.phase is Phase.PREVIEW:
        return PREVIEW_WORD
    if r.phase is Phase.FAILED and r.finetunes and r.finetune_status:
        return _safe(f"fine-tune {r.finetune_status}")
    return _safe(r.status)


def _noun(key: str) -> str:
    from reconciler.kinds import kind

    return kind(key).noun


def counted(n: int, noun: str) -> str:
    """``1 replica``, ``2 replicas``, ``2 pronunciation dictionaries``."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun[:-1]}ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else f"{n} {noun}s"


def declared(config: Any) -> str:
    """What a file declares, for ``validate``: its replicas always, then every other kind it declares, in the
    registry's order (``2 replicas, 1 persona, 3 documents``)."""
    from reconciler.kinds import registered

    parts = []
    for i, k in enumerate(registered()):
        entries = config.objects.get(k.key, ()) if k.key in config.objects else getattr(config, k.key, ())
        if i == 0 or entries:
            parts.append(counted(len(entries), k.noun))
    return ", ".join(parts)


def _oid(key: str, remote: Any) -> str:
    from reconciler.kinds import kind

    return kind(key).remote_id(remote)


def _object_rows(items) -> list[dict]:
    """Objects of the generic kinds, as (kind, name, id) rows; remote names are untrusted: redacted."""
    from reconciler.kinds import kind

    return [{"kind": key, "name": redact_text(kind(key).remote_name(o)), "id": kind(key).remote_id(o)}
            for key, o in items]


def view_hook(key: str, name: str):
    """A kind's view hook ``name`` (``kinds/<kind>/view.py``), or None when the kind has no such hook."""
    from reconciler.kinds import kind

    try:
        package = type(kind(key)).__module__.rpartition(".")[0]
    except KeyError:  # a kind the registry does not hold (a saved plan's, a test's): the generic view
        return None
    return _hook(package + ".view", name) if package else None


@cache
def _hook(module: str, name: str):
    import importlib

    try:
        return getattr(importlib.import_module(module), name, None)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return None
