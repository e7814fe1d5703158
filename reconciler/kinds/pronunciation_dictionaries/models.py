"""Pronunciation dictionaries as the file declares them and as the API reports them.

A dictionary (``/v2/pronunciation-dictionaries``) is a ``name`` (at most 255 characters) and ``rules`` (at most
10,000, each ``{text, pronunciation, type: alias|ipa, alphabet, case_sensitive, word_boundaries}``, unique by
``text``). A persona cites one in ``layers.tts.pronunciation_dictionary_id``. Tavus fills a rule's
``case_sensitive`` (false) and ``word_boundaries`` (true) when it is created without them, so rules are
compared with those defaults (:func:`rule_key`) and without their order (the ``text`` is unique: it is the
rule's identity). An update replaces the whole ``rules`` array (there is no per-rule operation).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_NAME = 255
MAX_RULES = 10_000
RULE_TYPES = ("alias", "ipa")
RULE_KEYS = ("text", "pronunciation", "type", "alphabet", "case_sensitive", "word_boundaries")
RULE_DEFAULTS: Mapping[str, Any] = {"case_sensitive": False, "word_boundaries": True}
ID_ALIASES = ("pronunciation_dictionary_id", "dictionary_id", "uuid", "id")


def normal_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as compared: the server's defaults filled in, members holding null dropped."""
    out = {**RULE_DEFAULTS, **{str(k): v for k, v in rule.items()}}
    return {k: v for k, v in out.items() if v is not None}


def rule_key(rules: Sequence[Mapping[str, Any]], keys: frozenset[str] | None = None) -> tuple:
    """The rules as compared: each normalised (on ``keys`` when given: the documented members and those the file
    declares), sorted by ``text``."""
    out = []
    for rule in rules:
        norm = normal_rule(rule)
        if keys is not None:
            norm = {k: v for k, v in norm.items() if k in keys}
        out.append(tuple(sorted((k, repr(v)) for k, v in norm.items())))
    return tuple(sorted(out, key=lambda r: dict(r).get("text", "")))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class DesiredDictionary:
    """One entry of ``pronunciation_dictionaries:`` in the file, validated."""

    name: str
    rules: tuple[Mapping[str, Any], ...] = ()
    dictionary_id: str | None = None  # pinned/adopted (export writes it)
    extra: tuple[tuple[str, Any], ...] = ()  # fields this version does not document, sent as written
    protect: bool = False
    missing_vars: tuple[str, ...] = ()
    line: int = 0

    @property
    def urls(self) -> dict[str, str]:
        """The URLs apply's preflight fetches before any write: none (a tool's delivery URL is an API endpoint,
        called by Tavus during a conversation, not a file to download)."""
        return {}

    def rule_list(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(dict(r)) for r in self.rules]

    def create_payload(self, name: str | None = None) -> dict[str, Any]:
        """The body of ``POST /v2/pronunciation-dictionaries``."""
        return {"name": name or self.name, "rules": self.rule_list(), **{k: copy.deepcopy(v) for k, v in self.extra}}

    def declared_keys(self) -> frozenset[str]:
        """The rule members compared: the documented ones and any the file declares."""
        return frozenset(RULE_KEYS) | {str(k) for r in self.rules for k in r}


@dataclass(frozen=True)
class RemoteDictionary:
    """A dictionary as the API reports it. ``rules`` is None when the answer did not carry them (a listing that
    gives only ``rules_count``): they cannot be compared from it."""

    dictionary_id: str
    name: str | None = None
    rules: tuple[Mapping[str, Any], ...] | None = None
    rules_count: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteDictionary:
        """Tolerant: only an id (``pronunciation_dictionary_id``, else ``dictionary_id``, ``uuid`` or ``id``) is
        required (KeyError/TypeError otherwise); rules that are not objects are dropped."""
        did = next((data[k] for k in ID_ALIASES if k in data), None)
        if did is None:
            raise KeyError("pronunciation_dictionary_id")
        if not isinstance(did, str) or not did:
            raise TypeError("pronunciation_dictionary_id is not a non-empty string")
        raw = data.get("rules")
        rules = tuple(copy.deepcopy(dict(r)) for r in raw if isinstance(r, Mapping)) if isinstance(raw, list) else None
        count = data.get("rules_count")
        return cls(dictionary_id=did, name=_str(data.get("name")), rules=rules,
                   rules_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                   created_at=_str(data.get("created_at")), updated_at=_str(data.get("updated_at")),
                   document=copy.deepcopy(dict(data)))
