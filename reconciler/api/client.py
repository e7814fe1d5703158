"""The one HTTP client for the Tavus API: auth, retries, pagination, error mapping, safe creates.

Every remote call in the project goes through :class:`TavusClient`. It returns typed
:class:`~reconciler.engine.models.RemoteReplica` objects and raises the typed errors of :mod:`reconciler.errors`,
each a single line that never contains the API key. Its parts, one module each in this package:

- :mod:`reconciler.api.transport`: one call with retries (429 honouring ``Retry-After``, 5xx, timeouts and
  connection errors, with exponential backoff and full jitter, bounded by ``max_attempts`` and by
  ``retry_budget`` seconds per call), one attempt under a deadline, the mapping of answers to typed errors;
- :mod:`reconciler.api.paging`: consistent-or-refused listings, pages after the first at once;
- :mod:`reconciler.api.settle`: creates that never duplicate (a lost answer is settled against the account
  over ``TAVUS_CREATE_SETTLE_SECONDS``; a listing that fails is never taken as absence);
- :mod:`reconciler.api.objects`: the generic calls a kind makes, its collection described by a
  :class:`~reconciler.api.listing.Listing` (list, get, create, patch, delete);
- :mod:`reconciler.api.conversations`: conversations (test-mode checks).
This module holds the client's settings and the replica and persona calls.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.api.conversations import Conversation, _Conversations
from reconciler.api.limiter import AIMDLimiter
from reconciler.api.listing import Listing, TableKind, planned_pages
from reconciler.api.objects import _Objects
from reconciler.api.paging import MAX_PAGES, NO_TOTAL_SECONDS, _Paging
from reconciler.api.redact import redact_url, register_secret
from reconciler.api.settle import _Creating
from reconciler.api.tables import _PERSONAS, _REPLICAS
from reconciler.api.transport import _NOT_MODIFIED, CONVERSATIONS_PREFIX, _Transport
from reconciler.errors import MalformedResponseError, NotFoundError, UsageError
from reconciler.kinds.personas.models import RemotePersona
from reconciler.kinds.replicas.models import RemoteReplica

__all__ = ["API_PREFIX", "CONVERSATIONS_PREFIX", "DEFAULT_API_URL", "IDS_PER_REQUEST", "MAX_PAGES",
           "NO_TOTAL_SECONDS", "PERSONAS_PREFIX", "Conversation", "Listing", "TableKind", "TavusClient",
           "planned_pages"]

# the legacy paths, which this project speaks; every path and field of a kind is taken from the kind's one table
# (reconciler.kinds.replicas.kind.REPLICAS.api, reconciler.kinds.personas.kind.PERSONAS.api: issue 25), never from these
API_PREFIX = "/v2/replicas"
PERSONAS_PREFIX = "/v2/personas"
DEFAULT_API_URL = "https://tavusapi.com"
IDS_PER_REQUEST = 100
_DEFAULT = object()
_Kind = TableKind  # the former name


def _loopback(host: str) -> bool:
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


class TavusClient(_Transport, _Paging, _Creating, _Objects, _Conversations):
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
        max_concurrency: int = 128,
        max_connections: int | None = None,
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
        register_secret(api_key)  # every output path masks it, also when a server echoes it back
        self.timeout = timeout
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests = 0
        self._adopted: set[str] = set()
        self._unknown_statuses: set[str] = set()  # status words logged once (reconciler.engine.status is pure)
        self.create_settle = create_settle
        self.timeout = timeout
        self._posting = 0  # creates on the wire right now (their landing changes the listing's total)
        self._posts_idle = threading.Condition(self._lock)
        # page reads: the first page alone (it tells the total), then every other page at once up to
        # max_concurrency in flight, backing off only on 429/5xx/timeouts (reads are idempotent: no slow start)
        self._limiter = AIMDLimiter(self.max_concurrency, initial=self.max_concurrency)
        # room for the page reads plus an apply's fan-out (--parallelism is at most 64), every connection kept
        # alive for reuse: a connection closed and reopened per request is what makes a connection storm. And
        # with more connections than max_keepalive_connections, httpcore (1.0.x) closes "idle" connections that
        # another thread has just been handed: its request then fails with a ReadError (a lost create answer)
        pool = max_connections or self.max_concurrency + 64
        ssl_context = httpx.create_ssl_context() if transport is None else True  # built once, shared
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": f"tavus-reconciler/{__version__}",
                     "accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport, verify=ssl_context,
        )
        from reconciler.api import deadline
        from reconciler.api import pool as pools

        self._direct: pools.Direct | None = None
        # one small pool per thread (see reconciler.api.pool), called directly where nothing needs client.send
        if transport is None and max_connections is None and pools.install(self._http, ssl_context,
                                                                           deadline.install_transport):
            self._direct = pools.direct(self._http)
        deadline.install(self._http)  # headers trickled byte by byte cannot stretch a request either

    def __repr__(self) -> str:  # never shows the key
        return f"TavusClient({redact_url(self.base_url)!r})"

    @classmethod
    def from_env(cls, api_url: str | None = None, environ: Mapping[str, str] | None = None, **kwargs) -> TavusClient:
        """Build from ``TAVUS_API_KEY``, ``TAVUS_API_URL``, ``TAVUS_RETRY_*``, ``TAVUS_TIMEOUT_SECONDS`` and
        ``TAVUS_MAX_CONCURRENCY`` (the most page reads in flight at once; default 128: the 99 pages after the
        first of a 10,000-replica account in one round trip, backing off on 429/5xx)."""
        import os

        env = os.environ if environ is None else environ
        key = env.get("TAVUS_API_KEY", "").strip()
        if not key:
            raise UsageError("TAVUS_API_KEY is not set: export your Tavus API key (see README)")
        if not key.isascii() or not key.isprintable():
            raise UsageError("TAVUS_API_KEY contains characters an HTTP header cannot carry (check for a stray "
                             "newline or quote)")
        url = (api_url or env.get("TAVUS_API_URL") or DEFAULT_API_URL).strip()
        # the docs quote the base as https://tavusapi.com/v2: accept it (paths already carry /v2)
        url = re.sub(r"(?:/v2)?/*$", "", url) if "?" not in url and "#" not in url else url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"API URL {redact_url(url)!r} is not an http(s) URL (--api-url / TAVUS_API_URL)")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise UsageError(f"API URL {redact_url(url)!r} is plain http: the API key would travel unencrypted; "
                             "use https:// (http:// is allowed only for a loopback host such as the simulator)")
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
        self._limiter.close()
        self._http.close()

    def __enter__(self) -> TavusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def account(self) -> str:
        """Which account this client speaks for: a digest of the API key, never the key (every Tavus account
        shares one API URL; a saved plan records this and refuses another account)."""
        import hashlib

        return "sha256:" + hashlib.sha256(b"tavus-reconciler account\0" + self._api_key.encode()).hexdigest()[:32]

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
            params[_REPLICAS.api.type_field] = str(replica_type)
        if ids is None:
            return self._list_all(params)
        unique = list(dict.fromkeys(ids))
        chunks = [unique[i:i + IDS_PER_REQUEST] for i in range(0, len(unique), IDS_PER_REQUEST)]
        ids_filter = _REPLICAS.api.ids_filter
        parts = self._map(lambda c: self._list_all({**params, ids_filter: ",".join(c)}, cap=len(c)), chunks)
        # a server that ignores replica_ids answers with other replicas: keep only those asked for
        wanted = set(unique)
        return [r for part in parts for r in part if r.replica_id in wanted]

    def get_replica(self, replica_id: str) -> RemoteReplica:
        body = self._call("GET", self._path(replica_id), params={"verbose": "true"})
        return self._replica(body, "GET", self._path(replica_id))

    def create_replica(self, payload: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST a new replica and return its id. Never creates a duplicate: when an attempt's answer is
        lost after the server may have acted, :meth:`_settle` looks for it (a replica with this name that is
        not in ``known_ids``, the ids that existed when the plan was made) and adopts it; it POSTs again only
        when a listing after the settle window confirms the name absent, and otherwise raises
        :class:`CreateOutcomeUnknownError`."""
        return self._create(_REPLICAS, payload, known_ids, self.list_replicas)

    def rename_replica(self, replica_id: str, name: str) -> None:
        self._call("PATCH", self._path(replica_id) + "/name", json={_REPLICAS.name_field: name})

    def delete_replica(self, replica_id: str) -> None:
        """Delete (soft: ``hard=true`` is never sent, the training footage is kept)."""
        self._call("DELETE", self._path(replica_id))

    # ------------------------------------------------------------------------------------------ personas

    def list_personas(self, *, persona_type: Any = _DEFAULT) -> list[RemotePersona]:
        """Every persona: user personas only unless ``persona_type="system"`` (Tavus's stock personas,
        read-only for us) or None (no filter). Same consistent-or-refused paging as :meth:`list_replicas`."""
        if persona_type is _DEFAULT:
            persona_type = "user"
        params = {_PERSONAS.api.type_field: str(persona_type)} if persona_type else {}
        return self._list_all(params, kind=_PERSONAS)

    def get_persona(self, persona_id: str) -> RemotePersona:
        """One persona (NotFoundError when it does not exist: 400 "Invalid persona_id" or 404)."""
        path = self._persona_path(persona_id)
        body = self._call("GET", path)
        # documented as {"data": [persona]} (an array of one); a bare persona object is tolerated too, in case
        # the live API answers like Get replica does
        if isinstance(body, Mapping) and _PERSONAS.id_field not in body and "data" in body:
            data = body["data"]
            if isinstance(data, list):
                if len(data) != 1:
                    raise MalformedResponseError(f"the get answer holds {len(data)} personas, not one",
                                                 method="GET", path=path)
                data = data[0]
            body = data
        return self._item(_PERSONAS, body, "GET", path)

    def create_persona(self, payload: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST a new persona, return its id; never a duplicate (the mechanism of :meth:`create_replica`: a
        lost answer is settled by listing user personas and adopting one named ``persona_name`` that is not in
        ``known_ids``; otherwise :class:`CreateOutcomeUnknownError`)."""
        return self._create(_PERSONAS, payload, known_ids, self.list_personas)

    def update_persona(self, persona_id: str, patch_ops: Sequence[Mapping[str, Any]], *, force: bool = False,
                       discarded: list[str] | None = None) -> bool:
        """Send an RFC 6902 JSON Patch (as application/json, as documented). True when the server changed the
        persona, False on 304 "No changes were made" (success) or an empty patch (nothing sent).
        :class:`InvalidPatchError` on 422; :class:`EditorDraftError` on 409 ``maker_changes`` (an unpublished
        draft in Tavus's editor). ``force`` sends ``?force=true``, which discards such a draft; when the answer
        says it did (``discarded_maker_changes``), ``persona_id`` is appended to ``discarded``. A retry after an
        ambiguous failure re-sends the whole patch: add and replace are idempotent; a ``remove`` already applied
        answers 422 then (a re-run converges)."""
        if not patch_ops:
            return False
        body = self._call("PATCH", self._persona_path(persona_id), json=_PERSONAS.outgoing_patch(patch_ops),
                          params={"force": "true"} if force else None)
        if discarded is not None and isinstance(body, Mapping) and body.get("discarded_maker_changes") is True:
            discarded.append(persona_id)
        return body is not _NOT_MODIFIED

    def delete_persona(self, persona_id: str) -> bool:
        """DELETE (204). True when deleted now, False when it was already gone (400 "Invalid persona_id" or
        404), e.g. a retry of a delete whose answer was lost."""
        try:
            self._call("DELETE", self._persona_path(persona_id))
        except NotFoundError:
            return False
        return True

    @staticmethod
    def _persona_path(persona_id: str) -> str:
        return _PERSONAS.item_path(persona_id)

    # ------------------------------------------------------------------------------------------ internals

    @staticmethod
    def _path(replica_id: str) -> str:
        return _REPLICAS.item_path(replica_id)

    def _replica(self, data: Any, method: str, path: str) -> RemoteReplica:
        return self._item(_REPLICAS, data, method, path)

    @staticmethod
    def _dedupe(items: list[RemoteReplica]) -> list[RemoteReplica]:
        return list({r.replica_id: r for r in items}.values())
