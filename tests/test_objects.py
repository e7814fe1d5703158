"""The generic calls a kind makes (reconciler.api.objects), against an in-memory collection described only
by data: a 0-based listing (documents), fixed params and ids in ``uuid`` (guardrails), lost create answers,
JSON Patch and plain JSON patches, deletes of what is already gone."""

from __future__ import annotations

import json

import httpx
import pytest

from reconciler.api.client import TavusClient
from reconciler.api.listing import Listing
from reconciler.errors import CreateOutcomeUnknownError, InvalidPatchError, NotFoundError

KEY = "objects-test-key-0123456789"
DOCUMENTS = Listing(path="/v2/documents", noun="document", id_field="document_id", name_field="document_name",
                    first_page=0)
GUARDRAILS = Listing(path="/v2/guardrails", noun="guardrail", id_field="guardrail_id",
                     name_field="guardrail_name", params={"legacy": "false"}, id_aliases=("uuid",))


class Collection:
    """One collection on a fake account: pages from ``base``; ids answered in ``id_key``."""

    def __init__(self, path, id_key, name_key, n=0, base=1, max_page=100, need=None):
        self.path, self.id_key, self.name_key, self.base, self.max_page = path, id_key, name_key, base, max_page
        self.need = need or {}  # query params a listing must carry, or it answers something else
        self.items = [{id_key: f"x{i:04d}", name_key: f"n{i}"} for i in range(n)]
        self.log: list[httpx.Request] = []
        self.faults: list = []
        self.answer: httpx.Response | None = None

    def client(self, **kw) -> TavusClient:
        kw.setdefault("backoff_base", 0.0)
        kw.setdefault("create_settle", 0.0)
        return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(self.handle),
                           sleep=lambda s: None, **kw)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, httpx.Response):
            return fault
        if request.method == "GET" and request.url.path == self.path:
            return self.page(request.url.params)
        if request.method == "POST":
            payload = json.loads(request.content)
            item = {self.id_key: f"new{len(self.items)}", self.name_key: payload[self.name_key]}
            self.items.insert(0, item)
            if isinstance(fault, Exception):
                raise fault
            return httpx.Response(200, json={self.id_key: item[self.id_key]})
        return self.answer or httpx.Response(200, json={"ok": True})

    def page(self, q) -> httpx.Response:
        if any(q.get(k) != v for k, v in self.need.items()):
            return httpx.Response(200, json={"data": [{"name": "legacy set", "data": []}], "total_count": 1})
        size, page = min(int(q["limit"]), self.max_page), int(q["page"]) - self.base
        if page < 0:
            return httpx.Response(400, json={"error": "page out of range"})
        return httpx.Response(200, json={"data": self.items[page * size:(page + 1) * size],
                                         "total_count": len(self.items)})


def documents(n=0, **kw):
    return Collection("/v2/documents", "document_id", "document_name", n, base=0, **kw)


def guardrails(n=0, **kw):
    return Collection("/v2/guardrails", "uuid", "guardrail_name", n, need={"legacy": "false"}, **kw)


def test_a_zero_based_listing_reads_every_page_from_page_0():
    api = documents(250, max_page=100)
    with api.client() as c:
        got = c.list_objects(DOCUMENTS)
    assert [d["document_id"] for d in got] == [d["document_id"] for d in api.items]
    assert sorted(r.url.params["page"] for r in api.log) == ["0", "1", "2"]


def test_fixed_params_and_an_id_in_uuid_are_honoured():
    api = guardrails(3)
    with api.client() as c:
        got = c.list_objects(GUARDRAILS, params={"tags": "a"})
    assert [g["guardrail_id"] for g in got] == ["x0000", "x0001", "x0002"]
    assert api.log[0].url.params["legacy"] == "false" and api.log[0].url.params["tags"] == "a"


def test_a_create_answer_with_the_id_in_uuid_is_read():
    api = guardrails(0)
    with api.client() as c:
        assert c.create_object(GUARDRAILS, {"guardrail_name": "g"}) == "new0"


def test_a_lost_create_answer_is_adopted_from_the_listing_never_sent_twice():
    api = documents(5)
    api.faults = [httpx.ReadTimeout("lost")]
    with api.client() as c:
        got = c.create_object(DOCUMENTS, {"document_name": "kb", "document_url": "https://x"},
                              known_ids=[d["document_id"] for d in api.items])
    assert got == "new5"
    assert [r.method for r in api.log] == ["POST", "GET"]


def test_a_lost_create_answer_whose_check_fails_is_unknown_not_retried():
    api = documents(1)
    api.faults = [httpx.ReadTimeout("lost")] + [httpx.Response(500, json={})] * 20
    with api.client(max_attempts=2) as c, pytest.raises(CreateOutcomeUnknownError):
        c.create_object(DOCUMENTS, {"document_name": "kb"})
    assert [r.method for r in api.log].count("POST") == 1


@pytest.mark.parametrize("body,sent", [({"document_name": "b"}, {"document_name": "b"}),
                                       ([{"op": "replace", "path": "/tags", "value": []}],
                                        [{"op": "replace", "path": "/tags", "value": []}])])
def test_patch_sends_plain_json_or_json_patch(body, sent):
    api = documents(1)
    with api.client() as c:
        assert c.patch_object(DOCUMENTS, "x0000", body) is True
    assert api.log[0].method == "PATCH" and api.log[0].url.path == "/v2/documents/x0000"
    assert json.loads(api.log[0].content) == sent


def test_patch_304_is_no_change_and_an_empty_patch_sends_nothing():
    api = documents(1)
    api.answer = httpx.Response(304)
    with api.client() as c:
        assert c.patch_object(DOCUMENTS, "x0000", [{"op": "add", "path": "/a", "value": 1}]) is False
        assert c.patch_object(DOCUMENTS, "x0000", []) is False
    assert len(api.log) == 1


def test_patch_422_is_an_invalid_patch():
    api = documents(1)
    api.answer = httpx.Response(422, json={"message": "bad op"})
    with api.client() as c, pytest.raises(InvalidPatchError):
        c.patch_object(GUARDRAILS, "g1", [{"op": "remove", "path": "/x"}])


@pytest.mark.parametrize("answer", [httpx.Response(404, json={"message": "Document not found"}),
                                    httpx.Response(400, json={"error": "Invalid document_id"})])
def test_delete_of_what_is_gone_is_false_and_get_is_not_found(answer):
    api = documents(1)
    api.answer = answer
    with api.client() as c:
        assert c.delete_object(DOCUMENTS, "nope") is False
        with pytest.raises(NotFoundError):
            c.get_object(DOCUMENTS, "nope")


def test_another_400_is_not_taken_for_gone():
    from reconciler.errors import BadRequestError

    api = documents(1)
    api.answer = httpx.Response(400, json={"message": "document_url is required"})
    with api.client() as c, pytest.raises(BadRequestError):
        c.delete_object(DOCUMENTS, "x0000")


@pytest.mark.parametrize("answer", [{"uuid": "g1", "guardrail_name": "a"},
                                    {"data": [{"uuid": "g1", "guardrail_name": "a"}]},
                                    {"data": {"uuid": "g1", "guardrail_name": "a"}}])
def test_get_reads_the_item_bare_or_wrapped_in_data(answer):
    api = guardrails(0)
    api.answer = httpx.Response(200, json=answer)
    with api.client() as c:
        assert c.get_object(GUARDRAILS, "g1") == {"uuid": "g1", "guardrail_id": "g1", "guardrail_name": "a"}
