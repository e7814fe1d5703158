"""The simulator's documents (``/v2/documents*``), as the API reference documents them.

Reached from the simulator's HTTP layer after auth and the shared fault injection (latency, 5xx, 429, rate
limit, dropped and 504'd creates), so those faults apply here too. As documented:

- the listing pages from **0** (``page=0`` is the first page; default ``limit`` 10, pages capped at
  :data:`MAX_PAGE`), newest first (``sort=asc`` for oldest first), filters ``status``, ``name_or_uuid``,
  ``tags``; the answer carries ``total_count``;
- a create answers the document with ``status: started``; processing is asynchronous
  (``started`` -> ``processing`` -> ``ready`` over :attr:`Store.process_seconds`); a URL whose host is under
  ``.invalid`` (RFC 2606: never resolves), or one registered with :func:`fail_url`, ends in ``error`` with
  ``error_message: file_download_failed``;
- ``PATCH /{id}`` takes a plain JSON body and changes only ``document_name`` and ``tags`` (anything else: 400);
- ``DELETE /{id}`` answers 204; an unknown id answers 404 ``{"message": "Document not found"}``;
- ``POST /{id}/recrawl`` 202, 409 unless ready or error, 429 within a 1-hour cooldown.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from reconciler.sim.sim_account import ApiError as SimError

MAX_PAGE = 100  # the page size the simulator serves at most (the reference documents none)
DEFAULT_LIMIT = 10
PATCHABLE = ("document_name", "tags")
CRAWL_LIMITS = {"depth": (1, 10), "max_pages": (1, 100)}
RECRAWL_COOLDOWN = 3600.0
DOWNLOAD_FAILED = "file_download_failed"
_SERVER_FIELDS = ("document_id", "status", "progress", "error_message", "created_at", "updated_at",
                  "crawled_urls", "last_crawled_at", "crawl_count", "crawl_config")
_STATUSES = ("started", "processing", "ready", "error", "recrawling")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Store:
    """The fake account's documents. Thread-safe through its own lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.docs: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # creation order, oldest first
        self.process_seconds = 0.0  # how long processing takes (0: ready at the first read)
        self.fail_urls: set[str] = set()
        self.started: dict[str, float] = {}  # id -> monotonic start of (re)processing, while it runs
        self.failing: set[str] = set()  # ids whose processing ends in error
        self.recrawled: dict[str, float] = {}  # id -> monotonic time of the last recrawl

    def put(self, doc: dict[str, Any], *, fail: bool = False) -> None:
        did = doc["document_id"]
        self.docs[did] = doc
        self.order.append(did)
        if doc.get("status") in ("started", "processing", "recrawling"):
            self.started[did] = time.monotonic()
        if fail:
            self.failing.add(did)

    def settle(self, did: str) -> dict[str, Any]:
        """The stored document with its processing advanced to now (under the lock)."""
        doc = self.docs[did]
        began = self.started.get(did)
        if began is None:
            return doc
        elapsed = time.monotonic() - began
        span = self.process_seconds
        if elapsed >= span:
            del self.started[did]
            failed = did in self.failing
            self.failing.discard(did)
            doc.update(status="error" if failed else "ready", progress=50 if failed else 100,
                       error_message=DOWNLOAD_FAILED if failed else None, updated_at=_iso(time.time()))
            if not failed and doc.get("crawl_config"):
                doc["crawl_count"] = int(doc.get("crawl_count") or 0) + 1
                doc["last_crawled_at"] = doc["updated_at"]
                doc["crawled_urls"] = [doc.get("document_url")]
        else:
            pct = int(100 * elapsed / span) if span > 0 else 0
            if doc.get("status") == "started" and pct >= 10:
                doc["status"] = "processing"
            doc["progress"] = pct
        return doc

    def view(self, did: str) -> dict[str, Any]:
        return copy.deepcopy(self.settle(did))


def store(sim: Any) -> Store:
    """The document store of ``sim`` (made on first use)."""
    with sim._lock:
        st = getattr(sim, "_document_store", None)
        if st is None:
            st = sim._document_store = Store()
        return st


def configure(sim: Any, *, process_seconds: float | None = None) -> None:
    st = store(sim)
    with st.lock:
        if process_seconds is not None:
            st.process_seconds = max(0.0, float(process_seconds))


