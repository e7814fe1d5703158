"""The semantic rules of ``guardrails:`` (after the schema fragment ``schema.json`` has judged the shapes), one per
function, run for every entry; builds :class:`DesiredGuardrail`. Every error is one located line saying what,
where and how to fix it.

:class:`EntryRules` holds the rules every named kind of the file shares (identity known at plan time, declared
once, in scope, not also under ``removed:``; a pinned id declared once; unknown fields passed through with one
warning and a did-you-mean; unset ``${VAR}``s in attributes are warnings, needed when the object is created or
updated); :class:`GuardrailRules` adds the guardrail's own.

The loader calls :func:`parse` (the hook ``kinds/<kind>/rules.py`` exports: ``reconciler.engine.rules``) with the
section's entries and its context: ``ctx.doc`` (values and positions), ``ctx.diags``, ``ctx.settings``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from reconciler.engine.checks import NamedRules, item_schema, plain, removed_names, suggest
from reconciler.engine.yamlpos import short
from reconciler.kinds.guardrails.models import _NOT_NAME, MODALITIES, NAME_RE, DesiredGuardrail, scope_prefix


def parse(entries: list, ctx: Any) -> tuple[DesiredGuardrail, ...]:
    """The loader's hook: the ``guardrails:`` entries, checked, as DesiredGuardrail."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    return GuardrailRules(ctx).run(entries, getattr(ctx.settings, "name_prefix", None),
                                   removed_names(root.get("removed")))


class EntryRules(NamedRules):
    """The rules every named entry shares (the identity's from :class:`reconciler.engine.checks.NamedRules`).
    Subclasses set ``key`` (the section), ``noun``, ``id_key`` (the file's pinned-id field), ``package`` (for the
    schema fragment) and implement :meth:`build`."""

    package = ""
    invisible = False  # each kind's name pattern (or the schema) judges the characters
    own: frozenset[str] = frozenset({"name", "protect"})  # file-only fields, never sent as attributes

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.doc = ctx.doc
        self.diags = ctx.diags

    def warn_once(self, key: str, pos: Any, message: str) -> None:
        """One warning per ``key`` (a field name) for the whole file, at its first place."""
        warned = self.ctx.__dict__.setdefault("_warned_once", set())
        if key not in warned:
            warned.add(key)
            self.diags.warning(pos, message)

    def prefix(self, name_prefix: str | None) -> str | None:
        return name_prefix

    def run(self, raw: Any, name_prefix: str | None = None, removed: Collection[str] = ()) -> tuple:
        """The desired objects of the section (entries the schema rejected are skipped: it reported them)."""
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed = frozenset(removed)
        if not isinstance(raw, list):
            return ()
        out = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                built = self.entry(i, entry, self.prefix(name_prefix))
                if built is not None:
                    out.append(built)
        return tuple(out)

    def entry(self, i: int, entry: dict, prefix: str | None) -> Any:
        base = (self.key, i)
        label, ok = self.rule_name(base, entry["name"], prefix)
        pinned = self.rule_id(base, entry, label)
        self.rule_unknown_fields(base, entry)
        missing = self.rule_vars(base, label)
        built = self.build(base, entry, label, pinned, tuple(sorted(missing)))
        return built if ok else None

    def build(self, base: tuple, entry: dict, label: str, pinned: str | None, missing: tuple[str, ...]) -> Any:
        raise NotImplementedError

    def attributes(self, entry: dict) -> dict[str, Any]:
        return {k: plain(v) for k, v in entry.items() if k not in self.own and k != self.id_key}

    def rule_unknown_fields(self, base: tuple, entry: dict) -> None:
        """A field this version does not document is sent as written, with ONE warning for the whole file."""
        known = list(item_schema(self.package)["properties"])
        for key in entry:
            if key in known or not isinstance(key, str):
                continue
            close = suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.warn_once(f"{self.key}:{key}", self.doc.key_at(base + (key,)),
                               f"{self.key}: field {short(key)} is not one this version documents{hint}; it is "
                               "sent to the API as written")

    def rule_url(self, path: tuple, value: Any, label: str, field: str) -> None:
        """An http(s) URL with a host (the API calls it back)."""
        if not isinstance(value, str) or path in self.doc.missing or path in self.doc.skip:
            return
        try:
            parts = urlsplit(value)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            ok = False
        if not ok:
            self.diags.error(self.doc.at(path), f"{label}: {field} must be an http(s) URL with a host "
                                                "(e.g. https://example.com/webhook)")


class GuardrailRules(EntryRules):
    key = "guardrails"
    noun = "guardrail"
    id_key = "guardrail_id"
    package = "reconciler.kinds.guardrails"

    def prefix(self, name_prefix: str | None) -> str | None:
        return scope_prefix(name_prefix)

    def rule_name(self, base: tuple, name: str, prefix: str | None) -> tuple[str, bool]:
        """Tavus's guardrail_name: letters, digits and ``_`` only (documented), then the shared rules."""
        if base + ("name",) not in self.doc.missing and not NAME_RE.match(name):
            fixed = _NOT_NAME.sub("_", name.strip()) or "my_guardrail"
            self.diags.error(self.doc.at(base + ("name",)),
                             f"{self.key}[{base[1]}]: name {short(name)} may hold only letters, digits and _ "
                             f"(Tavus's guardrail_name), e.g. {fixed!r}")
            return f"{self.key}[{base[1]}]", False
        return super().rule_name(base, name, prefix)

    def build(self, base: tuple, entry: dict, label: str, pinned: str | None,
              missing: tuple[str, ...]) -> DesiredGuardrail:
        self.rule_prompt(base, entry, label)
        self.rule_modality(base, entry, label)
        self.rule_url(base + ("callback_url",), entry.get("callback_url"), label, "callback_url")
        return DesiredGuardrail(name=entry["name"], attributes=self.attributes(entry), guardrail_id=pinned,
                                protect=entry.get("protect") is True, missing_vars=missing)

    def rule_prompt(self, base: tuple, entry: dict, label: str) -> None:
        prompt = entry.get("guardrail_prompt")
        if isinstance(prompt, str) and prompt and not prompt.strip():
            self.diags.error(self.doc.at(base + ("guardrail_prompt",)),
                             f"{label}: guardrail_prompt is blank: write the boundary the persona must keep")

    def rule_modality(self, base: tuple, entry: dict, label: str) -> None:
        """verbal or visual; another value is sent as is, with a warning (Tavus's enumerations grow)."""
        mode, path = entry.get("modality"), base + ("modality",)
        if isinstance(mode, str) and mode not in MODALITIES and path not in self.doc.missing:
            close = suggest(mode, MODALITIES)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.diags.warning(self.doc.at(path), f"{label}: modality {short(mode)} is not one this version knows "
                                                  f"({', '.join(MODALITIES)}){hint}; it is sent as is")
