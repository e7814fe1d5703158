"""A local Tavus API simulator: a real HTTP server on loopback that behaves like ``/v2/replicas``.

Used by ``tavus-reconciler simulator`` / ``demo`` and by the end-to-end tests. Stdlib plus PyYAML only.
This module is the HTTP layer (routes, auth, faults, request log, media, ``/_sim/`` control); the fake
account itself (stored replicas, training, the API operations) is ``reconciler.sim.sim_account``.

* Training progresses over ``train_seconds`` (computed at read time); a training URL containing ``fail``
  fails at 50 %. A ``phoenix-4.5`` replica is then a watermarked preview (``status: completed``,
  ``finetune_status: null``) for ``finetune_seconds`` more, then ``finetune_status: completed`` (``errored``
  half-way when its training URL contains ``errored``). ``POST /_sim/timing`` changes both durations.
* ``/media/NAME`` serves fake media: ``missing`` in the name -> 404, ``expired`` -> 403.
* A rate-limited mode: ``rate_limit_rps`` N turns on a token bucket of N requests/s (``rate_limit_burst``
  tokens, default N); a request finding it empty is answered 429 with ``Retry-After`` (whole seconds).
* Faults (rate limits, 5xx, latency, dropped create responses, malformed bodies) are configurable at
  construction, with :meth:`Simulator.set_faults` or ``POST /_sim/faults``.
* Control endpoints under ``/_sim/`` need no key and are not logged; every other request is logged.
* The newer names (issue 25): ``/v2/faces`` and ``/v2/pals`` serve the same replicas and personas under the
  newer field names only (``face_id``, ``face_name``, ``face_type``, ``face_ids``; ``pal_id``, ``pal_name``,
  ``pal_type``), and refuse the legacy field names there, so a client that mixes the two vocabularies fails.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from reconciler.kinds.personas import sim as sim_personas
from reconciler.sim.sim_account import (  # noqa: F401 - re-exported: the simulator's public names stay here
    DEFAULT_LIMIT,
    DEFAULT_MODEL,
    MODELS,
    STOCK_REPLICAS,
    Account,
    ApiError,
    _positive_int,
    json_object,
    new_replica_id,
)

API_PREFIX = "/v2/replicas"
MEDIA_BODY = bytes(range(256)) * 4  # 1 KiB of fake media

FAULT_DEFAULTS: dict[str, Any] = {
    "rate_limit": 0.0,
    "retry_after": None,
    "rate_limit_rps": 0.0,
    "rate_limit_burst": None,
    "server_error": 0.0,
    "latency": 0.0,
    "drop_create_response": 0.0,
    "fail_next": 0,
    "malformed": 0.0,
    "gateway_504": 0.0,  # share of creates answered 504 at once while the replica lands 1-1.5 s later
    "slow_create": 0.0,  # seconds a create's answer is held back (the replica is created at once)
    "list_error": 0.0,  # share of list requests answered 503
    "fault_seed": None,
}


# the newer collection names -> (the legacy collection, {newer field name: legacy field name})
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "faces": ("replicas", {"face_id": "replica_id", "face_name": "replica_name", "face_type": "replica_type",
                           "face_ids": "replica_ids"}),
    "pals": ("personas", {"pal_id": "persona_id", "pal_name": "persona_name", "pal_type": "persona_type"}),
}


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every object key in ``names`` renamed (deep), and JSON Patch paths of renamed members."""
    if isinstance(value, dict):
        out = {names.get(k, k): _renamed(v, names) for k, v in value.items()}
        if isinstance(out.get("path"), str) and "op" in out:
            head, _, rest = out["path"].lstrip("/").partition("/")
            out["path"] = "/" + names.get(head, head) + (f"/{rest}" if rest else "")
        return out
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


class _Drop(Exception):
    """Raised by a route to close the connection without answering."""


