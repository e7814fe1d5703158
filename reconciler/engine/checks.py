"""Checks on located text that any kind's rules share: URLs, names (control and invisible characters), values
written as ``${VAR}``, located values as plain data. Pure; the wording is the callers'."""

from __future__ import annotations

import functools
import re
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