def fail_url(sim: Any, url: str) -> None:
    """Documents made from ``url`` from now on fail with ``file_download_failed`` (tests)."""
    st = store(sim)
    with st.lock:
        st.fail_urls.add(url)


def _fails(st: Store, url: str) -> bool:
    with contextlib.suppress(ValueError):
        host = (urlsplit(url).hostname or "").rstrip(".")
        if host == "invalid" or host.endswith(".invalid"):
            return True
    return url in st.fail_urls


def add_document(sim: Any, **fields: Any) -> dict[str, Any]:
    """Seed a document directly (tests): ready unless ``status`` says otherwise."""
    st = store(sim)
    now = time.time()
    doc = {"document_id": fields.pop("document_id", None) or "d" + uuid.uuid4().hex[:10], "document_name": "",
           "status": "ready", "progress": 100, "error_message": None, "tags": [], "created_at": _iso(now),
           "updated_at": _iso(now), **fields}
    with st.lock:
        st.put(doc)
    return copy.deepcopy(doc)


def finish(sim: Any, document_id: str, status: str = "ready", error_message: str | None = None) -> None:
    """End a document's processing now with ``status`` (KeyError when there is no such document)."""
    st = store(sim)
    with st.lock:
        doc = st.docs[document_id]
        st.started.pop(document_id, None)
        st.failing.discard(document_id)
        doc.update(status=status, progress=100 if status == "ready" else doc.get("progress", 0),
                   error_message=error_message, updated_at=_iso(time.time()))


def documents(sim: Any) -> list[dict[str, Any]]:
    """The stored documents, oldest first, processing advanced to now: what the account really holds."""
    st = store(sim)
    with st.lock:
        return [st.view(i) for i in st.order]


# ------------------------------------------------------------------ routes


