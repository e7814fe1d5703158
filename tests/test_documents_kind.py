"""kinds/documents/kind.py: identity, the diff (in place / replace / uncomparable), readiness, the API calls."""

from __future__ import annotations

import pytest

from reconciler.engine.kind import (
    Kind,
    WithBlueGreen,
    WithInPlaceUpdate,
    WithListing,
    WithMaskedSecrets,
    WithReadiness,
    WithReplace,
    has,
    listing,
)
from reconciler.engine.status import Phase
from reconciler.kinds.documents.kind import API, DOCUMENTS
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument

URL = "https://docs.example.com/handbook.pdf"


def remote(**kw) -> RemoteDocument:
    base = {"document_id": "d1", "name": "hb", "status": "ready", "document_url": URL, "tags": ("hiring",)}
    return RemoteDocument(**{**base, **kw})


def desired(**kw) -> DesiredDocument:
    return DesiredDocument(**{"name": "hb", "document_url": URL, **kw})


def test_the_api_table():
    assert API.path == "/v2/documents" and API.id_field == "document_id" and API.name_field == "document_name"
    assert API.first_page == 0 and API.patch_style == "json" and "uuid" in API.id_aliases
    assert DOCUMENTS.key == "documents" and DOCUMENTS.references == ()
    assert listing(DOCUMENTS).first_page == 0  # documents page from 0, unlike replicas and personas


def test_the_engine_sees_its_abilities():
    assert isinstance(DOCUMENTS, Kind)
    for ability in (WithInPlaceUpdate, WithReplace, WithBlueGreen, WithReadiness, WithMaskedSecrets, WithListing):
        assert has(DOCUMENTS, ability), ability


def test_identity():
    assert DOCUMENTS.identity(desired()) == ("name", "hb") and DOCUMENTS.name_of(desired()) == "hb"
    assert DOCUMENTS.document(desired()) == {"document_name": "hb", "document_url": URL}
    assert DOCUMENTS.managed(remote()) and DOCUMENTS.remote_name(remote()) == "hb"
    assert DOCUMENTS.identity(desired(document_id="d9")) == ("id", "d9")


def test_nothing_to_do_when_equal():
    r = remote()
    assert DOCUMENTS.replace_reason(desired(tags=("hiring",)), r, ()) is None
    assert DOCUMENTS.in_place_changes(desired(tags=("hiring",)), r) == {}
    assert DOCUMENTS.uncomparable(desired(tags=("hiring",)), r) == ()


def test_tags_update_in_place_as_a_set():
    r = remote(tags=("a", "b"))
    assert DOCUMENTS.in_place_changes(desired(tags=("b", "a")), r) == {}
    assert DOCUMENTS.in_place_changes(desired(tags=("a",)), r) == {"tags": (["a", "b"], ["a"])}
    assert DOCUMENTS.in_place_changes(desired(), r) == {}  # undeclared tags are never compared


def test_a_pinned_document_is_renamed_in_place():
    r = remote(name="old")
    assert DOCUMENTS.in_place_changes(desired(document_id="d1"), r) == {"document_name": ("old", "hb")}


@pytest.mark.parametrize(("kw", "rkw", "why"), [
    ({"document_url": "https://docs.example.com/v2.pdf"}, {}, "document_url changed"),
    ({"crawl": (("depth", 3),)}, {"crawl": (("depth", 2),)}, "crawl changed"),
    ({}, {"status": "error", "error_message": "file_download_failed"}, "processing failed: file_download_failed"),
])
def test_what_forces_a_replace(kw, rkw, why):
    assert why in DOCUMENTS.replace_reason(desired(**kw), remote(**rkw), ())


def test_replace_requested_and_resigned_urls():
    assert "--replace" in DOCUMENTS.replace_reason(desired(), remote(), {"hb"})
    signed = URL + "?X-Amz-Signature=new&X-Amz-Expires=60"
    assert DOCUMENTS.replace_reason(desired(document_url=signed), remote(document_url=URL + "?X-Amz-Signature=o"),
                                    ()) is None


def test_what_the_api_did_not_return_cannot_be_compared():
    r = remote(document_url=None, tags=None)
    d = desired(tags=("x",), crawl=(("depth", 1),))
    assert DOCUMENTS.replace_reason(d, r, ()) is None
    assert DOCUMENTS.in_place_changes(d, r) == {}
    assert DOCUMENTS.uncomparable(d, r) == ("document_url", "tags", "crawl")


