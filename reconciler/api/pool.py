"""Connections of the one client: a small connection pool per thread instead of one pool shared by all.

httpcore's pool (1.0.x) re-examines every connection it holds for every request that enters or leaves it (a
``poll`` of each idle socket, and a count of the idle ones per connection): with 64 to 128 threads on one pool
that is quadratic, and 100 pages read at once spent more CPU in it than in HTTP and JSON together (a page
listing of 10,000 replicas took 6.5 round trips where 2 were on the wire). A thread sends one request at a time,
so :class:`PerThreadTransport` gives each thread its own little pool (built on first use, the TLS context shared)
and a request only ever looks at its own thread's connection. Pools of threads that have ended are closed as new
ones are made (looked for each time the number of pools has doubled: a listing's hundred new threads cost a
hundred looks, not five thousand), and every pool when the client closes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

# one thread holds one connection at a time; a little room for a nested call, every connection kept alive (with
# more connections than keep-alive slots httpcore closes connections another request has just been handed)
PER_THREAD = httpx.Limits(max_connections=4, max_keepalive_connections=4)


class PerThreadTransport(httpx.BaseTransport):
    """A transport that hands each thread's requests to that thread's own transport, made by ``make``."""

    def __init__(self, make: Callable[[], httpx.BaseTransport]):
        self._make = make
        self._local = threading.local()
        self._lock = threading.Lock()
        self._shards: list[tuple[threading.Thread, httpx.BaseTransport]] = []
        self._closed = False
        self._look_at = 1  # look for the pools of ended threads when there are this many

    def _shard(self) -> httpx.BaseTransport:
        shard = getattr(self._local, "shard", None)
        if shard is not None:
            return shard
        shard = self._make()
        with self._lock:
            if self._closed:
                shard.close()
                raise RuntimeError("the HTTP client is closed")
            ended = []
            if len(self._shards) >= self._look_at:
                alive = []
                for s in self._shards:
                    (alive if s[0].is_alive() else ended).append(s)
                self._shards = alive
                self._look_at = max(1, 2 * len(alive))
            self._shards.append((threading.current_thread(), shard))
        for _thread, old in ended:
            old.close()
        self._local.shard = shard
        return shard

    @property
    def shards(self) -> list[httpx.BaseTransport]:
        """The per-thread transports made so far (and not yet closed)."""
        with self._lock:
            return [s for _t, s in self._shards]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._shard().handle_request(request)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            shards, self._shards = self._shards, []
        for _thread, shard in shards:
            shard.close()


class Direct:
    """Requests of ``client`` handed straight to its per-thread transport: what ``client.send`` does for this
    client, without the layers it does not use (no auth flow, no redirects followed, no event hooks, no cookie
    jar: the API authenticates by header, and a cookie a server or a proxy sets is not carried to the next
    request). About 0.1 ms of CPU less per request, a fifth of the client's cost of a page (issue 29). Built
    only by :func:`direct`, when the client sends everything through the per-thread pools."""

    def __init__(self, client: httpx.Client, transport: PerThreadTransport):
        self._base = str(client.base_url).rstrip("/")
        self._headers = client.headers
        self._timeout = client.timeout.as_dict()
        self._handle = transport.handle_request

    def open(self, method: str, path: str, params: Any = None, json: Any = None) -> httpx.Response:
        """The response of one request, its body not read yet (read it, or close it)."""
        request = httpx.Request(method, self._base + path, params=params, json=json, headers=self._headers,
                                extensions={"timeout": self._timeout})
        response = self._handle(request)
        response.request = request
        return response


def direct(client: httpx.Client) -> Direct | None:
    """A :class:`Direct` sender for ``client``, or None where ``client.send`` must run (a transport given by the
    caller, proxies from the environment, auth, event hooks or redirects to follow)."""
    transport = getattr(client, "_transport", None)
    if not isinstance(transport, PerThreadTransport) or getattr(client, "_mounts", None) or client.auth is not None \
            or client.event_hooks != {"request": [], "response": []} or client.follow_redirects:
        return None
    return Direct(client, transport)


def install(client: httpx.Client, ssl_context: Any, prepare: Callable[[httpx.HTTPTransport], Any]) -> bool:
    """Give ``client`` (built with ``verify=ssl_context`` and no transport of its own) per-thread pools for the
    URLs it does not send through a proxy; ``prepare`` is applied to each new pool (the deadline's backend). The
    proxies httpx set up from the environment are left as they are. False (nothing changed) where this httpx
    has no ``_transport`` to replace."""
    default = getattr(client, "_transport", None)
    if not isinstance(default, httpx.HTTPTransport):
        return False

    def make() -> httpx.BaseTransport:
        transport = httpx.HTTPTransport(verify=ssl_context, limits=PER_THREAD)
        prepare(transport)
        return transport

    client._transport = PerThreadTransport(make)
    default.close()
    return True
