"""Tools as the file declares them and as the API reports them, and the secrets their delivery carries.

A tool (``/v2/tools``) is a function a persona's LLM (``origin: llm``) or perception layer (``vision`` /
``audio``) calls: ``name`` (``^[a-zA-Z_][a-zA-Z0-9_]{0,63}$``, unique per account: a delete frees the name),
``description``, ``parameters`` (a JSON Schema), ``delivery`` (``app_message``, or ``api``: an https ``url``,
``method``, ``timeout`` <= 60 s, ``headers``, ``auth``, ``body_template``, ``query_params``), ``origin``,
``on_call``, ``on_resolve``, ``tags``. Built-in system tools (``is_system_tool: true``, e.g. ``end_call``)
are not the account's: they are never managed.

Secrets: the values of ``delivery.api.auth`` (``token``, ``password``, ``value`` of an api_key, ``secret`` of
an hmac, ``client_secret`` of oauth2_client_credentials) and of headers that carry credentials
(``Authorization``, ``X-API-Key``...). The file writes them only as ``${VAR}``; their resolved values are
registered with :func:`reconciler.api.redact.register_secret`. GET answers them masked (``********``): a masked
value cannot be compared (:meth:`RemoteTool.secret_matches` is None), so the plan says so and ``--resend``
sends it. A value echoed in clear is registered too, never kept: only a per-process salted digest is.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.redact import register_secret

NAME_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}\Z")
MASK = "********"  # what GET answers in place of a secret (and what plans show)
AUTH_TYPES = ("bearer", "basic", "api_key", "hmac", "oauth2_client_credentials")
SECRET_AUTH_KEYS = frozenset({"token", "password", "value", "secret", "client_secret", "api_key", "key",
                              "access_token", "refresh_token", "private_key"})
_SECRET_HEADER = re.compile(r"authorization|api[-_]?key|token|secret|password|cookie|signature", re.IGNORECASE)
ORIGINS = ("llm", "vision", "audio")
MAX_TIMEOUT = 60
ID_ALIASES = ("tool_id", "uuid", "id")  # the id as the reference answers it, then tolerated spellings
_SALT = os.urandom(16)
_LOOKS_MASKED = re.compile(r"^\W*$|[*•…]|\.{3}|x{4,}|redacted", re.IGNORECASE)


class Secret(str):
    """A secret's value that shows as :data:`MASK` wherever it is formatted (``str``, ``repr``, f-strings, the
    plan renderers), while JSON encoding (the request body) and comparisons see the value itself: a declared
    tool can travel through plans and changes without a code path that could print its secrets."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)