def test_patch_body_is_plain_json_of_what_can_change():
    assert DOCUMENTS.patch_body({"tags": (["a"], ("b",)), "document_name": ("o", "n")}) == {
        "tags": ["b"], "document_name": "n"}
    with pytest.raises(ValueError, match="document_url"):
        DOCUMENTS.patch_body({"document_url": ("a", "b")})


def test_readiness():
    assert DOCUMENTS.phase(remote()) is Phase.READY and DOCUMENTS.not_ready(remote()) is None
    assert "still processing (processing, 40%)" in DOCUMENTS.not_ready(remote(status="processing", progress="40"))
    assert "failed processing: file_download_failed" in DOCUMENTS.not_ready(
        remote(status="error", error_message="file_download_failed"))


def test_attributes():
    assert DOCUMENTS.remote_attributes(remote(crawl=(("depth", 2),))) == {
        "document_name": "hb", "status": "ready", "document_url": URL, "tags": ["hiring"], "crawl": {"depth": 2}}
    assert DOCUMENTS.desired_attributes(desired()) == {"document_name": "hb", "document_url": URL}


class FakeClient:
    """The one client's generic calls (reconciler.api.objects), recording what the kind sends."""

    def __init__(self):
        self.calls = []

    def list_objects(self, listing):
        self.calls.append(("list", listing))
        return [remote(), remote(document_id="d2")]

    def get_object(self, listing, oid):
        self.calls.append(("get", oid))
        return remote(document_id=oid)

    def create_object(self, listing, body, *, known_ids=()):
        self.calls.append(("create", body, tuple(known_ids)))
        return "d3"

    def patch_object(self, listing, oid, body):
        self.calls.append(("patch", oid, body))
        return True

    def delete_object(self, listing, oid):
        self.calls.append(("delete", oid))
        return True


@pytest.fixture
def wire(monkeypatch):
    """The client's listing description, stubbed: what matters here is what the kind sends with it."""
    from reconciler.kinds.documents import kind

    monkeypatch.setattr(kind, "_wire", lambda: "documents-listing")


def test_api_calls_go_through_the_one_client(wire):
    c = FakeClient()
    assert [d.document_id for d in DOCUMENTS.list(c, ids=["d2"])] == ["d2"]
    assert c.calls[0] == ("list", "documents-listing")
    assert DOCUMENTS.create(c, desired().create_payload("hb~next~d1"), known_ids={"d1"}) == "d3"
    DOCUMENTS.update(c, "d1", {"tags": ([], ["x"])})
    DOCUMENTS.update(c, "d1", {})  # nothing to send: no request
    DOCUMENTS.rename(c, "d3", "hb")
    DOCUMENTS.delete(c, "d1")
    assert c.calls[1] == ("create", {"document_name": "hb~next~d1", "document_url": URL}, ("d1",))
    assert c.calls[2:] == [("patch", "d1", {"tags": ["x"]}), ("patch", "d3", {"document_name": "hb"}),
                           ("delete", "d1")]


def test_an_unset_url_is_never_compared():
    d = desired(document_url="${HB_URL}", url_unknown=True)
    assert DOCUMENTS.replace_reason(d, remote(), ()) is None
    assert DOCUMENTS.uncomparable(d, remote()) == ("document_url",)


def test_export_entry_pins_and_never_writes_a_signature():
    warnings: list[str] = []
    r = remote(document_url=URL + "?X-Amz-Signature=s3cr3t&X-Amz-Expires=60&v=1", crawl=(("depth", 2),))
    entry = DOCUMENTS.export_entry(r, "hb", warnings)
    assert entry == {"name": "hb", "document_id": "d1", "document_url": URL + "?v=1", "tags": ["hiring"],
                     "crawl": {"depth": 2}}
    assert "s3cr3t" not in str(entry) and len(warnings) == 1 and "presigned" in warnings[0]
    d = desired(document_url=entry["document_url"], document_id="d1", tags=("hiring",), crawl=(("depth", 2),))
    assert DOCUMENTS.replace_reason(d, r, ()) is None and DOCUMENTS.in_place_changes(d, r) == {}
    assert DOCUMENTS.export_entry(remote(), "hb", warnings)["document_url"] == URL and len(warnings) == 1