COLLECTIONS = ("documents",)


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The methods a path allows; 404 for paths this module does not serve."""
    return check_route(parts, SimError)


def check_route(parts: list[str], error: type) -> tuple[str, ...]:
    methods = {2: ("GET", "POST"), 3: ("GET", "PATCH", "DELETE")}.get(len(parts))
    if len(parts) == 4 and parts[3] == "recrawl":
        methods = ("POST",)
    if parts[:2] != ["v2", "documents"] or methods is None:
        raise error(404, f"no route for /{'/'.join(parts)}")
    return methods


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Any) -> tuple[int, Any, str, dict[str, str]]:
    """One request, after auth and the shared fault injection (a 504'd create still lands later, a dropped one
    is carried out and its answer lost, a slow one answers late: :func:`reconciler.sim.routes.land`)."""
    from reconciler.sim.routes import land

    if len(parts) == 2 and method == "POST":
        payload = land(faults, lambda: handle(sim, method, parts, query, body, SimError)[1])
        return 200, payload, "application/json", {}
    status, payload = handle(sim, method, parts, query, body, SimError)
    return status, b"" if payload is None else payload, "application/json", {}


def control(sim: Any, method: str, parts: list[str], body: bytes) -> tuple[int, Any] | None:
    """``GET /_sim/documents`` (every document), ``POST /_sim/documents`` (add one), ``POST
    /_sim/documents/{id}/finish`` (``{"status": ..., "error_message": ...}``: end its processing now)."""
    if parts[2:3] != ["documents"]:
        return None
    if method == "GET" and len(parts) == 3:
        return 200, documents(sim)
    data = _object(body, SimError) if body else {}
    if method == "POST" and len(parts) == 3:
        return 200, add_document(sim, **data)
    if method == "POST" and len(parts) == 5 and parts[4] == "finish":
        try:
            finish(sim, parts[3], str(data.get("status") or "ready"), data.get("error_message"))
        except KeyError:
            return 404, {"message": f"no document {parts[3]}"}
        return 200, {"message": "finished", "document_id": parts[3]}
    return None


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
           error: type) -> tuple[int, Any]:
    """One request (route already checked, faults already drawn). Returns (status, payload or None)."""
    st = store(sim)
    if len(parts) == 2:
        return (200, _list(st, query, error)) if method == "GET" else (200, _create(st, body, error))
    did = parts[2]
    with st.lock:
        if did not in st.docs:
            raise error(404, "Document not found")
        if len(parts) == 4:
            return _recrawl(st, did, error)
        if method == "GET":
            return 200, st.view(did)
        if method == "DELETE":
            del st.docs[did]
            st.order.remove(did)
            st.started.pop(did, None)
            return 204, None
        return 200, _patch(st, did, body, error)


def _int(query: dict[str, str], key: str, default: int, least: int, error: type) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error(400, f"{key} must be an integer") from None
    if value < least:
        raise error(400, f"{key} must be at least {least}")
    return value


def _list(st: Store, query: dict[str, str], error: type) -> dict[str, Any]:
    limit = min(_int(query, "limit", DEFAULT_LIMIT, 1, error), MAX_PAGE)
    page = _int(query, "page", 0, 0, error)  # 0-based, unlike replicas and personas
    status, needle = query.get("status") or None, (query.get("name_or_uuid") or "").lower()
    tags = {t for t in (query.get("tags") or "").split(",") if t}
    if status is not None and status not in _STATUSES:
        raise error(400, f"status must be one of {', '.join(_STATUSES)}")
    with st.lock:
        order = st.order if query.get("sort", "desc").lower() == "asc" else list(reversed(st.order))
        matches = []
        for did in order:
            doc = st.settle(did)
            if status is not None and doc.get("status") != status:
                continue
            if needle and needle not in str(doc.get("document_name", "")).lower() and needle != did.lower():
                continue
            if tags and not tags & set(doc.get("tags") or ()):
                continue
            matches.append(doc)
        window = matches[page * limit:(page + 1) * limit]
        return {"data": [copy.deepcopy(d) for d in window], "total_count": len(matches), "page": page,
                "limit": limit}


def _object(body: bytes, error: type) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise error(400, "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise error(400, "request body must be a JSON object")
    return data


def _check_tags(value: Any, error: type) -> None:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise error(400, "tags must be an array of strings")


def _check_crawl(value: Any, error: type) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise error(400, "crawl must be an object")
    for key, (least, most) in CRAWL_LIMITS.items():
        if key in value and (not isinstance(value[key], int) or isinstance(value[key], bool)
                             or not least <= value[key] <= most):
            raise error(400, f"crawl.{key} must be an integer from {least} to {most}")
    return dict(value)


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = _object(body, error)
    url = data.get("document_url")
    if not isinstance(url, str) or not url:
        raise error(400, "document_url is required")
    if "tags" in data:
        _check_tags(data["tags"], error)
    crawl = _check_crawl(data["crawl"], error) if "crawl" in data else None
    now = time.time()
    doc = {k: copy.deepcopy(v) for k, v in data.items() if k not in _SERVER_FIELDS and k != "crawl"}
    doc.update(document_id="d" + uuid.uuid4().hex[:10], document_name=data.get("document_name") or "",
               status="started", progress=0, error_message=None, tags=list(data.get("tags") or []),
               created_at=_iso(now), updated_at=_iso(now))
    if crawl is not None:
        doc.update(crawl_config=crawl, crawled_urls=[], crawl_count=0, last_crawled_at=None)
    with st.lock:
        st.put(doc, fail=_fails(st, url))
        return copy.deepcopy(doc)


def _patch(st: Store, did: str, body: bytes, error: type) -> dict[str, Any]:
    data = _object(body, error)  # a JSON Patch array is not what this endpoint takes: 400
    unknown = sorted(set(data) - set(PATCHABLE))
    if unknown:
        raise error(400, f"only document_name and tags can be updated (got {', '.join(unknown)})")
    if "tags" in data:
        _check_tags(data["tags"], error)
    if "document_name" in data and not isinstance(data["document_name"], str):
        raise error(400, "document_name must be a string")
    doc = st.settle(did)
    doc.update(copy.deepcopy(data))
    doc["updated_at"] = _iso(time.time())
    return copy.deepcopy(doc)


def _recrawl(st: Store, did: str, error: type) -> tuple[int, Any]:
    doc = st.settle(did)
    if doc.get("status") not in ("ready", "error"):
        raise error(409, f"the document is {doc.get('status')}: only a ready or failed document can be recrawled")
    last = st.recrawled.get(did)
    if last is not None and time.monotonic() - last < RECRAWL_COOLDOWN:
        raise error(429, "a document can be recrawled once an hour")
    st.recrawled[did] = time.monotonic()
    doc.update(status="recrawling", progress=0, error_message=None, updated_at=_iso(time.time()))
    st.started[did] = time.monotonic()
    if _fails(st, str(doc.get("document_url") or "")):
        st.failing.add(did)
    return 202, {"message": "recrawl started", "document_id": did}
