"""Guardrails: one entry of the file's ``guardrails:`` (:class:`DesiredGuardrail`) and an individual guardrail as
the API reports it (:class:`RemoteGuardrail`). Pure: no I/O.

API facts (``/v2/guardrails``): ``guardrail_name`` (letters, digits, ``_``; at most 100), ``guardrail_prompt``
(at most 1,000 characters), ``modality`` (``verbal`` | ``visual``, default verbal), ``callback_url``, ``tags``
(at most 32, 64 characters each), ``app_message`` (bool, default true). The id comes back as **``uuid``**.
The same path also serves the *legacy guardrail sets* (``{name, data: [...]}``, id ``guardrails_id``): a listing
returns them unless ``legacy=false`` is sent. A set is never a guardrail of ours: :func:`is_legacy_set` tells
them apart and :class:`RemoteGuardrail` marks one (``legacy_set``) so the kind drops it from every listing, and
nothing ever compares, adopts or deletes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NAME_PATTERN = r"^[A-Za-z0-9_]+$"
NAME_RE = re.compile(NAME_PATTERN)
MAX_NAME = 100
MAX_PROMPT = 1000
MAX_TAGS = 32
MAX_TAG = 64
MAX_CALLBACK_URL = 2048
MODALITIES = ("verbal", "visual")
# the attributes a file declares, as API fields (guardrail_name is the identity, not an attribute)
FIELDS = ("guardrail_prompt", "modality", "callback_url", "tags", "app_message")
ID_FIELDS = ("uuid", "guardrail_id")  # where an individual guardrail's id may come back (uuid: documented)
_SERVER_FIELDS = frozenset({"uuid", "guardrail_id", "guardrails_id", "created_at", "updated_at", "status"})


_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def scope_prefix(prefix: str | None) -> str | None:
    """``settings.scope.name_prefix`` as a guardrail name can hold it: a guardrail name is letters, digits and
    ``_`` only, so every other character of the prefix stands for ``_`` (``acme-`` scopes ``acme_no_salary``)."""
    return None if prefix is None else _NOT_NAME.sub("_", prefix)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


def is_legacy_set(item: Mapping[str, Any]) -> bool:
    """A legacy guardrail *set* (``{name, data: [...]}``, ``guardrails_id``/``guardrails_name``), not an
    individual guardrail: what a listing without ``legacy=false`` returns."""
    if "guardrail_name" in item or "guardrail_prompt" in item:
        return False
    return isinstance(item.get("data"), list) or "guardrails_id" in item or "guardrails_name" in item


def item_id(item: Mapping[str, Any]) -> str | None:
    """The id of an individual guardrail (``uuid``; ``guardrail_id`` tolerated), or None."""
    for key in ID_FIELDS:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class DesiredGuardrail:
    """One entry of ``guardrails:`` (resolved: ``${VAR}``s interpolated)."""

    name: str                               # guardrail_name: the identity within settings.scope
    attributes: Mapping[str, Any]           # declared API fields other than guardrail_name (FIELDS and any newer
                                            # field the file declares, passed through with a warning)
    guardrail_id: str | None = None         # pinned/adopted (export writes it): found by id, renamed in place
    protect: bool = False
    missing_vars: tuple[str, ...] = ()      # unset ${VAR}s (needed when it is created or updated)

    def create_payload(self) -> dict[str, Any]:
        return {"guardrail_name": self.name, **{k: _plain(v) for k, v in self.attributes.items()}}


@dataclass(frozen=True)
class RemoteGuardrail:
    """An individual guardrail as the API reports it. Only the id is required; ``document`` is the whole item
    (the remote side of the diff). ``legacy_set``: the item is a legacy set (never ours; dropped by listings)."""

    guardrail_id: str
    name: str | None = None
    guardrail_prompt: str | None = None
    modality: str | None = None
    callback_url: str | None = None
    tags: tuple[str, ...] | None = None
    app_message: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    legacy_set: bool = False
    in_set: bool = False  # an item mirrored from a legacy set (it names its set): part of the set, never ours
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteGuardrail:
        """Tolerant: KeyError/TypeError only when no id can be found (like the other kinds' models)."""
        if not isinstance(data, Mapping):
            raise TypeError(type(data).__name__)
        if isinstance(data.get("data"), Mapping) and item_id(data) is None and "guardrails_id" not in data:
            data = data["data"]  # a Get wrapped in {"data": {...}} (the legacy set page shows one)
        if is_legacy_set(data):
            sid = data.get("guardrails_id") or data.get("uuid")
            if not isinstance(sid, str) or not sid:
                raise KeyError("guardrails_id")
            return cls(guardrail_id=sid, name=_str(data.get("name") or data.get("guardrails_name")),
                       legacy_set=True, document=dict(data))
        gid = item_id(data)
        if gid is None:
            raise KeyError("uuid")
        app = data.get("app_message")
        return cls(
            guardrail_id=gid, name=_str(data.get("guardrail_name")),
            guardrail_prompt=_str(data.get("guardrail_prompt")),
            modality=_str(data.get("modality")), callback_url=_str(data.get("callback_url")),
            tags=_strings(data.get("tags")), app_message=app if isinstance(app, bool) else None,
            created_at=_str(data.get("created_at")), updated_at=_str(data.get("updated_at")),
            in_set=bool(_str(data.get("guardrails_id"))),
            document={str(k): v for k, v in data.items() if k not in _SERVER_FIELDS})

    @property
    def key(self) -> str:
        return self.guardrail_id

    @property
    def manageable(self) -> bool:
        """False for a legacy set and for an item of one: never compared, adopted, updated or deleted."""
        return not (self.legacy_set or self.in_set)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
