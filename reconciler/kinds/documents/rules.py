"""The semantic rules of ``documents:``, one per function, run for every entry; builds DesiredDocument.

Located one-line errors (what, where, how to fix): a name that is unset, invisible or declared twice, outside
the scope, or also under ``removed:``; a ``document_id`` declared twice; a missing or unusable
``document_url``. Warnings: an unset ``${VAR}`` in a create-time input (needed only when the document is
created), a field or crawl key this version does not document (sent as written, one warning per field for
the whole file), a tag listed twice. Documents carry no secret; a presigned URL is redacted on every output.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib.resources import files
from typing import Any

from reconciler.api.redact import CONTROL_CHARS
from reconciler.engine.checks import plain as _plain
from reconciler.engine.checks import removed_names
from reconciler.engine.yamlpos import short
from reconciler.kinds.documents.models import CRAWL_KEYS, DesiredDocument

OWN = ("name", "document_id", "protect")  # the file's own keys (never sent as such)
URL_FIELDS = ("document_url", "callback_url")
IDENTITY = ("name", "document_id")


@cache
def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``documents:`` section."""
    return json.loads(files("reconciler.kinds.documents").joinpath("schema.json").read_text(encoding="utf-8"))


def parse(entries: list, ctx: Any) -> tuple[DesiredDocument, ...]:
    """The loader's hook (``reconciler.engine.rules``): the ``documents:`` entries, checked, as DesiredDocument."""
    return DocumentRules(ctx).run(entries, ctx.settings, removed_names(ctx.doc.root.get("removed")))


def known_fields() -> list[str]:
    return list(schema()["$defs"]["document"]["properties"])


