"""TavusClient against an in-memory transport: retries, pagination, error mapping, safe creates, no key leaks."""

from __future__ import annotations

import logging
import threading

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.api.client import API_PREFIX, TavusClient
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
    UsageError,
)

KEY = "client-test-secret-key-42"


class FakeApi:
    """A tiny in-memory account behind httpx.MockTransport. ``script`` maps a request number (1-based) or
    a (method, path) to a canned answer or an exception, to inject faults."""

    def __init__(self, n=0, max_page=100):
        self.replicas = [{"replica_id": f"r{i:04d}", "replica_name": f"n{i}", "status": "completed",
                          "replica_type": "user"} for i in range(n)]
        self.max_page = max_page
        self.log: list[httpx.Request] = []
        self.faults: list = []  # consumed in order, one per request; None = behave
        self.lock = threading.Lock()

    def client(self, **kw) -> TavusClient:
        kw.setdefault("backoff_base", 0.0)
        kw.setdefault("create_settle", 0.0)
        return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(self.handle),
                           sleep=lambda s: None, **kw)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.log.append(request)
            fault = self.faults.pop(0) if self.faults else None
        assert request.headers["x-api-key"] == KEY
        assert request.headers["user-agent"].startswith("tavus-reconciler/")
        if isinstance(fault, Exception):
            raise fault
        if isinstance(fault, httpx.Response):
            return fault
        path, q = request.url.path, request.url.params
        if request.method == "GET" and path == API_PREFIX:
            items = self.replicas
            if "replica_ids" in q:
                wanted = set(q["replica_ids"].split(","))
                items = [r for r in items if r["replica_id"] in wanted]
            size = min(int(q["limit"]), self.max_page)
            page = int(q["page"])
            return httpx.Response(200, json={"data": items[(page - 1) * size: page * size],
                                             "total_count": len(items)})
        if request.method == "POST":
            body = httpx.Request("POST", "/", content=request.content).read()
            import json

            payload = json.loads(body)
            rid = f"rnew{len(self.replicas):04d}"
            self.replicas.insert(0, {"replica_id": rid, "replica_name": payload["replica_name"],
                                     "status": "started"})
            if fault == "drop":
                raise httpx.ReadTimeout("lost", request=request)
            return httpx.Response(200, json={"replica_id": rid, "status": "started"})
        return httpx.Response(200, json={"message": "ok"})


def lists(api):
    return [r for r in api.log if r.method == "GET" and r.url.path == API_PREFIX]


# the documented end: total_count items seen, every page agreeing on the total (a full last page needs no
# empty one after it); pages are rounded up (101 items are 2 pages, never 1)
@pytest.mark.parametrize("n,max_page,pages", [(0, 100, 1), (100, 100, 1), (101, 100, 2), (250, 100, 3),
                                              (250, 40, 7), (1000, 100, 10), (1001, 100, 11)])
def test_listing_costs_one_request_per_page(n, max_page, pages):
    api = FakeApi(n, max_page)
    with api.client() as c:
        got = c.list_replicas()
    assert [r.replica_id for r in got] == [r["replica_id"] for r in api.replicas]
    assert len(lists(api)) == pages == c.request_count
    assert all(r.url.params["verbose"] == "true" and r.url.params["replica_type"] == "user" for r in lists(api))


def test_a_listing_that_shifts_while_read_is_restarted():
    api = FakeApi(250)
    shifted = {"done": False}
    original = api.handle

    def handle(request):
        if request.url.params.get("page") == "2" and not shifted["done"]:
            shifted["done"] = True
            api.replicas.insert(0, {"replica_id": "rzzz", "replica_name": "new", "status": "started"})
        return original(request)

    with TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handle)) as c:
        got = c.list_replicas()
    assert len(got) == 251 and len({r.replica_id for r in got}) == 251


def test_a_total_needing_one_page_past_the_limit_is_refused_after_the_first_page():
    """Mutation (issue 24): the planned page count rounds up. A total_count of MAX_PAGES full pages plus one
    item needs MAX_PAGES + 1 pages: refused on the first answer, without reading another page."""
    from reconciler.api.client import MAX_PAGES

    def handle(request):
        return httpx.Response(200, json={"data": [{"replica_id": "r1", "replica_name": "a", "status": "completed"},
                                                  {"replica_id": "r2", "replica_name": "b", "status": "completed"}],
                                         "total_count": 2 * MAX_PAGES + 1})

    with TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handle), page_size=2) as c:
        with pytest.raises(ApiError, match=f"{MAX_PAGES + 1} pages"):
            c.list_replicas()
        assert c.request_count == 1


