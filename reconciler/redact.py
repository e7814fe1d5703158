"""Making untrusted text safe to show: URL credentials removed, control characters escaped."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REDACTED = "REDACTED"
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


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


def escape_control(text: str) -> str:
    """Escape control and bidi-override characters so untrusted text cannot drive a terminal."""
    return CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)
