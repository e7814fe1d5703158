"""Transport of the one client: one call with retries (:meth:`_Transport._call`), one attempt
(:meth:`_Transport._attempt`: streamed under a wall-clock deadline) and the mapping of an answer to a
decoded body or a typed error of :mod:`reconciler.errors`.

Retries: 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors are retried with exponential
backoff and full jitter, bounded by ``max_attempts`` and by ``retry_budget`` seconds per call.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from reconciler.api.limiter import FAILURE, OK, OVERLOAD
from reconciler.api.limiter import backoff as _backoff
from reconciler.api.limiter import report as _report
from reconciler.api.redact import redact_url, scrub
from reconciler.api.tables import _PERSONAS, _REPLICAS
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    CreateOutcomeUnknownError,
    EditorDraftError,
    InvalidPatchError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
)

CONVERSATIONS_PREFIX = "/v2/conversations"
MAX_BODY_BYTES = 64 * 1024 * 1024
# the documented 400 for an unknown id (replicas, personas); conversations: not documented, same shape assumed
_GONE_MESSAGE = ("invalid replica_id", "invalid face_id", "invalid persona_id", "invalid pal_id",
                 "invalid conversation_id")
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

log = logging.getLogger("reconciler.api.client")


def _deadline(at: float):
    from reconciler.api.deadline import deadline

    return deadline(at)


class _Retryable(Exception):
    """One failed attempt worth retrying; ``ambiguous`` when the server may have acted on it."""

    def __init__(self, reason: str, *, ambiguous: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.retry_after = retry_after


class _NotModified:
    """A 304 answer (a persona PATCH that changed nothing: success, documented)."""


_NOT_MODIFIED = _NotModified()


def _server_message(resp: httpx.Response, content: bytes = b"") -> str:
    import json

    try:
        body = json.loads(content) if content else None
    except (ValueError, RecursionError):
        body = None
    message = ""
    if isinstance(body, Mapping):
        message = str(body.get("message") or body.get("error") or "")
    if not message:
        message = resp.reason_phrase or "no message"
    message = " ".join(message.split())
    # redact before cutting: a cut could leave half a signature that no longer looks like a URL
    message = scrub(message)
    return message[:300] + ("..." if len(message) > 300 else "")


def _conflict(content: bytes) -> str | None:
    """The ``conflict`` word of a 409 body (``maker_changes``: an editor draft is pending), if any."""
    import json as _json

    try:
        body = _json.loads(content or b"null")
    except (ValueError, RecursionError):
        return None
    value = body.get("conflict") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _decode(content: bytes, method: str, path: str, status: int) -> Any:
    if not content:
        return {}
    try:
        import json as _json

        return _json.loads(content)
    except (ValueError, RecursionError):
        if method == "GET":  # a proxy's error page or a truncated body: worth another try
            raise _Retryable("the answer is not JSON", ambiguous=False) from None
        raise MalformedResponseError(f"HTTP {status} with a body that is not JSON", method=method,
                                     path=path) from None


class _Transport:
    """The retrying, deadline-bounded request of :class:`~reconciler.api.client.TavusClient` (a mixin: the
    client holds the state it reads: ``_http``, ``_lock``, ``_limiter``, the retry settings)."""

    _direct: Any = None  # reconciler.api.pool.Direct: the client's per-thread pools, called directly

    @staticmethod
    def _gone_prefixes() -> tuple[str, ...]:
        return (_REPLICAS.path + "/", _PERSONAS.path + "/", CONVERSATIONS_PREFIX + "/")

    def _message(self, resp: httpx.Response, content: bytes = b"") -> str:
        """The server's error message, redacted (URLs, the key) and escaped: it may echo what we sent."""
        return _server_message(resp, content).replace(self._api_key, "[REDACTED]")

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
              before_retry: Callable[[], Any] | None = None) -> Any:
        """Send with retries; return the decoded JSON body. ``before_retry(reason)`` runs after an ambiguous
        failure (the server may have acted); a non-None result is returned instead of retrying."""
        started = time.monotonic()
        # the whole call (attempts, waits) ends by this wall-clock deadline; each attempt by its own too
        call_deadline = started + max(self.retry_budget, self.timeout)
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._attempt(method, path, params, json,
                                     deadline=min(time.monotonic() + self.timeout, call_deadline))
            except _Retryable as e:
                last = e.reason
                if e.ambiguous and before_retry is not None:
                    checking = time.monotonic()
                    found = self._check_before_retry(before_retry, e, method, path)
                    if found is not None:
                        return found
                    started += time.monotonic() - checking  # the settle window is not retry budget
                if attempt == self.max_attempts:
                    break
                delay = e.retry_after if e.retry_after is not None else random.uniform(
                    0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
                remaining = min(self.retry_budget - (time.monotonic() - started), call_deadline - time.monotonic())
                if delay > remaining:
                    last += f" (next retry in {delay:.0f}s would exceed the {self.retry_budget:g}s retry budget)"
                    break
                log.debug("%s %s: %s; retry %d in %.2fs", method, path, e.reason, attempt, delay)
                _backoff(delay, self._sleep)  # sleeps; a fan-out's slot is given back meanwhile
        raise RetriesExhaustedError(f"gave up after {attempt} attempt(s) in {time.monotonic() - started:.1f}s: "
                                    f"{last}", method=method, path=path)

    @staticmethod
    def _check_before_retry(before_retry: Callable[[str], Any], e: _Retryable, method: str, path: str) -> Any:
        try:
            return before_retry(e.reason)
        except (AuthError, CreateOutcomeUnknownError):
            raise
        except ApiError as check:
            raise ApiError(f"{e.reason}; the request may have been carried out and checking failed "
                           f"({check}): run plan to see the account before retrying",
                           method=method, path=path) from None

    def _observe(self, outcome: str, started: float, retry_after: float | None = None) -> None:
        """Teach the adaptive limit of the fan-out this request belongs to (the page reads' otherwise), so a
        429 the client retries internally still slows the fan-out down."""
        _report(outcome, started=started, latency=time.monotonic() - started, retry_after=retry_after,
                default=self._limiter)

    def _attempt(self, method: str, path: str, params: Mapping[str, str] | None, json: Any, *,
                 deadline: float | None = None) -> Any:
        with self._lock:
            self._requests += 1
        t0 = time.monotonic()
        deadline = t0 + self.timeout if deadline is None else deadline
        posting = method == "POST"
        try:
            if posting:
                with self._lock:
                    self._posting += 1
            resp, content = self._send(method, path, params, json, t0, deadline)
        finally:
            if posting:
                with self._posts_idle:
                    self._posting -= 1
                    self._posts_idle.notify_all()
        log.debug("%s %s -> %d (%d ms)", method, path, resp.status_code, (time.monotonic() - t0) * 1000)
        return self._answer(method, path, resp, content, t0)

    def _send(self, method: str, path: str, params: Mapping[str, str] | None, json: Any, t0: float,
              deadline: float) -> tuple[httpx.Response, bytes]:
        """One request, its whole body read by ``deadline``; a transport failure as :class:`_Retryable`."""
        try:
            # streamed, so a body trickled byte by byte cannot stretch the attempt past its deadline
            # (httpx's own timeout is per socket read)
            with _deadline(deadline):
                if self._direct is not None:  # the per-thread pools, without client.send's unused layers
                    resp = self._direct.open(method, path, params, json)
                    try:
                        return resp, self._read(resp, method, deadline)
                    finally:
                        resp.close()
                with self._http.stream(method, path, params=params, json=json) as resp:
                    return resp, self._read(resp, method, deadline)
        except httpx.TimeoutException as e:
            self._observe(FAILURE, t0)
            log.debug("%s %s -> timeout (%d ms)", method, path, (time.monotonic() - t0) * 1000)
            # a connect or pool timeout never reached the server; any other timeout may have
            never_sent = isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise _Retryable("timed out", ambiguous=not never_sent) from None
        except httpx.TransportError as e:
            self._observe(FAILURE, t0)
            log.debug("%s %s -> %s (%d ms)", method, path, type(e).__name__, (time.monotonic() - t0) * 1000)
            reason = f"connection failed ({type(e).__name__}) to {redact_url(self.base_url)}"
            raise _Retryable(reason, ambiguous=not isinstance(e, httpx.ConnectError)) from None
        except httpx.HTTPError as e:  # e.g. a malformed header or encoding: the server's fault, one line
            raise _Retryable(f"unreadable answer ({type(e).__name__})", ambiguous=method != "GET") from None

    @staticmethod
    def _read(resp: httpx.Response, method: str, deadline: float) -> bytes:
        chunks, size = [], 0
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout("the answer did not arrive within the deadline")
            if size > MAX_BODY_BYTES:
                raise _Retryable("the answer is too large", ambiguous=method != "GET")
        return b"".join(chunks)

    def _answer(self, method: str, path: str, resp: httpx.Response, content: bytes, t0: float) -> Any:
        """The decoded body of a received answer, or its typed error (a retryable status as _Retryable)."""
        status = resp.status_code
        if status in _RETRYABLE_STATUS:
            # 429 and 408 mean the request was not processed; a 5xx may have been
            after = _retry_after(resp) if status in (429, 503) else None
            self._observe(OVERLOAD if status == 429 else FAILURE, t0, after)
            raise _Retryable(f"HTTP {status}: {self._message(resp, content)}", ambiguous=status >= 500,
                             retry_after=after)
        self._observe(OK, t0)
        if status == 304:  # "No changes were made to the persona" (a PATCH): success, documented
            return _NOT_MODIFIED
        if status >= 400:
            self._raise_client_error(method, path, resp, content)
        if status < 200 or status >= 300:
            raise ApiError(f"unexpected HTTP {status}", status_code=status, method=method, path=path)
        return _decode(content, method, path, status)

    def _raise_client_error(self, method: str, path: str, resp: httpx.Response, content: bytes) -> None:
        status = resp.status_code
        where = {"status_code": status, "method": method, "path": path}
        if status in (401, 403):
            raise AuthError("authentication failed: check TAVUS_API_KEY", **where)
        if status == 404:
            raise NotFoundError(self._message(resp, content), **where)
        if status == 409 and method == "PATCH" and _conflict(content) == "maker_changes":
            raise EditorDraftError(f"HTTP 409: {self._message(resp, content)} (unpublished changes in the Tavus "
                                   "editor)", **where)
        if status == 422 and method == "PATCH":
            raise InvalidPatchError(f"HTTP 422: {self._message(resp, content)}", **where)
        if status == 400 and path.startswith(self._gone_prefixes()) and any(
                m in self._message(resp, content).lower() for m in _GONE_MESSAGE):
            # the documented answer for an unknown id (no 404 is documented): gone, like a 404
            raise NotFoundError(self._message(resp, content), **where)
        if 400 <= status < 500:
            raise BadRequestError(f"HTTP {status}: {self._message(resp, content)}", **where)
        raise ApiError(f"unexpected HTTP {status}", **where)