def test_ids_filter_is_chunked_by_100():
    api = FakeApi(250)
    with api.client() as c:
        got = c.list_replicas(ids=[r["replica_id"] for r in api.replicas])
    assert len(got) == 250 and len(lists(api)) == 3
    assert all("replica_type" not in r.url.params for r in lists(api))


@pytest.mark.parametrize("answer", [
    httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "1"}),
    httpx.Response(429, json={"message": "slow down"}),
    httpx.Response(500, json={"message": "boom"}),
    httpx.Response(503, text="<html>unavailable</html>"),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
    httpx.Response(200, text="<html>proxy page</html>"),
])
def test_transient_failures_are_retried(answer):
    api = FakeApi(3)
    api.faults = [answer, answer]
    slept = []
    with TavusClient("https://api.test", KEY, transport=httpx.MockTransport(api.handle), sleep=slept.append) as c:
        assert len(c.list_replicas()) == 3
    assert len(api.log) == 3 and len(slept) == 2
    if isinstance(answer, httpx.Response) and "Retry-After" in answer.headers:
        assert slept == [1.0, 1.0]


def test_gives_up_after_max_attempts_with_a_clear_error():
    api = FakeApi(1)
    api.faults = [httpx.ConnectError("refused")] * 10
    with api.client(max_attempts=4) as c, pytest.raises(RetriesExhaustedError) as e:
        c.list_replicas()
    assert len(api.log) == 4 and "gave up after 4 attempt(s)" in str(e.value) and "ConnectError" in str(e.value)


def test_a_retry_after_beyond_the_budget_gives_up_at_once():
    api = FakeApi(1)
    api.faults = [httpx.Response(429, headers={"Retry-After": "3600"})] * 3
    with api.client(retry_budget=60) as c, pytest.raises(RetriesExhaustedError) as e:
        c.list_replicas()
    assert len(api.log) == 1 and "retry budget" in str(e.value)


@pytest.mark.parametrize("status,error,text", [
    (401, AuthError, "authentication failed: check TAVUS_API_KEY"),
    (403, AuthError, "authentication failed: check TAVUS_API_KEY"),
    (404, NotFoundError, "replica not found"),
    (400, BadRequestError, "HTTP 400: replica not found"),
])
def test_client_errors_are_typed_and_not_retried(status, error, text):
    api = FakeApi()
    api.faults = [httpx.Response(status, json={"message": "replica not found"})]
    with api.client() as c, pytest.raises(error) as e:
        c.get_replica("r1")
    assert text in str(e.value) and len(api.log) == 1
    assert str(e.value).startswith("GET /v2/replicas/r1: ")


@pytest.mark.parametrize("body", [{"data": "nope"}, {"data": [{"replica_name": "no id"}]}, ["a list"]])
def test_malformed_answers_are_a_clear_error(body):
    api = FakeApi()
    api.faults = [httpx.Response(200, json=body)]
    with api.client() as c, pytest.raises(MalformedResponseError):
        c.list_replicas()


def test_tolerant_of_missing_optional_fields_and_unknown_ones():
    api = FakeApi()
    api.faults = [httpx.Response(200, json={"data": [{"face_id": "r1", "face_name": "x", "shiny": True}]})]
    with api.client() as c:
        (r,) = c.list_replicas()
    assert (r.replica_id, r.name, r.status) == ("r1", "x", "started")


def test_path_ids_are_escaped():
    api = FakeApi()
    with api.client() as c:
        c.delete_replica("../../v2/other?x=1")
    assert api.log[0].url.raw_path == b"/v2/replicas/..%2F..%2Fv2%2Fother%3Fx%3D1"


@pytest.mark.parametrize("lost", [httpx.ReadTimeout("lost"), httpx.RemoteProtocolError("reset"),
                                  httpx.Response(502, json={"message": "bad gateway"})])
def test_a_create_whose_answer_is_lost_is_adopted_not_repeated(lost):
    api = FakeApi(2)
    original = api.handle

    def handle(request):
        if request.method == "POST" and not api.faults and not [r for r in api.log if r.method == "POST"]:
            original(request)  # the server acts...
            if isinstance(lost, Exception):
                raise lost  # ...and the answer is lost
            api.log.append(request)
            return lost
        return original(request)

    known = {r["replica_id"] for r in api.replicas}
    with TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handle), sleep=lambda s: None) as c:
        rid = c.create_replica({"replica_name": "acme-a", "train_video_url": "https://v/a.mp4"}, known_ids=known)
    assert [r["replica_name"] for r in api.replicas].count("acme-a") == 1
    assert rid == next(r["replica_id"] for r in api.replicas if r["replica_name"] == "acme-a")


