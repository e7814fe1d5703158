"""reconciler.api.pool: one small connection pool per thread, the TLS context shared, pools closed."""

from __future__ import annotations

import threading

import httpx

from reconciler.api import pool
from reconciler.api.client import TavusClient
from reconciler.sim.simulator import Simulator


class Counting(httpx.BaseTransport):
    made: list[Counting] = []

    def __init__(self):
        self.closed = False
        self.threads: set[int] = set()
        Counting.made.append(self)

    def handle_request(self, request):
        self.threads.add(threading.get_ident())
        return httpx.Response(200, json={"ok": True})

    def close(self):
        self.closed = True


def test_each_thread_has_its_own_transport_and_close_closes_them_all():
    Counting.made = []
    t = pool.PerThreadTransport(Counting)
    with httpx.Client(transport=t, base_url="http://x.test") as client:
        client.get("/a")
        client.get("/b")  # the same thread: the same transport
        together = threading.Barrier(3)  # alive at once: three distinct threads

        def get() -> None:
            together.wait(timeout=10)
            client.get("/c")
            together.wait(timeout=10)

        threads = [threading.Thread(target=get) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(Counting.made) == 4
        assert all(len(c.threads) == 1 for c in Counting.made)
        assert len({next(iter(c.threads)) for c in Counting.made}) == 4
    assert all(c.closed for c in Counting.made)


def test_the_pools_of_ended_threads_are_closed_when_another_is_made():
    Counting.made = []
    t = pool.PerThreadTransport(Counting)
    req = httpx.Request("GET", "http://x.test/")
    th = threading.Thread(target=t.handle_request, args=(req,))
    th.start()
    th.join()
    assert not Counting.made[0].closed
    t.handle_request(req)  # a new thread's pool: the ended thread's is closed
    assert Counting.made[0].closed and not Counting.made[1].closed
    assert t.shards == [Counting.made[1]]
    t.close()
    assert Counting.made[1].closed


def test_a_closed_transport_makes_no_more_pools():
    Counting.made = []
    t = pool.PerThreadTransport(Counting)
    t.close()
    try:
        t.handle_request(httpx.Request("GET", "http://x.test/"))
    except RuntimeError as e:
        assert "closed" in str(e)
    else:
        raise AssertionError("a closed transport served a request")
    assert Counting.made[0].closed


def test_the_client_reads_pages_over_per_thread_pools_sharing_one_tls_context():
    with Simulator(api_key="k", max_page_size=10) as sim:
        for i in range(95):
            sim.add_replica(replica_name=f"p-{i:03d}")
        with TavusClient(sim.url, "k", page_size=10) as client:
            transport = client._http._transport
            assert isinstance(transport, pool.PerThreadTransport)
            assert len(client.list_replicas()) == 95
            shards = transport.shards
            assert len(shards) >= 2  # the first page in this thread, the other nine in the limiter's threads
            contexts = {id(s._pool._ssl_context) for s in shards}
            assert len(contexts) == 1
            from reconciler.api.deadline import _Backend

            assert all(isinstance(s._pool._network_backend, _Backend) for s in shards)  # deadlines everywhere
        assert transport.shards == []


def test_a_proxy_from_the_environment_is_kept(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    with TavusClient("https://api.tavus.test", "k") as client:
        mounted = [m for m in client._http._mounts.values() if m is not None]
        assert mounted and all(not isinstance(m, pool.PerThreadTransport) for m in mounted)
        assert isinstance(client._http._transport, pool.PerThreadTransport)


def test_an_httpx_without_a_default_transport_is_left_alone():
    class Odd:
        _transport = object()

    assert pool.install(Odd(), None, lambda t: None) is False


class Recording(httpx.BaseTransport):
    """Answers 200 with a cookie, and keeps every request it was handed."""

    def __init__(self):
        self.requests: list[httpx.Request] = []

    def handle_request(self, request):
        request.read()
        self.requests.append(request)
        return httpx.Response(200, json={"ok": True}, headers={"set-cookie": "sticky=1; Path=/"})


def _clients():
    """The same client twice: one sending through ``client.send``, one through :class:`pool.Direct`."""
    made = []
    for _ in range(2):
        rec = Recording()
        client = httpx.Client(base_url="https://api.tavus.test/prefix", headers={"x-api-key": "k", "accept": "a/j"},
                              timeout=httpx.Timeout(7, connect=3))
        client._transport = pool.PerThreadTransport(lambda rec=rec: rec)
        made.append((client, rec))
    return made


def test_direct_sends_the_request_client_send_would():
    """Issue 29: the per-thread pools called directly; the same method, URL, query, headers, body, timeout."""
    (plain, seen_plain), (fast, seen_fast) = _clients()
    sender = pool.direct(fast)
    assert sender is not None
    for method, path, params, body in (("GET", "/v2/replicas", {"limit": "100", "page": "2"}, None),
                                       ("POST", "/v2/replicas", None, {"replica_name": "é", "n": [1, None]}),
                                       ("PATCH", "/v2/personas/p%2F1", None, [{"op": "add", "path": "/x"}]),
                                       ("DELETE", "/v2/replicas/r1", None, None)):
        with plain.stream(method, path, params=params, json=body) as answer:
            answer.read()
        answer = sender.open(method, path, params, body)
        assert answer.status_code == 200 and answer.request is seen_fast.requests[-1]
        answer.read()
        answer.close()
    for a, b in zip(seen_plain.requests, seen_fast.requests, strict=True):
        assert (a.method, str(a.url), a.content, a.extensions["timeout"]) == \
            (b.method, str(b.url), b.content, b.extensions["timeout"])
        cookie = [h for h in a.headers.raw if h[0].lower() == b"cookie"]
        assert [h for h in a.headers.raw if h[0].lower() != b"cookie"] == list(b.headers.raw)
        assert not [h for h in b.headers.raw if h[0].lower() == b"cookie"]  # a server's cookie is not carried
    assert cookie  # (client.send carries it: the one difference, on purpose)


def test_direct_only_where_client_send_has_nothing_to_add(monkeypatch):
    (client, _), _ = _clients()
    assert pool.direct(client) is not None
    assert pool.direct(httpx.Client(transport=Recording())) is None  # a transport of the caller's
    client.event_hooks = {"request": [print], "response": []}
    assert pool.direct(client) is None  # hooks run only in client.send
    client.event_hooks, client.follow_redirects = {}, True
    assert pool.direct(client) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    with TavusClient("https://api.tavus.test", "k") as proxied:
        assert proxied._direct is None  # proxies: through client.send, which picks the proxy's transport
    monkeypatch.delenv("HTTPS_PROXY")
    with TavusClient("https://api.tavus.test", "k") as plain:
        assert plain._direct is not None


def test_new_pools_look_for_ended_threads_only_as_their_number_doubles(monkeypatch):
    """A hundred threads making their pools at once cost about two hundred looks at a thread, not the
    five thousand of a look at every pool for every new one (issue 29: it spread a listing's sends)."""
    Counting.made = []
    t = pool.PerThreadTransport(Counting)
    looks = []
    real = threading.Thread.is_alive
    monkeypatch.setattr(threading.Thread, "is_alive", lambda self: looks.append(1) or real(self))
    req = httpx.Request("GET", "http://x.test/")
    together = threading.Barrier(100)

    def get() -> None:
        t.handle_request(req)
        together.wait(timeout=30)  # every thread alive until all have their pool

    threads = [threading.Thread(target=get) for _ in range(100)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(Counting.made) == 100 and len(looks) < 2 * 100
    t.handle_request(req)
    assert sum(not c.closed for c in Counting.made) <= 2 * 100  # never more than twice the most threads alive
    for _ in range(200):  # threads that come and go leave at most a few pools open, never one per thread
        th = threading.Thread(target=t.handle_request, args=(req,))
        th.start()
        th.join()
    assert sum(not c.closed for c in Counting.made) <= 3
    t.close()
    assert all(c.closed for c in Counting.made)
