"""Issue 14: the real client against small misbehaving HTTP servers on loopback. Listing is consistent or
refused (contract 1: a plan is never computed from a listing that could hide replicas), deadlines are total,
the documented 400 "Invalid replica_id" is gone, replica_ids are filtered client-side, http:// is refused
unless loopback."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fakeserver import FakeServer, paged, replicas, trickle

from reconciler.api.client import TavusClient
from reconciler.errors import InconsistentListError, NotFoundError, RetriesExhaustedError, UsageError

KEY = "bounded-test-key-0123456789"


def list_from(handler, url=None, **kw):
    if url:
        with client(url, **kw) as c:
            return c.list_replicas()
    with FakeServer(handler) as s, client(s.url, **kw) as c:
        return c.list_replicas()


def attempts(error) -> int:
    """How many attempts a RetriesExhaustedError says were made ("gave up after N attempt(s) ...")."""
    import re

    return int(re.search(r"gave up after (\d+) attempt", str(error)).group(1))


def client(url, **kw):
    kw.setdefault("backoff_base", 0.0)
    kw.setdefault("max_attempts", 2)
    kw.setdefault("retry_budget", 2.0)
    return TavusClient(url, KEY, **kw)


def test_an_empty_page_before_the_total_is_refused_not_an_empty_account():
    with pytest.raises(InconsistentListError, match="page 1 is empty but total_count is 246"):
        list_from(lambda *a: (200, {"data": [], "total_count": 246}))


def test_a_total_smaller_than_what_is_listed_is_refused():
    items = replicas(150)
    with pytest.raises(InconsistentListError, match="total_count is 1"):
        list_from(paged(items, total=1))


def test_an_empty_page_in_the_middle_is_refused():
    items = replicas(250)

    def handler(method, path, query, body):
        if query["page"] == "2":
            return 200, {"data": [], "total_count": 250}
        return paged(items)(method, path, query, body)

    with pytest.raises(InconsistentListError, match="page 2 is empty after 100 of 250"):
        list_from(handler)


def test_a_server_that_ignores_page_is_refused_after_one_window():
    items = replicas(2000)
    with FakeServer(lambda m, p, q, b: (200, {"data": items[:100], "total_count": 2000})) as s:
        with client(s.url, max_concurrency=4) as c, pytest.raises(InconsistentListError, match="repeats"):
            c.list_replicas()
        assert len(s.lists()) <= 1 + 4  # page 1 and one window, not 20 pages


def test_an_absurd_total_is_refused_without_fetching_pages():
    with FakeServer(lambda m, p, q, b: (200, {"data": replicas(100), "total_count": 10**12})) as s:
        with client(s.url) as c, pytest.raises(InconsistentListError, match="pages"):
            c.list_replicas()
        assert len(s.lists()) == 1  # the behaviour: one request, no page fetched (timing belongs in bench/)


def test_pages_are_fetched_in_windows_of_the_concurrency_limit_and_sized_by_what_the_server_serves():
    items = replicas(1234)
    with FakeServer(paged(items, max_page=10)) as s:
        with client(s.url, max_concurrency=4) as c:
            got = c.list_replicas()
        assert [r.replica_id for r in got] == [i["replica_id"] for i in items]
        assert s.max_in_flight <= 4
        limits = {q["limit"] for _, _, q in s.lists()[1:]}
        assert limits == {"10"}  # sized by what page 1 really held, not by what was asked
        assert len(s.lists()) == 124  # ceil(1234 / 10), the last one short: no more


def test_a_listing_ends_when_total_count_items_are_seen():
    items = replicas(200)
    with FakeServer(paged(items)) as s, client(s.url) as c:
        assert len(c.list_replicas()) == 200
        assert [q["page"] for _, _, q in s.lists()] == ["1", "2"]  # documented: no empty page to confirm


def test_more_items_than_the_total_on_a_later_page_are_refused():
    items = replicas(150)
    with pytest.raises(InconsistentListError, match="more than total_count 120"):
        list_from(paged(items, total=120))


def test_a_total_that_changes_once_is_read_again_twice_is_refused():
    items = replicas(250)
    calls = {"n": 0}

    def changes_once(method, path, query, body):
        calls["n"] += 1
        return paged(items, total=251 if calls["n"] == 2 else 250)(method, path, query, body)

    with FakeServer(changes_once) as s, client(s.url, max_concurrency=1) as c:
        assert len(c.list_replicas()) == 250
    with pytest.raises(InconsistentListError, match="kept changing"):
        list_from(lambda m, p, q, b: paged(items, total=250 + int(q["page"]))(m, p, q, b))


def test_a_server_that_ignores_replica_ids_is_filtered_client_side():
    items = replicas(3)
    with FakeServer(paged(items)) as s, client(s.url) as c:
        got = c.list_replicas(ids=[items[1]["replica_id"], "rnope"])
    assert [r.replica_id for r in got] == [items[1]["replica_id"]]


def test_a_trickled_body_cannot_stretch_a_call_past_its_deadline():
    body = json.dumps({"data": [], "total_count": 0}).encode()
    with pytest.raises(RetriesExhaustedError, match="timed out") as info:
        list_from(lambda *a: (200, trickle(body, 0.3)), timeout=1.0, retry_budget=2.0, max_attempts=6)
    # the behaviour, not a clock (issue 24): each attempt is cut at its 1 s deadline and the call at its 2 s one,
    # so the six attempts allowed are never all made (the trickle alone would take 8 s per attempt)
    assert attempts(info.value) < 6, str(info.value)


@pytest.mark.parametrize("method", ["get", "delete"])
def test_the_documented_400_invalid_replica_id_is_gone(method):
    handler = lambda *a: (400, {"error": "Invalid replica_id"})  # noqa: E731
    with FakeServer(handler) as s, client(s.url) as c, pytest.raises(NotFoundError, match="Invalid replica_id"):
        getattr(c, f"{method}_replica")("rgone")


def test_other_400s_stay_errors():
    from reconciler.errors import BadRequestError

    handler = lambda *a: (400, {"error": "stock replicas cannot be deleted"})  # noqa: E731
    with FakeServer(handler) as s, client(s.url) as c, pytest.raises(BadRequestError):
        c.delete_replica("rstock")


@pytest.mark.parametrize("url,ok", [
    ("http://127.0.0.1:8080", True), ("http://localhost:1", True), ("http://[::1]:9", True),
    ("http://127.5.6.7", True), ("https://tavusapi.com", True),
    ("http://tavusapi.com", False), ("http://10.0.0.1", False), ("http://localhost.evil.com", False),
])
def test_plain_http_is_refused_unless_loopback(url, ok):
    env = {"TAVUS_API_KEY": KEY, "TAVUS_API_URL": url}
    if ok:
        TavusClient.from_env(environ=env).close()
    else:
        with pytest.raises(UsageError, match="use https://"):
            TavusClient.from_env(environ=env)


def test_concurrent_listings_never_exceed_the_limit_each():
    items = replicas(500)
    with FakeServer(paged(items, max_page=10)) as s, client(s.url, max_concurrency=3) as c:
        threads = [threading.Thread(target=c.list_replicas) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert s.max_in_flight <= 2 * 3


def test_trickled_headers_cannot_stretch_a_call_either():
    import socketserver

    answer = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 31\r\n"
              b"x-padding: " + b"a" * 200 + b"\r\n\r\n" + b'{"data": [], "total_count": 0}\n')

    class Trickle(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.recv(65536)
            try:
                for i in range(len(answer)):
                    self.request.sendall(answer[i:i + 1])
                    time.sleep(0.2)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    server.handle_error = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(RetriesExhaustedError, match="timed out") as info:
            list_from(lambda *a: None, timeout=1.0, retry_budget=2.0, max_attempts=6,
                      url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert attempts(info.value) < 6, str(info.value)  # the headers alone take 50 s at this pace
