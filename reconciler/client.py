"""The one HTTP client for the Tavus API: auth, retries, pagination, error mapping, safe creates.

Every remote call in the project goes through :class:`TavusClient`. It returns typed
:class:`~reconciler.models.RemoteReplica` objects and raises the typed errors of :mod:`reconciler.errors`,
each a single line that never contains the API key.

Retries: 429 (honouring ``Retry-After``), 5xx, timeouts and connection errors are retried with exponential
backoff and full jitter, bounded by ``max_attempts`` and by ``retry_budget`` seconds per call.

Creates are not idempotent on the server, so a create whose answer was lost (timeout, reset, 5xx after the
server may have acted) is never simply retried: the client re-lists the account over a settle window
(``TAVUS_CREATE_SETTLE_SECONDS``, default 30: a gateway may answer 504 while the backend still creates the
replica a second later) and adopts a replica with that name that did not exist when the plan was made. It
POSTs again only once a listing made after the window confirms the name absent; a listing that fails is never
taken as absence: the create's outcome is then unknown (:class:`CreateOutcomeUnknownError`).
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    CreateOutcomeUnknownError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    UsageError,
)
from reconciler.models import RemoteReplica
from reconciler.redact import escape_control, redact_url

API_PREFIX = "/v2/replicas"  # the newer docs call replicas "faces": switching to /v2/faces is this line
DEFAULT_API_URL = "https://tavusapi.com"
IDS_PER_REQUEST = 100
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_DEFAULT = object()

log = logging.getLogger("reconciler.client")


class _Retryable(Exception):
    """One failed attempt worth retrying; ``ambiguous`` when the server may have acted on it."""

    def __init__(self, reason: str, *, ambiguous: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.retry_after = retry_after


def _server_message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        body = None
    message = ""
    if isinstance(body, Mapping):
        message = str(body.get("message") or body.get("error") or "")
    if not message:
        message = resp.reason_phrase or "no message"
    message = " ".join(message.split())
    return escape_control(message[:300] + ("..." if len(message) > 300 else ""))


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


def _env_number(environ: Mapping[str, str], name: str, cast: Callable[[str], float], minimum: float):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = cast(raw.strip())
    except ValueError:
        raise UsageError(f"{name}={raw.strip()!r} is not a number") from None
    if value < minimum:
        raise UsageError(f"{name} must be at least {minimum:g}")
    return value


class TavusClient:
    """A thread-safe client for the replica endpoints. Use it as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 6,
        retry_budget: float = 120.0,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        page_size: int = 100,
        max_concurrency: int = 16,
        create_settle: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.retry_budget = retry_budget
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.page_size = page_size
        self.max_concurrency = max(1, max_concurrency)
        self._api_key = api_key
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests = 0
        self._adopted: set[str] = set()
        self.create_settle = create_settle
        self.timeout = timeout
        self._posting = 0  # creates on the wire right now (their landing changes the listing's total)
        self._posts_idle = threading.Condition(self._lock)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": f"tavus-reconciler/{__version__}",
                     "accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=max(64, self.max_concurrency), max_keepalive_connections=32),
            transport=transport,
        )

    def __repr__(self) -> str:  # never shows the key
        return f"TavusClient({redact_url(self.base_url)!r})"

    @classmethod
    def from_env(cls, api_url: str | None = None, environ: Mapping[str, str] | None = None, **kwargs) -> TavusClient:
        """Build from ``TAVUS_API_KEY``, ``TAVUS_API_URL``, ``TAVUS_RETRY_*``, ``TAVUS_TIMEOUT_SECONDS`` and
        ``TAVUS_MAX_CONCURRENCY`` (requests in flight at once when reading pages; default 16)."""
        import os

        env = os.environ if environ is None else environ
        key = env.get("TAVUS_API_KEY", "").strip()
        if not key:
            raise UsageError("TAVUS_API_KEY is not set: export your Tavus API key (see README)")
        if not key.isascii() or not key.isprintable():
            raise UsageError("TAVUS_API_KEY contains characters an HTTP header cannot carry (check for a stray "
                             "newline or quote)")
        url = (api_url or env.get("TAVUS_API_URL") or DEFAULT_API_URL).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"API URL {redact_url(url)!r} is not an http(s) URL (--api-url / TAVUS_API_URL)")
        options: dict[str, Any] = {}
        for name, option, cast, minimum in (
            ("TAVUS_RETRY_MAX_ATTEMPTS", "max_attempts", int, 1),
            ("TAVUS_RETRY_BUDGET_SECONDS", "retry_budget", float, 0.0),
            ("TAVUS_RETRY_BACKOFF_SECONDS", "backoff_base", float, 0.0),
            ("TAVUS_TIMEOUT_SECONDS", "timeout", float, 0.1),
            ("TAVUS_MAX_CONCURRENCY", "max_concurrency", int, 1),
            ("TAVUS_CREATE_SETTLE_SECONDS", "create_settle", float, 0.0),
        ):
            value = _env_number(env, name, cast, minimum)
            if value is not None:
                options[option] = value
        options.update(kwargs)
        return cls(url, key, **options)

    # ------------------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TavusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far (every attempt counts)."""
        return self._requests

    # ------------------------------------------------------------------------------------------ replicas

    def list_replicas(self, *, replica_type: Any = _DEFAULT, ids: Sequence[str] | None = None) -> list[RemoteReplica]:
        """Every replica on the account, newest first: user replicas only unless ``replica_type=None``
        (all) or ``"system"``. With ``ids``, only those (in chunks of 100 per request; no type filter
        unless one is given). Cost: one request per page, pages after the first fetched concurrently."""
        if replica_type is _DEFAULT:
            replica_type = None if ids is not None else "user"
        params: dict[str, str] = {"verbose": "true"}
        if replica_type:
            params["replica_type"] = str(replica_type)
        if ids is None:
            return self._list_all(params)
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i:i + IDS_PER_REQUEST] for i in range(0, len(unique), IDS_PER_REQUEST)]
        parts = self._map(lambda c: self._list_all({**params, "replica_ids": ",".join(c)}), chunks)
        return [r for part in parts for r in part]

    def get_replica(self, replica_id: str) -> RemoteReplica:
        body = self._call("GET", self._path(replica_id), params={"verbose": "true"})
        return self._replica(body, "GET", self._path(replica_id))

    def create_replica(self, payload: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST a new replica and return its id. Never creates a duplicate: when an attempt's answer is
        lost after the server may have acted, :meth:`_settle` looks for it (a replica with this name that is
        not in ``known_ids``, the ids that existed when the plan was made) and adopts it; it POSTs again only
        when a listing after the settle window confirms the name absent, and otherwise raises
        :class:`CreateOutcomeUnknownError`."""
        name = str(payload.get("replica_name", ""))
        known = frozenset(known_ids)
        body = self._call("POST", API_PREFIX, json=dict(payload),
                          before_retry=lambda reason: self._settle(name, known, reason))
        if isinstance(body, str):  # adopted
            return body
        rid = body.get("replica_id") if isinstance(body, Mapping) else None
        if not isinstance(rid, str) or not rid:
            raise MalformedResponseError("the create answer has no replica_id; run plan to see whether the "
                                         "replica was created", method="POST", path=API_PREFIX)
        with self._lock:
            self._adopted.add(rid)
        return rid

    def _settle(self, name: str, known: frozenset[str], reason: str) -> str | None:
        """After a lost create answer: the id of the replica it made (adopted), or None once a listing made
        after the settle window confirms it absent. Lists every few seconds over the window; a listing error
        only means "not confirmed", never "absent". The confirming listing waits (boundedly) for this client's
        other creates on the wire to land, so its own parallel creates do not keep the listing changing."""
        deadline = time.monotonic() + self.create_settle
        step = max(0.05, min(2.0, self.create_settle / 5))
        while True:
            final = time.monotonic() >= deadline
            if final:
                with self._posts_idle:
                    self._posts_idle.wait_for(lambda: self._posting == 0, timeout=self.timeout + 1)
            failure = None
            try:
                for r in self.list_replicas():
                    if r.name == name and r.replica_id not in known:
                        with self._lock:
                            if r.replica_id in self._adopted:
                                continue
                            self._adopted.add(r.replica_id)
                        log.info("adopted %s (%s): the create went through although its answer was lost",
                                 r.replica_id, escape_control(name))
                        return r.replica_id
            except AuthError:
                raise
            except ApiError as e:
                failure = e
            if final:
                if failure is None:
                    return None  # confirmed absent after the server had time to act: safe to send again
                raise CreateOutcomeUnknownError(
                    f"the answer was lost ({reason}) and the account could not be checked within the "
                    f"{self.create_settle:g}s settle window ({failure}); not sending it again: the next run adopts "
                    "the replica if it was made", method="POST", path=API_PREFIX)
            self._sleep(max(0.0, min(step, deadline - time.monotonic())))

    def rename_replica(self, replica_id: str, name: str) -> None:
        self._call("PATCH", self._path(replica_id) + "/name", json={"replica_name": name})

    def delete_replica(self, replica_id: str) -> None:
        """Delete (soft: ``hard=true`` is never sent, the training footage is kept)."""
        self._call("DELETE", self._path(replica_id))

    # ------------------------------------------------------------------------------------------ internals

    def _message(self, resp: httpx.Response) -> str:
        """The server's error message, with the key masked should a server ever echo it."""
        return _server_message(resp).replace(self._api_key, "[REDACTED]")

    @staticmethod
    def _path(replica_id: str) -> str:
        return f"{API_PREFIX}/{quote(str(replica_id), safe='')}"

    def _replica(self, data: Any, method: str, path: str) -> RemoteReplica:
        try:
            if not isinstance(data, Mapping):
                raise TypeError(type(data).__name__)
            return RemoteReplica.from_api(data)
        except (KeyError, TypeError) as e:
            raise MalformedResponseError(f"a replica object without a usable replica_id ({e})",
                                         method=method, path=path) from None

    def _page(self, params: Mapping[str, str], page: int, limit: int) -> tuple[list[RemoteReplica], int | None]:
        body = self._call("GET", API_PREFIX, params={**params, "limit": str(limit), "page": str(page)})
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise MalformedResponseError("the list answer has no 'data' array", method="GET", path=API_PREFIX)
        total = body.get("total_count")
        total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
        return [self._replica(item, "GET", API_PREFIX) for item in data], total

    def _list_all(self, params: Mapping[str, str]) -> list[RemoteReplica]:
        """All pages. The first page tells the total and the real page size; the rest are fetched at once.
        A total that changes while listing (someone created or deleted) restarts the listing, up to 3 times,
        so a replica is never missed because the pages shifted under us."""
        for _ in range(3):
            first, total = self._page(params, 1, self.page_size)
            if total is None:  # no total: read pages one by one until an empty one
                return self._dedupe(self._sequential(params, first))
            size = len(first)
            if size == 0 or size >= total:
                return self._dedupe(first)
            pages = range(2, math.ceil(total / size) + 1)
            results = self._map(lambda p, n=size: self._page(params, p, n), pages)
            if any(t != total for _, t in results):
                continue
            items = first + [r for part, _ in results for r in part]
            page = pages[-1]
            while len(self._dedupe(items)) < total:  # a short page is not the end; an empty page is
                page += 1
                more, _ = self._page(params, page, size)
                if not more:
                    break
                items += more
            return self._dedupe(items)
        raise ApiError("the replica list kept changing while it was read (3 tries); try again", method="GET",
                       path=API_PREFIX)

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items`` in order, at most ``max_concurrency`` at once; inline for a single item."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def _sequential(self, params: Mapping[str, str], first: list[RemoteReplica]) -> list[RemoteReplica]:
        items, page, size = list(first), 1, len(first) or self.page_size
        while first:
            page += 1
            first, _ = self._page(params, page, size)
            items += first
        return items

    @staticmethod
    def _dedupe(items: list[RemoteReplica]) -> list[RemoteReplica]:
        return list({r.replica_id: r for r in items}.values())

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None,
              before_retry: Callable[[], Any] | None = None) -> Any:
        """Send with retries; return the decoded JSON body. ``before_retry(reason)`` runs after an ambiguous
        failure (the server may have acted); a non-None result is returned instead of retrying."""
        started = time.monotonic()
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._attempt(method, path, params, json)
            except _Retryable as e:
                last = e.reason
                if e.ambiguous and before_retry is not None:
                    checking = time.monotonic()
                    try:
                        found = before_retry(e.reason)
                    except (AuthError, CreateOutcomeUnknownError):
                        raise
                    except ApiError as check:
                        raise ApiError(f"{e.reason}; the request may have been carried out and checking failed "
                                       f"({check}): run plan to see the account before retrying",
                                       method=method, path=path) from None
                    if found is not None:
                        return found
                    started += time.monotonic() - checking  # the settle window is not retry budget
                if attempt == self.max_attempts:
                    break
                delay = e.retry_after if e.retry_after is not None else random.uniform(
                    0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
                remaining = self.retry_budget - (time.monotonic() - started)
                if delay > remaining:
                    last += f" (next retry in {delay:.0f}s would exceed the {self.retry_budget:g}s retry budget)"
                    break
                log.debug("%s %s: %s; retry %d in %.2fs", method, path, e.reason, attempt, delay)
                self._sleep(delay)
        raise RetriesExhaustedError(f"gave up after {attempt} attempt(s) in {time.monotonic() - started:.1f}s: "
                                    f"{last}", method=method, path=path)

    def _attempt(self, method: str, path: str, params: Mapping[str, str] | None, json: Any) -> Any:
        with self._lock:
            self._requests += 1
        t0 = time.monotonic()
        posting = method == "POST"
        try:
            if posting:
                with self._lock:
                    self._posting += 1
            resp = self._http.request(method, path, params=params, json=json)
        except httpx.TimeoutException as e:
            log.debug("%s %s -> timeout (%d ms)", method, path, (time.monotonic() - t0) * 1000)
            # a connect or pool timeout never reached the server; any other timeout may have
            never_sent = isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise _Retryable("timed out", ambiguous=not never_sent) from None
        except httpx.TransportError as e:
            log.debug("%s %s -> %s (%d ms)", method, path, type(e).__name__, (time.monotonic() - t0) * 1000)
            reason = f"connection failed ({type(e).__name__}) to {redact_url(self.base_url)}"
            raise _Retryable(reason, ambiguous=not isinstance(e, httpx.ConnectError)) from None
        finally:
            if posting:
                with self._posts_idle:
                    self._posting -= 1
                    self._posts_idle.notify_all()
        log.debug("%s %s -> %d (%d ms)", method, path, resp.status_code, (time.monotonic() - t0) * 1000)
        status = resp.status_code
        if status in _RETRYABLE_STATUS:
            # 429 and 408 mean the request was not processed; a 5xx may have been
            raise _Retryable(f"HTTP {status}: {self._message(resp)}", ambiguous=status >= 500,
                             retry_after=_retry_after(resp) if status in (429, 503) else None)
        if status in (401, 403):
            raise AuthError("authentication failed: check TAVUS_API_KEY", status_code=status, method=method,
                            path=path)
        if status == 404:
            raise NotFoundError(self._message(resp), status_code=status, method=method, path=path)
        if 400 <= status < 500:
            raise BadRequestError(f"HTTP {status}: {self._message(resp)}", status_code=status, method=method,
                                  path=path)
        if status >= 500 or status < 200 or status >= 300:
            raise ApiError(f"unexpected HTTP {status}", status_code=status, method=method, path=path)
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            if method == "GET":  # a proxy's error page or a truncated body: worth another try
                raise _Retryable("the answer is not JSON", ambiguous=False) from None
            raise MalformedResponseError(f"HTTP {status} with a body that is not JSON", method=method,
                                         path=path) from None

