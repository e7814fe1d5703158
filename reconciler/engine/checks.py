"""Checks on located text that any kind's rules share: URLs, names (control and invisible characters), values
written as ``${VAR}``, located values as plain data; a kind's schema fragment, did-you-mean, and the identity
rules of a named entry (:class:`NamedRules`: known at plan time, plain, declared once, in scope, not also under
``removed:``; a pinned id declared once). Pure."""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Collection
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from reconciler.api.redact import CONTROL_CHARS, is_invisible
from reconciler.engine.yamlpos import Document, short, unencodable

ONLY_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}\Z")


def invisible_in(name: str) -> str | None:
    """The first invisible character in ``name``, described (``U+200B ZERO WIDTH SPACE at position 3``)."""
    import unicodedata

    for i, ch in enumerate(name):
        if is_invisible(ch):
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')} at position {i + 1}"
    return None


def plain_name(name: Any) -> bool:
    """A name good enough to label messages with (the schema and semantic checks judge it properly)."""
    return isinstance(name, str) and 0 < len(name) <= 128 and name == name.strip() and not CONTROL_CHARS.search(name)



_URL_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@functools.lru_cache(maxsize=1024)
def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a training/callback URL, or None when it is a plain http(s) URL with a host."""
    if _URL_BAD_CHAR.search(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not host:
        return "has no host"
    if unencodable(url):
        return "is not valid Unicode text"
    if any(not label for label in host.rstrip(".").split(".")):
        return "has an empty label in its host name"
    if _PLAIN_HOST.match(host) and "xn--" not in host.lower():
        return None  # plain ASCII labels: nothing for IDNA to refuse, and validate need not load httpx
    try:
        import httpx  # the parser the URL check and the API use: a host it cannot encode (IDNA) fails here

        checked = httpx.URL(f"{parts.scheme}://{parts.netloc}/")
        checked.host  # noqa: B018 - decoding the host (IDNA) is what raises
    except Exception:  # noqa: BLE001 - InvalidURL, IDNAError, UnicodeError, ValueError: all mean "bad URL"
        return "has a host name that is not valid (IDNA)"
    return None


_PLAIN_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$")


def show_url(url: str) -> str:
    from reconciler.api.redact import redact_url

    return short(redact_url(url) or "", 80)


def written_as_var(doc: Document, path: tuple) -> bool:
    raw = doc.raw.get(path)
    return raw is not None and ONLY_VAR.match(raw) is not None



def plain(value: Any) -> Any:
    """A deep copy of a located value as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def removed_names(raw: Any) -> tuple[str, ...]:
    """The names under ``removed:`` (``NAME`` or ``{name: NAME}``): released from management, never deleted."""
    if not isinstance(raw, list):
        return ()
    names = [item if isinstance(item, str) else item.get("name") if isinstance(item, dict) else None for item in raw]
    return tuple(n for n in names if isinstance(n, str))


@functools.cache
def fragment(package: str) -> dict:
    """A kind's schema fragment (``schema.json`` next to its modules; package data in the wheel)."""
    return json.loads(resources.files(package).joinpath("schema.json").read_text(encoding="utf-8"))


def item_schema(package: str) -> dict:
    """The schema of one entry of the kind's section."""
    return fragment(package)["section"]["items"]