class _Server(ThreadingHTTPServer):
    """Daemon-threaded server that tracks open connections so :meth:`Simulator.stop` can cut them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # socketserver's 5 drops the SYNs of a burst of new connections (1 s stalls)

    def __init__(self, addr: tuple[str, int], sim: Simulator):
        self.sim = sim
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silence per-connection errors (resets, broken pipes): nothing goes to stderr per request."""

    def close_open_sockets(self) -> None:
        with self.sockets_lock:
            socks = list(self.open_sockets)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Routes every method through :meth:`Simulator._handle`."""

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: headers and body leave in one segment (no Nagle / delayed-ACK stalls)
    server: _Server
    server_version = "TavusSimulator/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            with self.server.sockets_lock:
                self.server.open_sockets.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator writes nothing to stderr per request."""

    def _dispatch(self) -> None:
        try:
            self.server.sim._handle(self)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = _dispatch

    def read_body(self) -> bytes:
        """The request body (always consumed, so keep-alive stays in sync); chunked bodies are decoded."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def respond(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None,
                head: bool = False) -> None:
        """Write a complete response with a correct Content-Length."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)
        self.wfile.flush()


class Simulator:
    """An in-process Tavus API simulator on a real loopback HTTP server.

    Use as a context manager (``with Simulator() as sim: ...``) or call :meth:`start` / :meth:`stop`.
    ``train_seconds`` may be changed at run time; progress is always computed from it at read time.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, api_key: str = "sim-key",
                 train_seconds: float = 60.0, max_page_size: int = 100, seed: list[dict] | None = None,
                 stock_replicas: bool = True, faults: dict | None = None, finetune_seconds: float = 0.0):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.account = Account(train_seconds=train_seconds, max_page_size=max_page_size,
                               finetune_seconds=finetune_seconds)
        self._lock = threading.Lock()  # faults, the token bucket and the request log (the account has its own)
        self._log: list[dict[str, Any]] = []
        self._faults: dict[str, Any] = dict(FAULT_DEFAULTS)
        self._rng = random.Random()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        if stock_replicas:
            for stock in STOCK_REPLICAS:
                self.add_replica(**stock, replica_type="system", status="completed", model_name="phoenix-3")
        for item in seed or []:
            self.add_replica(**item)
        self.set_faults(**(faults or {}))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Simulator:
        """Bind and serve in a daemon thread; sets :attr:`url`."""
        if self._server is None:
            self._server = _Server((self.host, self.port), self)
            self.port = self._server.server_address[1]
            self.url = f"http://{self.host}:{self.port}"
            self.account.base_url = self.url
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="tavus-simulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_open_sockets()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def video_url(self, name: str) -> str:
        """A URL of fake media served by this simulator."""
        return f"{self.url}/media/{name}"

    # ------------------------------------------------------------------ direct state access (the account's)

    @property
    def train_seconds(self) -> float:
        return self.account.train_seconds

    @train_seconds.setter
    def train_seconds(self, value: float) -> None:
        self.account.train_seconds = float(value)

    @property
    def finetune_seconds(self) -> float:
        """How long a phoenix-4.5 replica stays a watermarked preview after its training (the fine-tune)."""
        return self.account.finetune_seconds

    @finetune_seconds.setter
    def finetune_seconds(self, value: float) -> None:
        self.account.finetune_seconds = float(value)

    @property
    def max_page_size(self) -> int:
        return self.account.max_page_size

    def replicas(self, include_system: bool = False) -> list[dict[str, Any]]:
        """API-shaped (verbose) replicas, newest first; user replicas only unless ``include_system``."""
        return self.account.replicas(include_system)

    def add_replica(self, **fields: Any) -> dict[str, Any]:
        """Insert a replica directly (not logged). ``status="started"`` trains from now; others are fixed."""
        return self.account.add_replica(**fields)

    def delete(self, replica_id: str) -> None:
        """Remove a replica directly (no error if it does not exist)."""
        self.account.delete(replica_id)

    def rename(self, replica_id: str, name: str) -> None:
        """Rename a replica directly, as a person in the portal would (not logged)."""
        self.account.rename(replica_id, name)

    def finish(self, replica_id: str, status: str = "completed", error_message: str | None = None,
               **finetune: Any) -> None:
        """End a replica's training now (tests): ``completed``, or ``error`` with a message; a phoenix-4.5
        replica takes ``finetune_status`` (None: still a preview; ``errored``; default completed)."""
        self.account.finish(replica_id, status, error_message, **finetune)

    # ------------------------------------------------------------------ faults and the request log

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault configuration (unset keys go back to their defaults); returns it."""
        unknown = set(faults) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        config = dict(FAULT_DEFAULTS)
        for key, value in faults.items():
            if value is None or key == "retry_after":
                config[key] = value
            elif key in ("fail_next", "fault_seed"):
                config[key] = int(value)
            else:
                config[key] = float(value)
        with self._lock:
            self._faults = config
            self._rng = random.Random(config["fault_seed"])
            self._bucket = (config["rate_limit_burst"] or max(1.0, config["rate_limit_rps"]), time.monotonic())
            return dict(config)

    @property
    def faults(self) -> dict[str, Any]:
        """A copy of the current fault configuration."""
        with self._lock:
            return dict(self._faults)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log: ``{"method", "path", "query", "status", "t"}`` per request."""
        with self._lock:
            return [dict(r, query=dict(r["query"])) for r in self._log]

    def reset_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()

    def _record(self, method: str, path: str, query: dict[str, str], status: int) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "query": query, "status": status, "t": time.time()})

    # ------------------------------------------------------------------ request handling

    def _handle(self, h: _Handler) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        method = h.command
        body = h.read_body()
        if path.startswith("/_sim/") or path == "/_sim":
            status, payload = self._control(method, path, body)
            h.respond(status, json.dumps(payload).encode(), "application/json")
            return
        if path.startswith("/media/"):
            self._media(h, method, path, query)
            return
        try:
            status, payload, ctype, headers = self._api_any_names(h, method, path, query, body)
        except _Drop:
            self._record(method, path, query, 0)
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        except ApiError as e:
            status, payload, ctype, headers = e.status, e.payload, "application/json", e.headers
        except Exception as e:  # a simulator bug: answer 500 rather than hang the client
            status, payload, ctype, headers = 500, {"message": f"simulator error: {e}"}, "application/json", {}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._record(method, path, query, status)
        # 204 and 304 carry no body in HTTP (the docs show one for the persona 304; a client must not rely on it)
        h.respond(status, data, ctype, headers, head=method == "HEAD" or status in (204, 304))

    def _take_token(self, rps: float, burst: float | None) -> float:
        """Token bucket of ``rps`` per second: 0 when a token was taken, else the seconds until one is due.
        Call with the lock held."""
        if rps <= 0:
            return 0.0
        capacity = burst or max(1.0, rps)
        tokens, at = self._bucket
        now = time.monotonic()
        tokens = min(capacity, tokens + (now - at) * rps)
        if tokens >= 1:
            self._bucket = (tokens - 1, now)
            return 0.0
        self._bucket = (tokens, now)
        return (1 - tokens) / rps

    def _draw(self, probability: float) -> bool:
        """True with ``probability`` (no RNG draw when it is 0, so seeded runs stay stable)."""
        return probability > 0 and self._rng.random() < probability

    def _faults_for(self, h: _Handler, method: str, parts: list[str]) -> tuple[bool, float, float, bool]:
        """Latency, auth and the configured faults for one API request: raises the error answer a fault
        injects, else returns (drop the answer, 504-then-create delay, create answer delay, malformed body)."""
        latency = self._faults["latency"]
        if latency > 0:
            time.sleep(latency)
        if h.headers.get("x-api-key") != self.api_key:
            raise ApiError(401, "Invalid access token")
        with self._lock:
            f = self._faults
            if f["fail_next"] > 0:
                f["fail_next"] -= 1
                raise ApiError(503, "service unavailable")
            wait = self._take_token(f["rate_limit_rps"], f["rate_limit_burst"])
            if wait > 0:
                ra = f["retry_after"] if f["retry_after"] is not None else max(1, math.ceil(wait))
                raise ApiError(429, "rate limit exceeded", {"Retry-After": _retry_after_text(ra)})
            if self._draw(f["rate_limit"]):
                ra = f["retry_after"]
                headers = {} if ra is None else {"Retry-After": _retry_after_text(ra)}
                raise ApiError(429, "rate limited", headers)
            if self._draw(f["server_error"]):
                code = self._rng.choice((500, 502, 503))
                raise ApiError(code, {500: "internal server error", 502: "bad gateway",
                                      503: "service unavailable"}[code])
            if method == "GET" and self._draw(f["malformed"]):
                return False, 0.0, 0.0, True
            if method == "GET" and len(parts) == 2 and self._draw(f["list_error"]):
                raise ApiError(503, "service unavailable")
            drop = method == "POST" and self._draw(f["drop_create_response"])
            late = self._rng.uniform(1.0, 1.5) if method == "POST" and self._draw(f["gateway_504"]) else 0.0
            slow = f["slow_create"] if method == "POST" else 0.0
        return drop, late, slow, False

    def _api_any_names(self, h: _Handler, method: str, path: str, query: dict[str, str],
                       body: bytes) -> tuple[int, Any, str, dict[str, str]]:
        """:meth:`_api`, also under the newer names (``/v2/faces``, ``/v2/pals``): the request is read in the
        newer vocabulary only (a legacy field name there is a 400) and answered in it."""
        parts = path.split("/")
        alias = ALIASES.get(parts[2]) if len(parts) > 2 and parts[1] == "v2" else None
        if alias is None:
            return self._api(h, method, path, query, body)
        legacy, names = alias
        back = {old: new for new, old in names.items()}
        data: Any = None
        if body:
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                data = json.loads(body)
        sent = set(query)
        if isinstance(data, dict):
            sent |= set(data)
        elif isinstance(data, list):  # a JSON Patch: the members its paths name
            sent |= {str(op.get("path", "")).lstrip("/").split("/")[0] for op in data if isinstance(op, dict)}
        mixed = sorted(sent & set(back))
        if mixed:
            raise ApiError(400, f"unknown field {mixed[0]}: /v2/{parts[2]} speaks {back[mixed[0]]}")
        query = {names.get(k, k): v for k, v in query.items()}
        if data is not None:
            body = json.dumps(_renamed(data, names)).encode()

        def newer(text: str) -> str:
            for new, old in names.items():
                text = text.replace(old, new)
            return text

        try:
            status, payload, ctype, headers = self._api(h, method, "/".join([*parts[:2], legacy, *parts[3:]]),
                                                        query, body)
        except ApiError as e:  # "Invalid replica_id" -> "Invalid face_id"
            e.message = newer(e.message)
            e.payload = {k: newer(v) if isinstance(v, str) else v for k, v in _renamed(e.payload, back).items()}
            raise
        return status, payload if isinstance(payload, bytes) else _renamed(payload, back), ctype, headers

    def _api(self, h: _Handler, method: str, path: str, query: dict[str, str],
             body: bytes) -> tuple[int, Any, str, dict[str, str]]:
        """The /v2/replicas routes, after auth and faults. Returns (status, payload, content type, headers)."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] in (["v2", "personas"], ["v2", "conversations"]):  # issue 17: reconciler/kinds/personas/sim.py
            allowed = sim_personas.check_route(parts, ApiError)
            if method not in allowed:
                raise ApiError(405, f"method {method} not allowed on {path}", {"Allow": ", ".join(allowed)})
            drop, late, _slow, malformed = self._faults_for(h, method, parts)
            if malformed:
                return 200, b"<html>oops</html>", "text/html", {}
            return sim_personas.route(self, method, parts, query, body, late=late, drop=drop, error=ApiError,
                                      drop_error=_Drop, positive_int=_positive_int)
        if parts[:2] != ["v2", "replicas"] or len(parts) > 4 or (len(parts) == 4 and parts[3] != "name"):
            raise ApiError(404, f"no route for {path}")
        allowed = {2: ("GET", "POST"), 3: ("GET", "DELETE"), 4: ("PATCH",)}[len(parts)]
        if method not in allowed:
            raise ApiError(405, f"method {method} not allowed on {path}", {"Allow": ", ".join(allowed)})
        drop, late, slow, malformed = self._faults_for(h, method, parts)
        if malformed:
            return 200, b"<html>oops</html>", "text/html", {}
        rid = parts[2] if len(parts) > 2 else ""
        if len(parts) == 2 and method == "GET":
            return 200, self.account.list(query), "application/json", {}
        if len(parts) == 2:
            if late:  # a gateway gives up at once; the backend still creates the replica a little later
                timer = threading.Timer(late, self.account.create_quietly, args=(body,))
                timer.daemon = True
                timer.start()
                raise ApiError(504, "gateway timeout")
            result = self.account.create(body)
            if slow:
                time.sleep(slow)
            if drop:
                raise _Drop()
            return 200, result, "application/json", {}
        if method == "GET":
            return 200, self.account.get(rid, query), "application/json", {}
        if method == "DELETE":
            return 200, self.account.delete_api(rid), "application/json", {}
        return 200, self.account.rename_api(rid, body), "application/json", {}

    def _media(self, h: _Handler, method: str, path: str, query: dict[str, str]) -> None:
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
        self._record(method, path, query, status)
        h.respond(status, body, ctype, headers, head=head)

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """The unauthenticated, unlogged ``/_sim/*`` endpoints."""
        route = (method, path.rstrip("/"))
        try:
            if route == ("GET", "/_sim/faults"):
                return 200, self.faults
            if route == ("POST", "/_sim/faults"):
                return 200, self.set_faults(**json_object(body))
            if route == ("GET", "/_sim/requests"):
                return 200, self.requests
            if route == ("POST", "/_sim/reset-requests"):
                self.reset_requests()
                return 200, {"message": "ok"}
            if route == ("POST", "/_sim/timing"):  # {"train_seconds": N, "finetune_seconds": N}, either or both
                data = json_object(body)
                for key in ("train_seconds", "finetune_seconds"):
                    if key in data:
                        if isinstance(data[key], bool) or not isinstance(data[key], int | float) or data[key] < 0:
                            raise ValueError(f"{key} must be a number of seconds >= 0")
                        setattr(self, key, data[key])
                return 200, {"train_seconds": self.train_seconds, "finetune_seconds": self.finetune_seconds}
            parts = route[1].split("/")
            if method == "POST" and len(parts) == 5 and parts[2] == "personas" and parts[4] == "draft":
                try:  # leave an unpublished editor draft on a persona (issue 25): its PATCHes answer 409
                    sim_personas.leave_draft(self, unquote(parts[3]))
                except KeyError:
                    return 404, {"message": f"no persona {parts[3]}"}
                return 200, {"message": "draft left", "persona_id": parts[3]}
            if route == ("GET", "/_sim/replicas"):
                return 200, self.replicas(include_system=True)
            if route == ("POST", "/_sim/replicas"):
                return 200, self.add_replica(**json_object(body))
        except ApiError as e:
            return e.status, {"message": e.message}
        except (ValueError, TypeError) as e:
            return 400, {"message": str(e)}
        return 404, {"message": f"no control endpoint {method} {path}"}


def _retry_after_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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


def load_seed(path: str) -> list[dict[str, Any]]:
    """A JSON or YAML list of replica dicts (the ``--seed`` file)."""
    import yaml

    from reconciler.errors import UsageError

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"cannot read seed file {path}: {e}") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UsageError(f"seed file {path} must be a list of replica objects")
    return data


def serve_forever(host: str, port: int, train_seconds: float, api_key: str, seed_file: str | None = None,
                  max_page_size: int = 100, faults: dict | None = None, finetune_seconds: float = 0.0) -> None:
    """Run the simulator in the foreground until Ctrl-C or SIGTERM (the ``simulator`` command)."""
    from reconciler.errors import UsageError

    seed = load_seed(seed_file) if seed_file else None
    try:
        sim = Simulator(host, port, api_key=api_key, train_seconds=train_seconds, max_page_size=max_page_size,
                        seed=seed, faults=faults, finetune_seconds=finetune_seconds)
    except ValueError as e:
        raise UsageError(f"bad seed or fault settings: {e}") from None
    try:
        sim.start()
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    print(f"Tavus simulator listening on {sim.url} (api key: {api_key})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
