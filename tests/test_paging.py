"""reconciler.api.paging: pages counted from the collection's first page, every page or a typed error, a total
that changes restarts the listing once, a listing without a total ends on an empty page."""

from __future__ import annotations

import httpx
import pytest

from reconciler.api.client import TavusClient
from reconciler.api.listing import Listing
from reconciler.errors import InconsistentListError, MalformedResponseError

KEY = "paging-test-key-0123456789"
ZERO = Listing(path="/v2/zero", noun="thing", id_field="id", name_field="name", first_page=0,
               params={"legacy": "false"})


def client(handler, **kw):
    kw.setdefault("backoff_base", 0.0)
    return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handler), sleep=lambda s: None, **kw)


def serve(items, *, base=1, total=None, max_page=100, log=None):
    def handler(request):
        q = request.url.params
        if log is not None:
            log.append(dict(q))
        size, page = min(int(q["limit"]), max_page), int(q["page"]) - base
        return httpx.Response(200, json={"data": items[page * size:(page + 1) * size],
                                         "total_count": len(items) if total is None else total})
    return handler


def things(n):
    return [{"id": f"t{i}", "name": f"n{i}"} for i in range(n)]


def test_a_zero_based_listing_sends_its_own_page_numbers_and_fixed_params():
    log: list = []
    with client(serve(things(250), base=0, max_page=100, log=log)) as c:
        got = c.list_objects(ZERO)
    assert len(got) == 250 and sorted(q["page"] for q in log) == ["0", "1", "2"]
    assert all(q["legacy"] == "false" for q in log)


def test_a_one_based_server_read_as_zero_based_is_refused_not_short():
    """Reading page 0 of a 1-based server (which answers page 1 twice) repeats items: refused, never a plan."""
    def one_based(request):
        q = request.url.params
        page = max(1, int(q["page"]))
        return httpx.Response(200, json={"data": things(150)[(page - 1) * 100:page * 100], "total_count": 150})

    with client(one_based) as c, pytest.raises(InconsistentListError, match="repeats"):
        c.list_objects(ZERO)


def test_a_capped_page_size_is_followed():
    log: list = []
    with client(serve(things(95), base=0, max_page=10, log=log)) as c:
        assert len(c.list_objects(ZERO)) == 95
    assert len(log) == 10


def test_a_total_that_keeps_changing_is_refused():
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        return httpx.Response(200, json={"data": things(100)[:10] if request.url.params["page"] == "0" else [],
                                         "total_count": 50 + calls["n"]})

    with client(handler) as c, pytest.raises(InconsistentListError, match="kept changing"):
        c.list_objects(ZERO)


def test_without_a_total_pages_are_read_until_an_empty_one():
    items = things(25)

    def handler(request):
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"data": items[page * 10:(page + 1) * 10]})

    with client(handler, page_size=10) as c:
        assert [t["id"] for t in c.list_objects(ZERO)] == [t["id"] for t in items]


def test_an_answer_without_data_is_malformed():
    with client(lambda r: httpx.Response(200, json={"items": []})) as c, pytest.raises(MalformedResponseError):
        c.list_objects(ZERO)


def test_a_page_partly_seen_adds_only_its_new_items_and_one_wholly_seen_is_refused():
    """The fast lane (a page all new) and the slow one (some of it seen: a listing shifted by a create) keep
    the same items (issue 29 split them)."""
    with client(serve(things(1))) as c:
        seen = {"t0": "old"}
        c._take_page(2, [{"id": "t0"}, {"id": "t1"}, {"id": "t1"}], seen, 5, ZERO)
        assert seen == {"t0": "old", "t1": {"id": "t1"}}
        c._take_page(3, [{"id": "t2"}, {"id": "t3"}], seen, 5, ZERO)
        assert list(seen) == ["t0", "t1", "t2", "t3"]
        with pytest.raises(InconsistentListError, match="repeats"):
            c._take_page(4, [{"id": "t2"}, {"id": "t3"}], seen, 5, ZERO)
        with pytest.raises(InconsistentListError, match="more than total_count"):
            c._take_page(4, [{"id": "t4"}, {"id": "t5"}], seen, 5, ZERO)
