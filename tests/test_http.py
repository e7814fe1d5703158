"""reconciler.sim.http: the simulator's server. Chunked bodies are read, keep-alive stays in sync, Content-Length
is exact, and stop() cuts every open connection (a client never hangs on a stopped simulator)."""

from __future__ import annotations

import socket
import time

import httpx

from reconciler.sim.simulator import Simulator


def test_a_chunked_body_is_read_and_the_connection_kept_alive():
    with Simulator(api_key="k", stock_replicas=False) as sim, \
            httpx.Client(base_url=sim.url, headers={"x-api-key": "k"}) as c:
        def body():
            yield b'{"replica_name": "a", '
            yield b'"train_video_url": "' + sim.video_url("a.mp4").encode() + b'"}'

        r = c.post("/v2/replicas", content=body())  # a generator: sent chunked
        assert r.status_code == 200, r.text
        r2 = c.get("/v2/replicas")
        assert r2.status_code == 200 and len(r2.content) == int(r2.headers["content-length"])
        assert [x["replica_name"] for x in r2.json()["data"]] == ["a"]


def test_stop_cuts_open_connections():
    sim = Simulator(api_key="k").start()
    conn = socket.create_connection((sim.host, sim.port), timeout=5)
    conn.sendall(b"GET /v2/replicas HTTP/1.1\r\nHost: x\r\nx-api-key: k\r\n\r\n")
    assert conn.recv(12).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    sim.stop()
    conn.settimeout(5)
    while conn.recv(65536):  # the rest of the answer, then EOF: the server closed it
        pass
    assert time.monotonic() - started < 5
    conn.close()
