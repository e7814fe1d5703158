"""reconciler.api.deadline: a thread-local wall-clock deadline, enforced on every socket operation of a client
it is installed on (a trickling server cannot stretch a request)."""

from __future__ import annotations

import socket
import threading
import time

import httpcore
import httpx
import pytest

from reconciler.api import deadline as dl


def test_the_deadline_is_per_thread_and_restored():
    with dl.deadline(100.0):
        assert dl._local.at == 100.0
        with dl.deadline(50.0):
            assert dl._local.at == 50.0
        assert dl._local.at == 100.0
        other = []
        t = threading.Thread(target=lambda: other.append(getattr(dl._local, "at", None)))
        t.start()
        t.join(5)
        assert other == [None]
    assert getattr(dl._local, "at", None) is None


def test_left_is_the_smaller_of_the_timeout_and_the_time_left():
    assert dl._left(7.0, httpcore.ReadTimeout) == 7.0  # no deadline: unchanged
    assert dl._left(None, httpcore.ReadTimeout) is None
    with dl.deadline(time.monotonic() + 1000):
        assert dl._left(3.0, httpcore.ReadTimeout) == 3.0
        assert 900 < dl._left(None, httpcore.ReadTimeout) <= 1000
    with dl.deadline(time.monotonic() - 1), pytest.raises(httpcore.ReadTimeout):
        dl._left(3.0, httpcore.ReadTimeout)


def test_install_wraps_a_real_transport_once_and_skips_a_mock():
    with httpx.Client() as real:
        assert dl.install(real) is True
        assert dl.install(real) is False  # already wrapped
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as mock:
        assert dl.install(mock) is False


def test_headers_trickled_byte_by_byte_cannot_outlast_the_deadline():
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(0.02):
                    return
                conn.sendall(bytes([byte]))

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = listener.getsockname()[1]
    try:
        with httpx.Client(timeout=5.0) as http:
            dl.install(http)
            started = time.monotonic()
            with dl.deadline(started + 0.5), pytest.raises(httpx.TimeoutException):
                http.get(f"http://127.0.0.1:{port}/")
            assert time.monotonic() - started < 3.0  # each byte came within the 5 s read timeout
    finally:
        stop.set()
        listener.close()
        t.join(5)