def suggest(word: str, known: Collection[str]) -> str | None:
    """The known word closest to ``word`` (a did-you-mean), or None."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def unset_identity(doc: Any, diags: Any, path: tuple, what: str) -> None:
    """An identity (a name, a pinned id) from an unset ${VAR}: one error per variable."""
    for var in doc.missing[path]:
        diags.error(doc.at(path), f"${{{var}}} is not set: {what} must be known to plan (set the variable or give "
                                  "a default with ${VAR:-default})")


class RuleSem:
    """The validation context the rules speak (``doc``, ``diags``, ``_unset_identity``, ``warn_once``), over the
    engine loader's ``ctx`` (``reconciler.engine.rules.RuleContext``: ``doc``, ``diags``, ``settings``)."""

    def __init__(self, ctx: Any):
        self.doc, self.diags = ctx.doc, ctx.diags
        self._warned: set[str] = set()

    def _unset_identity(self, path: tuple, what: str) -> None:
        unset_identity(self.doc, self.diags, path, what)

    def warn_once(self, key: str, pos: Any, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.diags.warning(pos, message)


class NamedRules:
    """The identity rules of a named entry, for a kind's rules class: it sets ``key`` (the section), ``noun``,
    ``id_key`` (the pinned-id field) and has ``doc``, ``diags``, ``names``/``ids`` (name/id -> line, filled
    here) and ``removed`` (the names under ``removed:``). ``name_problem`` says why a name cannot be one (by
    default control and, with ``invisible``, invisible characters); :meth:`run` builds each entry with the
    class's ``_entry(i, entry, settings)``."""

    key = ""
    noun = ""
    id_key = ""
    invisible = True  # a name with an invisible character is refused (it looks like another one)
    duplicate_note = ""  # appended to the duplicate-name error
    scope_note = "settings.scope.name_prefix"
    needed_when = "created or updated"  # when an attribute's unset ${VAR} is needed
    doc: Any
    diags: Any
    names: dict[str, int]
    ids: dict[str, int]
    removed: Collection[str]

    def run(self, raw: Any, settings: Any, removed: Collection[str] = ()) -> tuple:
        """The desired object of each named entry of the section (``_entry(i, entry, settings)``, None when it
        cannot be built); entries the schema rejected are skipped (it reported them)."""
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

    def _entry(self, i: int, entry: dict, settings: Any) -> Any:
        raise NotImplementedError

    def unset_identity(self, path: tuple, what: str) -> None:
        unset_identity(self.doc, self.diags, path, what)

    def name_problem(self, name: str) -> str | None:
        if CONTROL_CHARS.search(name):
            return "name must not contain control characters"
        if self.invisible and (bad := invisible_in(name)) is not None:
            return f"name contains the invisible character {bad}: remove it (it makes the name look like another one)"
        return None

    def rule_name(self, base: tuple, name: str, prefix: str | None) -> tuple[str, bool]:
        """Known at plan time, plain text, declared once in the section, not also under ``removed:``, in scope.
        Returns (label for messages, usable)."""
        doc, diags = self.doc, self.diags
        path, label = base + ("name",), f"{self.key}[{base[1]}]"
        if path in doc.missing:
            self.unset_identity(path, f"{label}.name")
            return label, False
        problem = self.name_problem(name)
        if problem is not None:
            diags.error(doc.at(path), f"{label}: {problem}")
            return label, False
        if not name.strip() or name != name.strip():
            return label, False  # the schema (or the pattern) reported it
        if name in self.removed:
            diags.error(doc.at(path), f"{name}: the {self.noun} is also listed under removed: (released from "
                                      "management): remove it from one of the two")
        if name in self.names:
            diags.error(doc.at(path), f"duplicate {self.noun} name {short(name)} (first declared at line "
                                      f"{self.names[name]}){self.duplicate_note}")
        else:
            self.names[name] = doc.at(base)[0]
        if prefix and not name.startswith(prefix):
            diags.error(doc.at(path), f"{name}: the name is outside this file's scope: it must start with "
                                      f"{prefix!r} ({self.scope_note})")
        return name, True

    def rule_id(self, base: tuple, entry: dict, label: str) -> str | None:
        """A pinned id is known at plan time (no unset ${VAR}) and declared once."""
        path, value = base + (self.id_key,), entry.get(self.id_key)
        if path in self.doc.missing:
            self.unset_identity(path, f"{label}: {self.id_key}")
            return None
        if not isinstance(value, str) or not value:
            return None
        if value in self.ids:
            self.diags.error(self.doc.at(path), f"{label}: {self.id_key} {value} is already used at line "
                                                f"{self.ids[value]}")
            return None
        self.ids[value] = self.doc.at(base)[0]
        return value

    def rule_tags(self, base: tuple, entry: dict, label: str) -> None:
        """A tag listed twice: a warning."""
        tags = entry.get("tags")
        if not isinstance(tags, list):
            return
        seen: set[str] = set()
        for j, tag in enumerate(tags):
            if isinstance(tag, str) and tag in seen:
                self.diags.warning(self.doc.at(base + ("tags", j)), f"{label}: tag {short(tag)} is listed twice")
            seen.add(tag)

    def rule_vars(self, base: tuple, label: str) -> set[str]:
        """Unset ${VAR}s outside the identity are warnings here: they are needed when the object is created (or
        updated: ``needed_when``), and plan refuses then. Returns the unset variables."""
        missing: set[str] = set()
        identity = {base + ("name",), base + (self.id_key,)}
        for path, unset in self.doc.missing.items():
            if path[:2] != base or path in identity:
                continue
            missing.update(unset)
            for var in unset:
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed when {label} is "
                                                      f"{self.needed_when})")
        return missing
