"""The one HTTP client for the Tavus API: auth, retries, pagination, error mapping, safe creates.

Every remote call in the project goes through :class:`TavusClient`. It returns typed
:class:`~reconciler.engine.models.RemoteReplica` objects and raises the typed errors of :mod:`reconciler.errors`,
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
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from reconciler import __version__
from reconciler.api.limiter import FAILURE, OK, OVERLOAD, AIMDLimiter
from reconciler.api.limiter import backoff as _backoff
from reconciler.api.limiter import report as _report
from reconciler.api.redact import escape_control, redact_url, register_secret, scrub
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    CreateOutcomeUnknownError,
    EditorDraftError,
    InconsistentListError,
    InvalidPatchError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    UsageError,
)
from reconciler.kinds.personas.kind import PERSONAS
from reconciler.kinds.personas.models import RemotePersona
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.kinds.replicas.readiness import is_known

# the legacy paths, which this project speaks; every path and field of a kind is taken from the kind's one table
# (reconciler.kinds.replicas.kind.REPLICAS.api, reconciler.kinds.personas.kind.PERSONAS.api: issue 25), never from these
API_PREFIX = "/v2/replicas"
PERSONAS_PREFIX = "/v2/personas"
CONVERSATIONS_PREFIX = "/v2/conversations"
DEFAULT_API_URL = "https://tavusapi.com"
IDS_PER_REQUEST = 100
MAX_PAGES = 5000  # a listing that needs more pages than this is refused (a bogus total_count, not an account)
NO_TOTAL_SECONDS = 60.0  # a listing without total_count is read one page at a time: at most this long
MAX_BODY_BYTES = 64 * 1024 * 1024
# the documented 400 for an unknown id (replicas, personas); conversations: not documented, same shape assumed
_GONE_MESSAGE = ("invalid replica_id", "invalid face_id", "invalid persona_id", "invalid pal_id",
                 "invalid conversation_id")
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_DEFAULT = object()

log = logging.getLogger("reconciler.api.client")
status_log = logging.getLogger("reconciler.engine.status")


def planned_pages(total: int, per_page: int) -> int:
    """Pages needed for ``total`` items at ``per_page`` a page (rounded up: a last partial page is a page)."""
    return -(-total // per_page)


def _deadline(at: float):
    from reconciler.api.deadline import deadline

    return deadline(at)


class _TotalChanged(Exception):
    """total_count differed between pages of one listing."""


class _Retryable(Exception):
    """One failed attempt worth retrying; ``ambiguous`` when the server may have acted on it."""

    def __init__(self, reason: str, *, ambiguous: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.retry_after = retry_after


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


@dataclass(frozen=True)
class _Adopted:
    """What a lost create's settle found: the replica (or persona) it made."""

    replica_id: str


class _NotModified:
    """A 304 answer (a persona PATCH that changed nothing: success, documented)."""


_NOT_MODIFIED = _NotModified()