def _suggest(key: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _strings(value: Any) -> tuple[str, ...] | None:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


class DocumentRules:
    """``ctx`` is the loader's rule context (``reconciler.engine.rules.RuleContext``): ``doc`` (the located
    document: ``root``, ``at``, ``key_at``, ``missing``, ``skip``), ``diags`` (``error``/``warning``) and
    ``settings``. After :meth:`run`, ``names`` maps each declared name to its line."""

    key = "documents"

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.doc = ctx.doc
        self.diags = ctx.diags
        self._warned: set[str] = set()
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def run(self, raw: Any, settings: Any, removed: tuple[str, ...] = ()) -> tuple[DesiredDocument, ...]:
        if not isinstance(raw, list):
            return ()
        self.removed = tuple(removed)
        out = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                desired = self._entry(i, entry, settings)
                if desired is not None:
                    out.append(desired)
        return tuple(out)

    def _unset_identity(self, path: tuple, what: str) -> None:
        for var in self.doc.missing[path]:
            self.diags.error(self.doc.at(path), f"${{{var}}} is not set: {what} must be known to plan "
                                                "(set the variable or give a default with ${VAR:-default})")

    def _warn_once(self, key: str, pos: Any, message: str) -> None:
        """One warning per ``key`` (a field name) for the whole file, at its first place."""
        if key not in self._warned:
            self._warned.add(key)
            self.diags.warning(pos, message)

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredDocument | None:
        base = (self.key, i)
        label, ok = self._rule_name(base, entry["name"], settings)
        document_id = self._rule_document_id(base, entry, label)
        self._rule_source(base, entry, label, document_id)
        self._rule_unknown_fields(base, entry)
        self._rule_crawl(base, entry)
        self._rule_tags(base, entry, label)
        missing = self._rule_vars(base, label)
        if not ok:
            return None
        crawl = entry.get("crawl")
        extra = tuple(sorted((k, _plain(v)) for k, v in entry.items() if k not in known_fields()))
        text = {k: entry[k] for k in ("document_url", "callback_url", "custom_description")
                if isinstance(entry.get(k), str)}
        return DesiredDocument(
            name=entry["name"], document_url=text.get("document_url"), document_id=document_id,
            tags=_strings(entry.get("tags")),
            crawl=tuple(sorted((k, crawl[k]) for k in CRAWL_KEYS if k in crawl)) if isinstance(crawl, dict) else None,
            callback_url=text.get("callback_url"), custom_description=text.get("custom_description"),
            participant_tags=_strings(entry.get("participant_tags")), extra=extra,
            protect=entry.get("protect") is True, missing_vars=tuple(sorted(missing)), line=self.doc.at(base)[0],
            url_unknown=(base + ("document_url",)) in self.doc.missing)

    def _rule_name(self, base: tuple, name: str, settings: Any) -> tuple[str, bool]:
        """The name is plain text (no unset ${VAR}, control or invisible character), declared once among the
        documents, in scope, not also under removed:. Returns (label, usable)."""
        from reconciler.engine.checks import invisible_in as _invisible_in

        doc, diags, i = self.doc, self.diags, base[1]
        npath, fallback = base + ("name",), f"{self.key}[{i}]"
        if npath in doc.missing:
            self._unset_identity(npath, f"{fallback}.name")
            return fallback, False
        if CONTROL_CHARS.search(name):
            diags.error(doc.at(npath), f"{fallback}: name must not contain control characters")
            return fallback, False
        if (bad := _invisible_in(name)) is not None:
            diags.error(doc.at(npath), f"{fallback}: name contains the invisible character {bad}: remove it (it "
                                       "makes the name look like another one)")
            return fallback, False
        if not name.strip() or name != name.strip():
            return fallback, False  # the schema reported it
        if name in self.removed:
            diags.error(doc.at(npath), f"{name}: the document is also listed under removed: (released from "
                                       "management): remove it from one of the two")
        if name in self.names:
            diags.error(doc.at(npath), f"duplicate document name {short(name)} (first declared at line "
                                       f"{self.names[name]})")
        else:
            self.names[name] = doc.at(base)[0]
        prefix = getattr(settings, "name_prefix", None)
        if prefix and not name.startswith(prefix):
            diags.error(doc.at(npath), f"{name}: the name is outside this file's scope: it must start with "
                                       f"{prefix!r} (settings.scope.name_prefix)")
        return name, True

    def _rule_document_id(self, base: tuple, entry: dict, label: str) -> str | None:
        """A pinned document_id is known (no unset ${VAR}) and declared once."""
        path, value = base + ("document_id",), entry.get("document_id")
        if path in self.doc.missing:
            self._unset_identity(path, f"{label}: document_id")
            return None
        if not isinstance(value, str) or not value:
            return None
        if value in self.ids:
            self.diags.error(self.doc.at(path), f"{label}: document_id {value} is already used at line "
                                                f"{self.ids[value]}")
            return None
        self.ids[value] = self.doc.at(base)[0]
        return value

    def _rule_source(self, base: tuple, entry: dict, label: str, document_id: str | None) -> None:
        """document_url is required unless document_id pins an existing document; each URL is a usable http(s)
        URL (an unset ${VAR} is checked when it is set)."""
        from reconciler.engine.checks import show_url as _show_url
        from reconciler.engine.checks import url_problem as _url_problem

        doc = self.doc
        if "document_url" not in entry and document_id is None and "document_id" not in entry:
            self.diags.error(doc.at(base), f"{label}: missing document_url (the file or web site the document is "
                                           "made from; or document_id: <id> to pin an existing document)")
        for key in URL_FIELDS:
            value, path = entry.get(key), base + (key,)
            if not isinstance(value, str) or path in doc.missing or path in doc.skip:
                continue
            if value == "":
                if key != "callback_url":
                    self.diags.error(doc.at(path), f"{label}: {key} is empty")
                continue
            problem = _url_problem(value)
            if problem:
                self.diags.error(doc.at(path), f"{label}: {key} {problem} (got {_show_url(value)})")

    def _rule_unknown_fields(self, base: tuple, entry: dict) -> None:
        """A field this version does not document is sent as written, with ONE warning for the whole file."""
        known = known_fields()
        for key in entry:
            if key in known or not isinstance(key, str):
                continue
            close = _suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self._warn_once(f"document:{key}", self.doc.key_at(base + (key,)),
                               f"documents: field {short(key)} is not one this version documents{hint}; it is "
                               "sent to the API as written")

    def _rule_crawl(self, base: tuple, entry: dict) -> None:
        crawl = entry.get("crawl")
        if not isinstance(crawl, dict):
            return
        for key in crawl:
            if key not in CRAWL_KEYS:
                close = _suggest(str(key), list(CRAWL_KEYS))
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(CRAWL_KEYS)}"
                self._warn_once(f"document:crawl.{key}", self.doc.key_at(base + ("crawl", key)),
                                   f"documents: crawl field {short(key)} is not documented ({hint}); it is sent "
                                   "as written")

    def _rule_tags(self, base: tuple, entry: dict, label: str) -> None:
        tags = entry.get("tags")
        if not isinstance(tags, list):
            return
        seen: set[str] = set()
        for j, tag in enumerate(tags):
            if isinstance(tag, str) and tag in seen:
                self.diags.warning(self.doc.at(base + ("tags", j)), f"{label}: tag {short(tag)} is listed twice")
            seen.add(tag)

    def _rule_vars(self, base: tuple, label: str) -> set[str]:
        """Unset ${VAR}s outside the identity are warnings here: they are needed when the document is created
        (plan refuses then). Returns the unset variables."""
        missing: set[str] = set()
        identity = {base + (k,) for k in IDENTITY}
        for path, unset in self.doc.missing.items():
            if path[:2] != base or path in identity:
                continue
            missing.update(unset)
            for var in unset:
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed when {label} is created)")
        return missing
