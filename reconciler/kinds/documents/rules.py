"""The semantic rules of ``documents:``, one per function, run for every entry; builds DesiredDocument.

Located one-line errors (what, where, how to fix): a name that is unset, invisible or declared twice, outside
the scope, or also under ``removed:``; a ``document_id`` declared twice; a missing or unusable
``document_url``. Warnings: an unset ``${VAR}`` in a create-time input (needed only when the document is
created), a field or crawl key this version does not document (sent as written, one warning per field for
the whole file), a tag listed twice. Documents carry no secret; a presigned URL is redacted on every output.
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.checks import NamedRules, fragment, removed_names, suggest
from reconciler.engine.checks import plain as _plain
from reconciler.engine.yamlpos import short
from reconciler.kinds.documents.models import CRAWL_KEYS, DesiredDocument

OWN = ("name", "document_id", "protect")  # the file's own keys (never sent as such)
URL_FIELDS = ("document_url", "callback_url")


def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``documents:`` section."""
    return fragment("reconciler.kinds.documents")


def parse(entries: list, ctx: Any) -> tuple[DesiredDocument, ...]:
    """The loader's hook (``reconciler.engine.rules``): the ``documents:`` entries, checked, as DesiredDocument."""
    return DocumentRules(ctx).run(entries, ctx.settings, removed_names(ctx.doc.root.get("removed")))


def known_fields() -> list[str]:
    return list(schema()["$defs"]["document"]["properties"])


def _strings(value: Any) -> tuple[str, ...] | None:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


class DocumentRules(NamedRules):
    """``ctx`` is the loader's rule context (``reconciler.engine.rules.RuleContext``): ``doc`` (the located
    document: ``root``, ``at``, ``key_at``, ``missing``, ``skip``), ``diags`` (``error``/``warning``) and
    ``settings``. After :meth:`run`, ``names`` maps each declared name to its line."""

    key = "documents"
    noun = "document"
    id_key = "document_id"
    needed_when = "created"  # a document's attributes are create-time inputs (tags and name: in place)

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.doc = ctx.doc
        self.diags = ctx.diags
        self._warned: set[str] = set()
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def _warn_once(self, key: str, pos: Any, message: str) -> None:
        """One warning per ``key`` (a field name) for the whole file, at its first place."""
        if key not in self._warned:
            self._warned.add(key)
            self.diags.warning(pos, message)

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredDocument | None:
        base = (self.key, i)
        label, ok = self.rule_name(base, entry["name"], getattr(settings, "name_prefix", None))
        document_id = self.rule_id(base, entry, label)
        self._rule_source(base, entry, label, document_id)
        self._rule_unknown_fields(base, entry)
        self._rule_crawl(base, entry)
        self.rule_tags(base, entry, label)
        missing = self.rule_vars(base, label)
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
            close = suggest(key, known)
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
                close = suggest(str(key), list(CRAWL_KEYS))
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(CRAWL_KEYS)}"
                self._warn_once(f"document:crawl.{key}", self.doc.key_at(base + ("crawl", key)),
                                   f"documents: crawl field {short(key)} is not documented ({hint}); it is sent "
                                   "as written")
