"""Making untrusted text safe to show: URL credentials removed, secrets masked, control and invisible
characters escaped.

:func:`escape_control` (alias :func:`scrub`) is the one choke point every display path already uses: besides
escaping it redacts presigned URLs inside free text and masks registered secrets (the API key), so a server
that echoes what we sent (an error message quoting the training URL, the key) cannot leak it to a terminal,
a log or a saved file.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

REDACTED = "REDACTED"
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Characters that render as nothing (or as an ordinary space) and so make two different names look the same:
# format characters (zero-width space/joiners, LRM/RLM, BOM, soft hyphen, word joiner, tags...), fillers,
# variation selectors and the look-alike spaces.
INVISIBLE_CHARS = re.compile(
    "[\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u202f\u205f-\u2065"
    "\u206a-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\u0600-\u0605\u06dd\u070f\u08e2"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f\U000e0100-\U000e01ef]")
_UNSAFE = re.compile(CONTROL_CHARS.pattern[:-1] + INVISIBLE_CHARS.pattern[1:])
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>`|)\]]+", re.IGNORECASE)
# a signature quoted without its URL (or with the URL mangled, e.g. JSON-escaped slashes)
_SECRET_PARAM = re.compile(r"(?i)\b(x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                           r"x-goog-credential|signature|sig|access_token|token|api_key|apikey)=[^&\s\"'<>]+")
_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` (the API key) wherever :func:`escape_control` / :func:`redact_text` see it."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def has_secret(text: str) -> bool:
    """Whether a registered secret occurs in ``text`` (for fast paths that skip :func:`redact_text`)."""
    return any(secret in text for secret in _SECRETS)


def is_invisible(ch: str) -> bool:
    """A character a reader cannot see (or tell from a space): format (Cf), private/surrogate, separators
    other than the plain space, fillers."""
    if INVISIBLE_CHARS.match(ch) or CONTROL_CHARS.match(ch):
        return True
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Co", "Cs", "Zl", "Zp") or (cat == "Zs" and ch != " ")


def redact_url(url: str | None) -> str | None:
    """Drop what can carry a credential: the query string, the fragment and any user:password@.

    Presigned URLs (S3, GCS) put their signature in the query string, so ``?X-Amz-Signature=...``
    becomes ``?REDACTED``. Text that is not a URL is returned unchanged.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = REDACTED if parts.query else ""
    fragment = REDACTED if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_text(text: str | None) -> str | None:
    """Free text with every URL redacted, stray signature parameters and registered secrets masked."""
    if not text:
        return text
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, f"[{REDACTED}]")
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group()) or "", text)
    if "=" in text:
        text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return text


def _escape_char(m: re.Match) -> str:
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else (f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")


def escape_control(text: str) -> str:
    """The display choke point: URLs and secrets redacted (:func:`redact_text`), then control, bidi-override
    and invisible characters escaped so untrusted text can neither drive a terminal nor pass for another
    name."""
    return _UNSAFE.sub(_escape_char, redact_text(text) or "")


scrub = escape_control