class _Kind:
    """A listable collection: where it lives, how an item is parsed and keyed, and what it is called. The path
    and field names are read from the resource kind's one table (``kind.api``, a ``kinds.Vocabulary``) at every
    use, so switching the table switches the whole client (issue 25)."""

    def __init__(self, kind: Any, parse: Callable[[Mapping[str, Any]], Any], key: Callable[[Any], str]):
        self.kind, self._parse, self.key = kind, parse, key
        self.noun = kind.noun

    @property
    def api(self) -> Any:
        return self.kind.api

    @property
    def path(self) -> str:
        return self.kind.api.path

    @property
    def name_field(self) -> str:
        return self.kind.api.name_field

    @property
    def id_field(self) -> str:
        return self.kind.api.id_field

    def parse(self, data: Mapping[str, Any]) -> Any:
        api, legacy = self.kind.api, self.kind.legacy
        return self._parse(data if api is legacy else api.incoming(data, legacy))

    def outgoing(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A body the models built with the legacy names, in the names the table speaks."""
        api, legacy = self.kind.api, self.kind.legacy
        return dict(body) if api is legacy else api.outgoing(body, legacy)

    def outgoing_patch(self, ops: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """JSON Patch operations the models built (``/persona_name``...), their paths in the table's names."""
        api, legacy = self.kind.api, self.kind.legacy
        if api is legacy:
            return [dict(op) for op in ops]
        names = api.renames(legacy)
        out = []
        for op in ops:
            head, sep, rest = str(op.get("path", "")).lstrip("/").partition("/")
            out.append({**op, "path": "/" + names.get(head, head) + sep + rest})
        return out

    def item_path(self, object_id: str) -> str:
        return f"{self.kind.api.path}/{quote(str(object_id), safe='')}"


_REPLICAS = _Kind(REPLICAS, RemoteReplica.from_api, lambda r: r.replica_id)
_PERSONAS = _Kind(PERSONAS, RemotePersona.from_api, lambda p: p.persona_id)


def _gone_prefixes() -> tuple[str, ...]:
    return (_REPLICAS.path + "/", _PERSONAS.path + "/", CONVERSATIONS_PREFIX + "/")


@dataclass(frozen=True)
class Conversation:
    """A conversation as created: ``conversation_url`` is what a person opens to talk to the replica."""

    conversation_id: str
    conversation_url: str | None = None
    status: str | None = None  # "active" | "ended" (test_mode conversations are created ended)
    conversation_name: str | None = None
    ended_by_us: bool = False  # a test-mode one the server left active (it ignores test_mode): ended at once
    end_error: str | None = None  # ...and ending it failed: it may still be live
    lost_answers: int = 0  # earlier attempts whose answer was lost: each may have started a conversation too

    def notes(self) -> str:
        """What a person must know besides "accepted": a conversation this check left behind, or may have."""
        out = []
        if self.end_error:
            out.append(f"the server ignored test_mode and ending conversation {self.conversation_id} failed "
                       f"({self.end_error}): it may be live and billed; end it in the Tavus dashboard")
        elif self.ended_by_us:
            out.append(f"the server ignored test_mode: conversation {self.conversation_id} was live and has been "
                       "ended")
        if self.lost_answers:
            live = " and may be live (this server ignores test_mode)" if self.ended_by_us else ""
            out.append(f"{self.lost_answers} earlier attempt(s) lost their answer: each may have started a "
                       f"conversation named {self.conversation_name!r} too{live}; check the Tavus dashboard")
        return "; ".join(out)


class TavusClient:
    """A thread-safe client for the replica endpoints. Use it as a context manager."""

    no_total_seconds = NO_TOTAL_SECONDS

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
        max_concurrency: int = 64,
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
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"x-api-key": api_key, "user-agent": f"tavus-reconciler/{__version__}",
                     "accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            transport=transport,
        )
        from reconciler.api import deadline

        deadline.install(self._http)  # headers trickled byte by byte cannot stretch a request either

    def __repr__(self) -> str:  # never shows the key
        return f"TavusClient({redact_url(self.base_url)!r})"

    @classmethod
    def from_env(cls, api_url: str | None = None, environ: Mapping[str, str] | None = None, **kwargs) -> TavusClient:
        """Build from ``TAVUS_API_KEY``, ``TAVUS_API_URL``, ``TAVUS_RETRY_*``, ``TAVUS_TIMEOUT_SECONDS`` and
        ``TAVUS_MAX_CONCURRENCY`` (the most page reads in flight at once; default 64, reached adaptively)."""
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

    def _create(self, kind: _Kind, payload: Mapping[str, Any], known_ids: Collection[str],
                listing: Callable[[], list[Any]]) -> str:
        """The never-duplicate create shared by replicas and personas (see :meth:`create_replica`)."""
        payload = kind.outgoing(payload)
        name = str(payload.get(kind.name_field, ""))
        known = frozenset(known_ids)

        def adopt(reason: str) -> _Adopted | None:
            rid = self._settle(name, known, reason, kind, listing)
            return None if rid is None else _Adopted(rid)

        body = self._call("POST", kind.path, json=dict(payload), before_retry=adopt)
        if isinstance(body, _Adopted):  # a type of our own: no server answer (a bare JSON string) can pass for it
            return body.replica_id
        rid = body.get(kind.id_field) if isinstance(body, Mapping) else None
        if not isinstance(rid, str) or not rid:
            raise MalformedResponseError(f"the create answer has no {kind.id_field}; run plan to see whether the "
                                         f"{kind.noun} was created", method="POST", path=kind.path)
        with self._lock:
            self._adopted.add(rid)
        return rid

    def _settle(self, name: str, known: frozenset[str], reason: str, kind: _Kind | None = None,
                listing: Callable[[], list[Any]] | None = None) -> str | None:
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
                for r in (listing or self.list_replicas)():
                    rid = (kind or _REPLICAS).key(r)
                    if r.name == name and rid not in known:
                        with self._lock:
                            if rid in self._adopted:
                                continue
                            self._adopted.add(rid)
                        log.info("adopted %s (%s): the create went through although its answer was lost",
                                 rid, escape_control(name))
                        return rid
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
                    f"the {(kind or _REPLICAS).noun} if it was made", method="POST", path=(kind or _REPLICAS).path)
            self._sleep(max(0.0, min(step, deadline - time.monotonic())))

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

    # ------------------------------------------------------------------------------------------ conversations

    def create_conversation(self, *, replica_id: str | None = None, persona_id: str | None = None,
                            test_mode: bool = False, name: str | None = None,
                            extra: Mapping[str, Any] | None = None) -> Conversation:
        """POST /v2/conversations. ``test_mode=True``: created already ended, never joined, free (a check
        that the API accepts the persona/replica pair); should a server ignore ``test_mode`` and answer
        ``active``, the conversation is ended at once, so a check never leaves a live (billed) one behind. A
        lost answer of a test-mode create is retried (a second free, ended conversation harms nobody); of a
        real one it is not (a second live conversation would be joined by the replica and billed):
        :class:`CreateOutcomeUnknownError`."""
        if not replica_id and not persona_id:
            raise UsageError("a conversation needs a replica_id or a persona_id")
        payload: dict[str, Any] = dict(extra or {})
        if replica_id:
            payload["replica_id"] = replica_id
        if persona_id:
            payload["persona_id"] = persona_id
        if name:
            payload["conversation_name"] = name
        if test_mode:
            payload["test_mode"] = True

        def refuse(reason: str) -> Any:
            raise CreateOutcomeUnknownError(
                f"the answer was lost ({reason}): a conversation may have been started; not starting a second "
                "one", method="POST", path=CONVERSATIONS_PREFIX)

        lost: list[str] = []

        def count(reason: str) -> None:  # a test-mode create is retried, but each lost answer is reported
            lost.append(reason)

        body = self._call("POST", CONVERSATIONS_PREFIX, json=payload, before_retry=count if test_mode else refuse)
        cid = body.get("conversation_id") if isinstance(body, Mapping) else None
        if not isinstance(cid, str) or not cid:
            raise MalformedResponseError("the conversation answer has no conversation_id", method="POST",
                                         path=CONVERSATIONS_PREFIX)

        def text(key: str) -> str | None:
            value = body.get(key)
            return value if isinstance(value, str) else None

        conv = Conversation(cid, text("conversation_url"), text("status"), text("conversation_name") or name,
                            lost_answers=len(lost))
        if test_mode and conv.status == "active":  # the server ignored test_mode: end what we created
            import dataclasses

            from reconciler.errors import ReconcilerError

            try:
                self.end_conversation(cid)
            except ReconcilerError as e:
                return dataclasses.replace(conv, ended_by_us=True, end_error=str(e))
            return dataclasses.replace(conv, ended_by_us=True)
        return conv

    def end_conversation(self, conversation_id: str) -> None:
        self._call("POST", f"{CONVERSATIONS_PREFIX}/{quote(str(conversation_id), safe='')}/end")

    def delete_conversation(self, conversation_id: str) -> None:
        """Soft delete (``hard=true`` is never sent)."""
        self._call("DELETE", f"{CONVERSATIONS_PREFIX}/{quote(str(conversation_id), safe='')}")

    # ------------------------------------------------------------------------------------------ internals

    def _message(self, resp: httpx.Response, content: bytes = b"") -> str:
        """The server's error message, redacted (URLs, the key) and escaped: it may echo what we sent."""
        return _server_message(resp, content).replace(self._api_key, "[REDACTED]")

    @staticmethod
    def _path(replica_id: str) -> str:
        return _REPLICAS.item_path(replica_id)

    def _replica(self, data: Any, method: str, path: str) -> RemoteReplica:
        return self._item(_REPLICAS, data, method, path)

    def _item(self, kind: _Kind, data: Any, method: str, path: str) -> Any:
        try:
            if not isinstance(data, Mapping):
                raise TypeError(type(data).__name__)
            item = kind.parse(data)
        except (KeyError, TypeError) as e:
            raise MalformedResponseError(f"a {kind.noun} object without a usable {kind.id_field} ({e})",
                                         method=method, path=path) from None
        if isinstance(item, RemoteReplica) and not is_known(item.status) \
                and item.status not in self._unknown_statuses:
            self._unknown_statuses.add(item.status)
            status_log.warning("unknown replica status %r: treating it as still training", item.status)
        return item

    def _page(self, params: Mapping[str, str], page: int, limit: int,
              kind: _Kind | None = None) -> tuple[list[Any], int | None]:
        kind = kind or _REPLICAS
        body = self._call("GET", kind.path, params={**params, "limit": str(limit), "page": str(page)})
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise MalformedResponseError("the list answer has no 'data' array", method="GET", path=kind.path)
        total = body.get("total_count")
        total = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
        try:  # the hot path (a page of well-formed objects: JSON gives dicts, the only type with .get)
            items = [kind.parse(item) for item in data]
        except (KeyError, TypeError, AttributeError):
            return [self._item(kind, item, "GET", kind.path) for item in data], total
        if kind is _REPLICAS:
            for status in {r.status for r in items} - self._unknown_statuses:
                if not is_known(status):
                    self._unknown_statuses.add(status)
                    status_log.warning("unknown replica status %r: treating it as still training", status)
        return items, total

    def _list_all(self, params: Mapping[str, str], cap: int | None = None, kind: _Kind | None = None) -> list[Any]:
        """Every page, or a typed error: a plan is never computed from a listing the client cannot vouch for.

        The first page tells the total and the page size the server really serves (it may cap ``limit``);
        later pages are asked with that size, all at once up to ``max_concurrency`` in flight (checked in
        page order as they arrive: the first contradiction stops the rest, so a bogus total never costs
        more than one flight of requests), and never more than the total allows (``MAX_PAGES``). The listing
        ends, as documented, when every promised item is seen, every page agreeing on the total. An empty
        page before the total, a page of ids already seen, more items than the total are contradictions
        (InconsistentListError). A total that changes (someone created or deleted while we read) restarts
        the listing once; a second change is an error too. ``cap``: the most items the query can match (the
        number of replica_ids asked for)."""
        for attempt in range(2):
            try:
                return self._list_pages(params, cap, kind or _REPLICAS)
            except _TotalChanged:
                if attempt:
                    raise InconsistentListError(f"the {(kind or _REPLICAS).noun} list kept changing while it was read "
                                                "(total_count changed twice); nothing was done; try again",
                                                method="GET", path=(kind or _REPLICAS).path) from None
        raise AssertionError("unreachable")

    def _inconsistent(self, why: str, kind: _Kind | None = None) -> InconsistentListError:
        kind = kind or _REPLICAS
        return InconsistentListError(f"the {kind.noun} list is inconsistent: {why}; nothing was done (a plan "
                                     f"from it could duplicate or delete {kind.noun}s); try again, and report "
                                     "the API's behaviour if it persists", method="GET", path=kind.path)

    def _list_pages(self, params: Mapping[str, str], cap: int | None = None, kind: _Kind | None = None) -> list[Any]:
        kind = kind or _REPLICAS
        limit = max(1, self.page_size)
        first, total = self._page(params, 1, limit, kind)
        seen: dict[str, Any] = {}
        for r in first:
            seen.setdefault(kind.key(r), r)
        size = len(first)
        if total is None:
            return self._list_without_total(params, first, seen, limit, kind)
        if total > 0 and size == 0:
            raise self._inconsistent(f"page 1 is empty but total_count is {total}", kind)
        if len(seen) > total:
            raise self._inconsistent(f"page 1 holds {len(seen)} {kind.noun}s but total_count is {total}", kind)
        size = max(size, 1)
        planned = planned_pages(total, size)
        if planned > MAX_PAGES:
            raise self._inconsistent(f"total_count {total} at {size} per page would need {planned} pages "
                                     f"(more than {MAX_PAGES})", kind)
        page = 1
        # the documented end: total_count items seen (every page agreeing on the total). Until then every page
        # that can still hold promised items goes out at once, as many in flight as the limit allows; they are
        # checked in page order as they arrive, and the first contradiction stops the rest (bounded work)
        while len(seen) < total:
            batch = list(range(page + 1, max(planned, page + 1) + 1))
            if batch[-1] > MAX_PAGES:
                raise self._inconsistent(f"still short of total_count {total} after {page} pages", kind)
            for p, items in self._pages_in_order(params, batch, size, kind, total):
                page = p
                if len(seen) >= total:  # everything seen: a page after that must be empty
                    if items:
                        raise self._inconsistent(f"page {p} holds {kind.noun}s beyond total_count {total}", kind)
                    continue
                if not items:
                    raise self._inconsistent(f"page {p} is empty after {len(seen)} of {total} {kind.noun}s", kind)
                new = [r for r in items if kind.key(r) not in seen]
                if not new:
                    raise self._inconsistent(f"page {p} repeats {kind.noun}s already seen (does the server ignore "
                                             "'page'?)", kind)
                for r in new:
                    seen[kind.key(r)] = r
                if len(seen) > total:
                    raise self._inconsistent(f"more than total_count {total} {kind.noun}s were listed", kind)
            planned = max(planned, page + 1)  # short pages: the rest of the promised items are further on
        return list(seen.values())

    def _pages_in_order(self, params: Mapping[str, str], pages: list[int], size: int, kind: _Kind,
                        total: int):
        """Yield ``(page, items)`` in page order while the pages are fetched concurrently (the adaptive limit
        decides how many at once). A page whose total differs raises :class:`_TotalChanged`; whatever the
        consumer raises stops the pages not yet started (those in flight finish first)."""
        if len(pages) <= 1:
            for p in pages:
                items, t = self._page(params, p, size, kind)
                if t is not None and t != total:
                    raise _TotalChanged()
                yield p, items
            return
        run = self._limiter.map(lambda p: self._page(params, p, size, kind), pages, window=self.max_concurrency)
        arrived: dict[int, list[Any]] = {}
        at = 0
        try:
            for p, (items, t) in run:
                if t is not None and t != total:
                    raise _TotalChanged()
                arrived[p] = items
                while at < len(pages) and pages[at] in arrived:
                    yield pages[at], arrived.pop(pages[at])
                    at += 1
        except BaseException:
            run.stop()
            run.drain()
            raise

    def _list_without_total(self, params: Mapping[str, str], first: list[Any], seen: dict[str, Any], limit: int,
                            kind: _Kind | None = None) -> list[Any]:
        """No total_count (not the documented shape; tolerated): pages one by one until an empty one, each
        page bringing new ids, at most MAX_PAGES and at most ``NO_TOTAL_SECONDS`` in all: a server that never
        ends is refused in bounded time, not after 5,000 round trips."""
        kind = kind or _REPLICAS
        items, page, size = first, 1, len(first) or limit
        budget = self.no_total_seconds
        ends = time.monotonic() + budget
        while items:
            page += 1
            if page > MAX_PAGES:
                raise self._inconsistent(f"no end after {MAX_PAGES} pages", kind)
            if time.monotonic() > ends:
                raise self._inconsistent(f"no end after {page - 1} pages in {budget:g}s (the answers carry no "
                                         "total_count, so the listing cannot be read concurrently)", kind)
            items, _ = self._page(params, page, size, kind)
            new = [r for r in items if kind.key(r) not in seen]
            if items and not new:
                raise self._inconsistent(f"page {page} repeats {kind.noun}s already seen (does the server ignore "
                                         "'page'?)", kind)
            for r in new:
                seen[kind.key(r)] = r
        return list(seen.values())

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items``, results in order, as many at once as the adaptive limit allows (at most
        ``max_concurrency``); inline for a single item."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        return self._limiter.map(fn, items).results()

    @staticmethod
    def _dedupe(items: list[RemoteReplica]) -> list[RemoteReplica]:
        return list({r.replica_id: r for r in items}.values())

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
                remaining = min(self.retry_budget - (time.monotonic() - started), call_deadline - time.monotonic())
                if delay > remaining:
                    last += f" (next retry in {delay:.0f}s would exceed the {self.retry_budget:g}s retry budget)"
                    break
                log.debug("%s %s: %s; retry %d in %.2fs", method, path, e.reason, attempt, delay)
                _backoff(delay, self._sleep)  # sleeps; a fan-out's slot is given back meanwhile
        raise RetriesExhaustedError(f"gave up after {attempt} attempt(s) in {time.monotonic() - started:.1f}s: "
                                    f"{last}", method=method, path=path)

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
            # streamed, so a body trickled byte by byte cannot stretch the attempt past its deadline
            # (httpx's own timeout is per socket read)
            with _deadline(deadline), self._http.stream(method, path, params=params, json=json) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the answer did not arrive within the deadline")
                    if size > MAX_BODY_BYTES:
                        raise _Retryable("the answer is too large", ambiguous=method != "GET")
                content = b"".join(chunks)
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
        finally:
            if posting:
                with self._posts_idle:
                    self._posting -= 1
                    self._posts_idle.notify_all()
        log.debug("%s %s -> %d (%d ms)", method, path, resp.status_code, (time.monotonic() - t0) * 1000)
        status = resp.status_code
        if status in _RETRYABLE_STATUS:
            # 429 and 408 mean the request was not processed; a 5xx may have been
            after = _retry_after(resp) if status in (429, 503) else None
            self._observe(OVERLOAD if status == 429 else FAILURE, t0, after)
            raise _Retryable(f"HTTP {status}: {self._message(resp, content)}", ambiguous=status >= 500,
                             retry_after=after)
        self._observe(OK, t0)
        if status in (401, 403):
            raise AuthError("authentication failed: check TAVUS_API_KEY", status_code=status, method=method,
                            path=path)
        if status == 404:
            raise NotFoundError(self._message(resp, content), status_code=status, method=method, path=path)
        if status == 304:  # "No changes were made to the persona" (a PATCH): success, documented
            return _NOT_MODIFIED
        if status == 409 and method == "PATCH" and _conflict(content) == "maker_changes":
            raise EditorDraftError(f"HTTP 409: {self._message(resp, content)} (unpublished changes in the Tavus "
                                   "editor)", status_code=status, method=method, path=path)
        if status == 422 and method == "PATCH":
            raise InvalidPatchError(f"HTTP 422: {self._message(resp, content)}", status_code=status, method=method,
                                    path=path)
        if status == 400 and path.startswith(_gone_prefixes()) and any(
                m in self._message(resp, content).lower() for m in _GONE_MESSAGE):
            # the documented answer for an unknown id (no 404 is documented): gone, like a 404
            raise NotFoundError(self._message(resp, content), status_code=status, method=method, path=path)
        if 400 <= status < 500:
            raise BadRequestError(f"HTTP {status}: {self._message(resp, content)}", status_code=status, method=method,
                                  path=path)
        if status >= 500 or status < 200 or status >= 300:
            raise ApiError(f"unexpected HTTP {status}", status_code=status, method=method, path=path)
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