def sealed(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``attributes`` with every secret string as a :class:`Secret`."""
    out = copy.deepcopy(dict(attributes))
    for path in list(secret_paths(out)):
        parent = at(out, path[:-1])
        if isinstance(parent[path[-1]], str):
            parent[path[-1]] = Secret(parent[path[-1]])
    return out


def valid_name(name: Any) -> bool:
    return isinstance(name, str) and NAME_PATTERN.match(name) is not None


def secret_header(name: str) -> bool:
    """Whether a header (``Authorization``, ``X-API-Key``, ``X-Auth-Token``...) carries a credential."""
    return bool(_SECRET_HEADER.search(name))


def secret_paths(attributes: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """The paths (from the tool's top level) of every secret value in ``attributes``: the auth members named in
    :data:`SECRET_AUTH_KEYS` and the credential headers, wherever a string (or anything) is written there."""
    delivery = attributes.get("delivery")
    api = delivery.get("api") if isinstance(delivery, Mapping) else None
    if not isinstance(api, Mapping):
        return
    auth = api.get("auth")
    if isinstance(auth, Mapping):
        for key in auth:
            if str(key) in SECRET_AUTH_KEYS:
                yield ("delivery", "api", "auth", str(key))
    headers = api.get("headers")
    if isinstance(headers, Mapping):
        for key in headers:
            if secret_header(str(key)):
                yield ("delivery", "api", "headers", str(key))


def is_secret_path(path: tuple[str, ...]) -> bool:
    if len(path) != 4 or path[:2] != ("delivery", "api"):
        return False
    return (path[2] == "auth" and path[3] in SECRET_AUTH_KEYS) or (path[2] == "headers" and secret_header(path[3]))


def looks_masked(value: str) -> bool:
    """``********``, ``sk-****abcd``, ``[REDACTED]``...: what a server shows in place of a secret."""
    return bool(_LOOKS_MASKED.search(value))


def digest(value: str) -> bytes:
    return hmac.new(_SALT, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def at(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(doc, Mapping) or key not in doc:
            return None
        doc = doc[key]
    return doc


def masked(doc: Mapping[str, Any], digests: dict[str, bytes] | None = None) -> dict[str, Any]:
    """A deep copy of a tool document with every secret value replaced by :data:`MASK`; a value echoed in clear
    is registered as a secret and its digest recorded in ``digests`` (dotted path -> digest)."""
    out = copy.deepcopy(dict(doc))
    for path in list(secret_paths(out)):
        parent = at(out, path[:-1])
        value = parent[path[-1]]
        if isinstance(value, str) and value:
            register_secret(value)
            if digests is not None and not looks_masked(value):
                digests[".".join(path)] = digest(value)
        if value is not None:
            parent[path[-1]] = MASK
    return out


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class DesiredTool:
    """One entry of ``tools:`` in the file, validated and with its ``${VAR}``s resolved."""

    name: str                                   # the tool's name: its identity (unique per account)
    attributes: Mapping[str, Any]               # every other API field as declared (description, parameters,
                                                # delivery, origin, on_call, on_resolve, tags, and fields this
                                                # version does not document, passed through); secrets resolved
    tool_id: str | None = None                  # pinned/adopted (export writes it)
    secret_paths: tuple[tuple[str, ...], ...] = ()  # where the secrets are (delivery.api.auth.token...)
    missing_vars: tuple[str, ...] = ()          # unset ${VAR}s (a create or update that needs them is refused)
    protect: bool = False
    line: int = 0

    @property
    def urls(self) -> dict[str, str]:
        """The URLs apply's preflight fetches before any write: none (a tool's delivery URL is an API endpoint,
        called by Tavus during a conversation, not a file to download)."""
        return {}

    def create_payload(self, name: str | None = None) -> dict[str, Any]:
        """The body of ``POST /v2/tools`` (secrets in clear: only ever sent, never shown)."""
        return {"name": name or self.name, **copy.deepcopy(dict(self.attributes))}

    def shown(self) -> dict[str, Any]:
        """What a plan shows of the create: every secret as :data:`MASK`."""
        return masked(self.create_payload())


@dataclass(frozen=True)
class RemoteTool:
    """A tool as the API reports it. ``document`` is the whole item with every secret masked; ``_digests`` holds
    salted digests of the secrets the server echoed in clear (never the values)."""

    tool_id: str
    name: str | None = None
    is_system: bool = False
    origin: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _digests: Mapping[str, bytes] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteTool:
        """Tolerant: only an id (``tool_id``, else ``uuid`` or ``id``) is required (KeyError/TypeError)."""
        tid = next((data[k] for k in ID_ALIASES if k in data), None)
        if tid is None:
            raise KeyError("tool_id")
        if not isinstance(tid, str) or not tid:
            raise TypeError("tool_id is not a non-empty string")
        digests: dict[str, bytes] = {}
        doc = masked(data, digests)
        for k in ID_ALIASES:
            doc.pop(k, None)
        return cls(tool_id=tid, name=_str(doc.get("name")), is_system=doc.get("is_system_tool") is True,
                   origin=_str(doc.get("origin")), created_at=_str(doc.get("created_at")),
                   updated_at=_str(doc.get("updated_at")), document=doc, _digests=digests)

    def secret_matches(self, dotted: str, value: str) -> bool | None:
        """Whether the server echoed exactly ``value`` at ``dotted`` (``delivery.api.auth.token``); None when it
        cannot be told (masked, or not returned)."""
        found = self._digests.get(dotted)
        if found is None:
            return None
        return hmac.compare_digest(found, digest(value))