def test_a_create_refused_with_429_is_simply_retried():
    api = FakeApi()
    api.faults = [httpx.Response(429)]
    with api.client() as c:
        rid = c.create_replica({"replica_name": "acme-a"}, known_ids=())
    assert [r["replica_name"] for r in api.replicas] == ["acme-a"] and rid == api.replicas[0]["replica_id"]
    assert [r.method for r in api.log] == ["POST", "POST"]  # no listing needed: a 429 was not carried out


def test_a_lost_create_that_did_not_happen_is_retried_once_checked():
    api = FakeApi(1)
    api.faults = [httpx.ReadTimeout("lost before the server saw it")]
    with api.client() as c:
        c.create_replica({"replica_name": "acme-a"}, known_ids={"r0000"})
    assert [r.method for r in api.log] == ["POST", "GET", "POST"]
    assert [r["replica_name"] for r in api.replicas].count("acme-a") == 1


def test_from_env_errors_name_the_variable_and_never_the_key():
    with pytest.raises(UsageError, match="^TAVUS_API_KEY is not set"):
        TavusClient.from_env(environ={})
    with pytest.raises(UsageError, match="TAVUS_RETRY_MAX_ATTEMPTS"):
        TavusClient.from_env(environ={"TAVUS_API_KEY": KEY, "TAVUS_RETRY_MAX_ATTEMPTS": "many"})
    with pytest.raises(UsageError, match="not an http"):
        TavusClient.from_env(environ={"TAVUS_API_KEY": KEY, "TAVUS_API_URL": "ftp://x"})
    with pytest.raises(UsageError) as e:
        TavusClient.from_env(environ={"TAVUS_API_KEY": KEY + "\n"[:0] + "\x07"})
    assert KEY not in str(e.value)
    c = TavusClient.from_env(environ={"TAVUS_API_KEY": KEY, "TAVUS_API_URL": "http://127.0.0.1:1/",
                                      "TAVUS_RETRY_BUDGET_SECONDS": "5"})
    assert c.base_url == "http://127.0.0.1:1" and c.retry_budget == 5 and KEY not in repr(c)


def test_verbose_log_has_method_path_status_and_no_key(caplog):
    api = FakeApi(150)
    api.faults = [httpx.Response(500, json={"message": f"echoing your key {KEY}"})]
    with caplog.at_level(logging.DEBUG, logger="reconciler"), api.client() as c:
        c.list_replicas()
        with pytest.raises(AuthError) as e:
            api.faults = [httpx.Response(401, json={"message": f"bad key {KEY}"})]
            c.get_replica("r1")
    assert KEY not in caplog.text and KEY not in str(e.value)
    assert "GET /v2/replicas -> 500" in caplog.text and "GET /v2/replicas -> 200" in caplog.text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([200, 429, 500, 502, 503, 504]), max_size=5), st.integers(1, 6))
def test_any_fault_sequence_ends_in_success_or_a_typed_error(statuses, attempts):
    api = FakeApi(5)
    api.faults = [None if s == 200 else httpx.Response(s) for s in statuses]
    with api.client(max_attempts=attempts) as c:
        try:
            assert len(c.list_replicas()) == 5
            ok = True
        except ApiError:
            ok = False
    first_success = next((i for i, s in enumerate(statuses) if s == 200), len(statuses))
    assert ok == (first_success < attempts)


# ------------------------------------------------------------------------------ over real HTTP, on the simulator


@pytest.fixture
def sim():
    from reconciler.sim.simulator import Simulator

    with Simulator(api_key=KEY, train_seconds=60, stock_replicas=True) as s:
        yield s


def real(sim, **kw) -> TavusClient:
    kw.setdefault("backoff_base", 0.001)
    return TavusClient(sim.url, KEY, **kw)


def v2(sim):
    return [r for r in sim.requests if r["path"].startswith("/v2/")]


@pytest.mark.parametrize("n,pages", [(0, 1), (1, 1), (100, 1), (101, 2), (250, 3)])  # total_count seen: the end
def test_pagination_over_http(sim, n, pages):
    for i in range(n):
        sim.add_replica(replica_name=f"r-{i}", status="completed")
    with real(sim) as c:
        got = c.list_replicas()
        assert sorted(r.name for r in got) == sorted(f"r-{i}" for i in range(n))
        assert len(v2(sim)) == pages == c.request_count
        every = c.list_replicas(replica_type=None)
        assert len(every) == n + len([r for r in every if r.replica_type == "system"]) and len(every) > n


@pytest.mark.parametrize("faults", [dict(rate_limit=1.0, retry_after=0), dict(rate_limit=1.0, retry_after=None),
                                    dict(server_error=1.0), dict(malformed=1.0)])
