"""The simulator's fake media (``/media/NAME``): ``missing`` in the name -> 404, ``expired`` -> 403, images and
videos -> 200 (Range honoured)."""

from __future__ import annotations

from typing import Any

MEDIA_BODY = bytes(range(256)) * 4  # 1 KiB of fake media


def serve(sim: Any, h: Any, method: str, path: str, query: dict[str, str]) -> None:
    """Fake media: ``missing`` -> 404, ``expired`` -> 403, images and videos -> 200 (Range honoured)."""
    name = path[len("/media/"):]
    head = method == "HEAD"
    if method not in ("GET", "HEAD"):
        status, body, ctype, headers = 405, b'{"message": "method not allowed"}', "application/json", {}
    elif "missing" in name:
        status, body, ctype, headers = 404, _s3_error("NoSuchKey", "The specified key does not exist."), \
            "application/xml", {}
    elif "expired" in name:
        status, body, ctype, headers = 403, _s3_error("AccessDenied", "Request has expired"), \
            "application/xml", {}
    else:
        lower = name.lower()
        ctype = ("image/png" if lower.endswith(".png")
                 else "image/jpeg" if lower.endswith((".jpg", ".jpeg")) else "video/mp4")
        status, body, headers = 200, MEDIA_BODY, {"Accept-Ranges": "bytes"}
        rng = _byte_range(h.headers.get("Range"), len(MEDIA_BODY))
        if rng is not None:
            first, last = rng
            status, body = 206, MEDIA_BODY[first:last + 1]
            headers["Content-Range"] = f"bytes {first}-{last}/{len(MEDIA_BODY)}"
    sim._record(method, path, query, status)
    h.respond(status, body, ctype, headers, head=head)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first range of a ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` header, clipped; None if absent or bad."""
    if not header or not header.startswith("bytes="):
        return None
    spec = header[len("bytes="):].split(",")[0].strip()
    first_text, _, last_text = spec.partition("-")
    try:
        if first_text == "":
            n = int(last_text)
            return (max(0, size - n), size - 1) if n > 0 else None
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


def _s3_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
