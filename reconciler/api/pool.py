"""Connections of the one client: a small connection pool per thread instead of one pool shared by all.

httpcore's pool (1.0.x) re-examines every connection it holds for every request that enters or leaves it (a
``poll`` of each idle socket, and a count of the idle ones per connection): with 64 to 128 threads on one pool
that is quadratic, and 100 pages read at once spent more CPU in it than in HTTP and JSON together (a page
listing of 10,000 replicas took 6.5 round trips where 2 were on the wire). A thread sends one request at a time,
so :class:`PerThreadTransport` gives each thread its own little pool (built on first use, the TLS context shared)
and a request only ever looks at its own thread's connection. Pools of threads that have ended are closed when
the next one is made, and every pool when the client closes.
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

    def _shard(self) -> httpx.BaseTransport:
        shard = getattr(self._local, "shard", None)
        if shard is not None:
            return shard
        shard = self._make()
        with self._lock:
            if self._closed:
                shard.close()
                raise RuntimeError("the HTTP client is closed")
            ended = [s for s in self._shards if not s[0].is_alive()]
            self._shards = [s for s in self._shards if s[0].is_alive()]
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