def test_every_retry_path_over_http(sim, faults):
    sim.add_replica(replica_name="a", status="completed")
    sim.set_faults(**faults)
    with real(sim, max_attempts=3) as c, pytest.raises(RetriesExhaustedError, match="gave up after 3 attempt"):
        c.list_replicas()
    assert len(v2(sim)) == 3
    sim.set_faults(fail_next=2)
    with real(sim, max_attempts=3) as c:
        assert [r.name for r in c.list_replicas()] == ["a"]


def test_lost_create_responses_over_http_make_exactly_one_replica(sim):
    sim.set_faults(drop_create_response=1.0)
    with real(sim) as c:
        rid = c.create_replica({"replica_name": "acme-a", "train_video_url": sim.video_url("a.mp4")}, known_ids=())
    assert [(r["replica_name"], r["replica_id"]) for r in sim.replicas()] == [("acme-a", rid)]
    assert [r["method"] for r in v2(sim)] == ["POST", "GET"]  # the lost answer, then the listing that adopts


def test_error_messages_over_http(sim, caplog):
    with caplog.at_level(logging.DEBUG, logger="reconciler"):
        with TavusClient(sim.url, "wrong-key") as bad, pytest.raises(AuthError, match="check TAVUS_API_KEY"):
            bad.list_replicas()
        with real(sim) as c:
            with pytest.raises(NotFoundError, match="Invalid replica_id"):
                c.get_replica("r0000000000")
            with pytest.raises(BadRequestError, match="HTTP 400"):
                c.create_replica({"replica_name": "x", "model_name": "phoenix-9", "train_video_url": "https://v/x"})
            with pytest.raises(BadRequestError, match="HTTP 400"):
                c.delete_replica(next(r for r in sim.replicas(include_system=True)
                                      if r["replica_type"] == "system")["replica_id"])
    assert "GET /v2/replicas -> 401" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize("given", ["https://tavusapi.com", "https://tavusapi.com/", "https://tavusapi.com/v2",
                                   "https://tavusapi.com/v2/", " https://tavusapi.com/v2 "])
def test_api_url_with_or_without_v2(given):
    client = TavusClient.from_env(api_url=given, environ={"TAVUS_API_KEY": "k"})
    try:
        assert client.base_url == "https://tavusapi.com"
    finally:
        client.close()


def test_api_url_keeps_a_path_prefix():
    client = TavusClient.from_env(api_url="https://proxy.example.com/tavus/v2/", environ={"TAVUS_API_KEY": "k"})
    try:
        assert client.base_url == "https://proxy.example.com/tavus"
    finally:
        client.close()


# ------------------------------------------------------------------------------------------ issue 29: paging


def test_a_planned_page_count_rounds_up():
    from reconciler.api.client import planned_pages

    assert [planned_pages(n, 100) for n in (0, 1, 99, 100, 101, 199, 200, 201)] == [0, 1, 1, 1, 2, 2, 2, 3]
    assert planned_pages(7, 3) == 3 and planned_pages(6, 3) == 2


def _paged_transport(n: int, on_page=None, total: bool = True):
    items = [{"replica_id": f"r{i:06d}", "replica_name": f"n-{i}", "status": "completed"} for i in range(n)]

    def handle(request: httpx.Request) -> httpx.Response:
        size, page = int(request.url.params["limit"]), int(request.url.params["page"])
        if on_page is not None:
            on_page(page)
        body = {"data": items[(page - 1) * size: page * size]}
        if total:
            body["total_count"] = n
        return httpx.Response(200, json=body)

    return httpx.MockTransport(handle)


def test_once_page_1_has_told_the_total_every_other_page_goes_out_at_once():
    """5,001 replicas at 100 a page: after page 1, pages 2-51 are all on the wire together (each waits here
    until the fifty have arrived): one round trip for the rest of the listing, not a slow start or windows
    (and the 51st page is planned: the count rounds up)."""
    together = threading.Barrier(50, timeout=20)
    pages = []

    def on_page(page: int) -> None:
        pages.append(page)
        if page > 1:
            together.wait()  # breaks (and the listing fails) unless all fifty are in flight at once

    with TavusClient("https://api.test", KEY, transport=_paged_transport(5001, on_page), max_attempts=1) as c:
        assert len(c.list_replicas()) == 5001
    assert sorted(pages) == list(range(1, 52))


def test_a_listing_without_total_count_is_refused_in_bounded_time_with_one_line():
    endless = _paged_transport(10**6, total=False)
    from reconciler.errors import InconsistentListError

    with TavusClient("https://api.test", KEY, transport=endless) as c:
        c.no_total_seconds = 0.3
        with pytest.raises(InconsistentListError) as e:
            c.list_replicas()
    message = str(e.value)
    assert "no end after" in message and "0.3s" in message and "total_count" in message and "\n" not in message
    assert c.request_count < 5000
