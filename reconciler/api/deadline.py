"""A wall-clock deadline for every socket operation of a request, headers included.

httpx's timeouts apply to each socket read, so a server that trickles its answer one byte at a time (the
headers as much as the body) can stretch a request without end. :func:`install` wraps the network backend of
an ``httpx.Client``'s connection pools so every connect, read and write is given at most the time left until
the deadline the current thread set with :func:`deadline` (a thread-local: each request of the client's
thread pool has its own). Without a deadline set, operations behave exactly as before.

It reaches into ``httpx.HTTPTransport._pool._network_backend`` (httpcore 1.x); when that is not there (another
transport, a future httpx) nothing is installed and the client's own streamed-body check still bounds the body.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import httpcore

_local = threading.local()


@contextlib.contextmanager
def deadline(at: float):
    """Socket operations in this thread end by ``at`` (a ``time.monotonic()`` value)."""
    previous = getattr(_local, "at", None)
    _local.at = at
    try:
        yield
    finally:
        _local.at = previous


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    at = getattr(_local, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream:
    def __init__(self, inner: Any):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    def __init__(self, inner: Any):
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _Stream(self._inner.connect_tcp(host, port, _left(timeout, httpcore.ConnectTimeout), local_address,
                                               socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _Stream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout),
                                                       socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_transport(transport: Any) -> bool:
    """Wrap the network backend of one ``httpx.HTTPTransport``; True when it was wrapped."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None or isinstance(backend, _Backend):
        return False
    pool._network_backend = _Backend(backend)
    return True


def install(client: Any) -> bool:
    """Wrap the network backends of ``client`` (an httpx.Client); True when at least one was wrapped."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    done = False
    for transport in transports:
        done = install_transport(transport) or done
    return done
