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
import random
import signal
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from reconciler.sim import media, routes
from reconciler.sim.faults import FAULT_DEFAULTS, _FaultInjection, _retry_after_text  # noqa: F401 - re-exported
from reconciler.sim.http import _Handler, _Server
from reconciler.sim.media import MEDIA_BODY  # noqa: F401 - re-exported
from reconciler.sim.routes import Drop as _Drop
from reconciler.sim.sim_account import (  # noqa: F401 - re-exported: the simulator's public names stay here
    DEFAULT_LIMIT,
    DEFAULT_MODEL,
    MODELS,
    STOCK_REPLICAS,
    Account,
    ApiError,
    Page,
    _positive_int,
    json_object,
    new_replica_id,
)

API_PREFIX = "/v2/replicas"


class Simulator(_FaultInjection):
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

    # ------------------------------------------------------------------ the request log

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
            media.serve(self, h, method, path, query)
            return
        try:
            status, payload, ctype, headers = routes.dispatch(self, h, method, path, query, body)
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
        data = _encoded(payload)
        self._record(method, path, query, status)
        # 204 and 304 carry no body in HTTP (the docs show one for the persona 304; a client must not rely on it)
        h.respond(status, data, ctype, headers, head=method == "HEAD" or status in (204, 304))

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
            answer = routes.control(self, method, route[1].split("/"), body)  # a kind's own /_sim/ endpoints
            if answer is not None:
                return answer
        except ApiError as e:
            return e.status, {"message": e.message}
        except (ValueError, TypeError) as e:
            return 400, {"message": str(e)}
        return 404, {"message": f"no control endpoint {method} {path}"}



def _encoded(payload: Any) -> bytes:
    """An answer's body: bytes as they are, a listing page's own JSON, anything else JSON-encoded."""
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, Page):
        return payload.raw
    return json.dumps(payload).encode()


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
