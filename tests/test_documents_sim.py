"""kinds/documents/sim.py: the simulator's documents as documented (0-based pages, 404 body, plain-JSON PATCH,
asynchronous processing, download failures, recrawl)."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.kinds.documents import sim as docs
from reconciler.sim.sim_account import ApiError


class Sim:
    def __init__(self):
        self._lock = threading.Lock()


@pytest.fixture
def sim():
    return Sim()


def call(sim, method, path, query=None, body=None):
    parts = [p for p in path.split("/") if p]
    allowed = docs.check_route(parts, ApiError)
    assert method in allowed
    raw = json.dumps(body).encode() if body is not None else b""
    return docs.handle(sim, method, parts, query or {}, raw, ApiError)


def create(sim, name, url="https://docs.example.com/a.pdf", **kw):
    return call(sim, "POST", "/v2/documents", body={"document_name": name, "document_url": url, **kw})[1]


def test_routes():
    assert docs.check_route(["v2", "documents"], ApiError) == ("GET", "POST")
    assert docs.check_route(["v2", "documents", "d1", "recrawl"], ApiError) == ("POST",)
    with pytest.raises(ApiError) as e:
        docs.check_route(["v2", "documents", "d1", "x"], ApiError)
    assert e.value.status == 404


def test_create_processes_asynchronously(sim):
    docs.configure(sim, process_seconds=3600)
    made = create(sim, "hb", tags=["hiring"], crawl={"depth": 2, "max_pages": 20})
    assert made["status"] == "started" and made["document_id"].startswith("d")
    assert made["crawl_config"] == {"depth": 2, "max_pages": 20} and "crawl" not in made
    got = call(sim, "GET", f"/v2/documents/{made['document_id']}")[1]
    assert got["status"] in ("started", "processing") and got["tags"] == ["hiring"]
    docs.configure(sim, process_seconds=0)
    assert call(sim, "GET", f"/v2/documents/{made['document_id']}")[1]["status"] == "ready"


def test_a_download_that_fails(sim):
    made = create(sim, "bad", url="https://nowhere.invalid/a.pdf")
    got = call(sim, "GET", f"/v2/documents/{made['document_id']}")[1]
    assert got["status"] == "error" and got["error_message"] == "file_download_failed"
    docs.fail_url(sim, "https://docs.example.com/x.pdf")
    made = create(sim, "bad2", url="https://docs.example.com/x.pdf")
    assert docs.documents(sim)[-1]["status"] == "error"


def test_create_is_validated(sim):
    for body, words in ((None, "JSON object"), ({"document_name": "x"}, "document_url is required"),
                        ({"document_url": "u", "crawl": {"depth": 11}}, "crawl.depth"),
                        ({"document_url": "u", "tags": "x"}, "tags")):
        with pytest.raises(ApiError) as e:
            call(sim, "POST", "/v2/documents", body=body)
        assert e.value.status == 400 and words in e.value.message


def test_listing_is_zero_based_and_capped(sim):
    for i in range(25):
        create(sim, f"doc-{i:02d}")
    first = call(sim, "GET", "/v2/documents", {"limit": "10"})[1]
    assert first["total_count"] == 25 and first["page"] == 0
    assert [d["document_name"] for d in first["data"]][:2] == ["doc-24", "doc-23"]  # newest first
    page0 = call(sim, "GET", "/v2/documents", {"limit": "10", "page": "0"})[1]
    page1 = call(sim, "GET", "/v2/documents", {"limit": "10", "page": "1"})[1]
    assert page0["data"] == first["data"] and page1["data"][0]["document_name"] == "doc-14"
    last = call(sim, "GET", "/v2/documents", {"limit": "10", "page": "2"})[1]
    assert len(last["data"]) == 5
    assert call(sim, "GET", "/v2/documents", {"limit": "1000"})[1]["limit"] == docs.MAX_PAGE
    assert call(sim, "GET", "/v2/documents", {"sort": "asc"})[1]["data"][0]["document_name"] == "doc-00"
    with pytest.raises(ApiError):
        call(sim, "GET", "/v2/documents", {"page": "-1"})


def test_listing_filters(sim):
    a = create(sim, "Handbook", tags=["hiring"])
    create(sim, "faq", tags=["support"])
    assert [d["document_name"] for d in call(sim, "GET", "/v2/documents", {"tags": "hiring"})[1]["data"]] == [
        "Handbook"]
    assert call(sim, "GET", "/v2/documents", {"name_or_uuid": "handb"})[1]["total_count"] == 1
    assert call(sim, "GET", "/v2/documents", {"name_or_uuid": a["document_id"]})[1]["total_count"] == 1
    assert call(sim, "GET", "/v2/documents", {"status": "ready"})[1]["total_count"] == 2


def test_patch_takes_plain_json_name_and_tags_only(sim):
    did = create(sim, "hb")["document_id"]
    status, doc = call(sim, "PATCH", f"/v2/documents/{did}", body={"document_name": "hb2", "tags": ["x"]})
    assert status == 200 and doc["document_name"] == "hb2" and doc["tags"] == ["x"]
    for body in ({"document_url": "https://x.example/b.pdf"}, [{"op": "replace", "path": "/tags", "value": []}]):
        with pytest.raises(ApiError) as e:
            call(sim, "PATCH", f"/v2/documents/{did}", body=body)
        assert e.value.status == 400


def test_unknown_ids_answer_404_document_not_found(sim):
    for method in ("GET", "PATCH", "DELETE"):
        with pytest.raises(ApiError) as e:
            call(sim, method, "/v2/documents/dnope", body={})
        assert e.value.status == 404 and e.value.payload == {"message": "Document not found"}


def test_delete(sim):
    did = create(sim, "hb")["document_id"]
    assert call(sim, "DELETE", f"/v2/documents/{did}") == (204, None)
    assert docs.documents(sim) == []


def test_recrawl(sim):
    docs.configure(sim, process_seconds=3600)
    did = create(sim, "site", url="https://acme.example/", crawl={"depth": 1})["document_id"]
    with pytest.raises(ApiError) as e:
        call(sim, "POST", f"/v2/documents/{did}/recrawl")
    assert e.value.status == 409  # still processing
    docs.finish(sim, did)
    assert call(sim, "POST", f"/v2/documents/{did}/recrawl")[0] == 202
    assert docs.documents(sim)[0]["status"] == "recrawling"
    docs.finish(sim, did)
    with pytest.raises(ApiError) as e:
        call(sim, "POST", f"/v2/documents/{did}/recrawl")
    assert e.value.status == 429  # the 1-hour cooldown


def test_route_loses_a_dropped_answer_but_creates(sim):
    from reconciler.sim.routes import Drop, Faults

    body = json.dumps({"document_name": "hb", "document_url": "https://x.example/a.pdf"}).encode()
    with pytest.raises(Drop):
        docs.route(sim, "POST", ["v2", "documents"], {}, body, Faults(drop=True))
    assert [d["document_name"] for d in docs.documents(sim)] == ["hb"]
    did = docs.documents(sim)[0]["document_id"]
    status, payload, _ctype, _h = docs.route(sim, "DELETE", ["v2", "documents", did], {}, b"", Faults())
    assert (status, payload) == (204, b"")


def test_control(sim):
    assert docs.control(sim, "GET", ["", "_sim", "replicas"], b"") is None
    made = docs.control(sim, "POST", ["", "_sim", "documents"], json.dumps({"document_name": "x",
                                                                             "status": "processing"}).encode())[1]
    assert docs.control(sim, "POST", ["", "_sim", "documents", made["document_id"], "finish"],
                        json.dumps({"status": "error", "error_message": "file_download_failed"}).encode())[0] == 200
    assert docs.control(sim, "GET", ["", "_sim", "documents"], b"")[1][0]["status"] == "error"
    assert docs.control(sim, "POST", ["", "_sim", "documents", "nope", "finish"], b"")[0] == 404


def test_seeded_documents(sim):
    docs.add_document(sim, document_id="d1", document_name="seeded", document_url="https://x.example/a.pdf")
    assert call(sim, "GET", "/v2/documents/d1")[1]["status"] == "ready"
    docs.finish(sim, "d1", "error", "file_download_failed")
    assert call(sim, "GET", "/v2/documents/d1")[1]["error_message"] == "file_download_failed"
