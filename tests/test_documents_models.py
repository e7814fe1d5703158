"""kinds/documents/models.py: tolerant parsing, the status vocabulary, URL comparison, the create body."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.engine.status import Phase
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument, phase_of, url_key


@pytest.mark.parametrize(("word", "phase"), [
    ("started", Phase.PENDING), ("processing", Phase.PENDING), ("recrawling", Phase.PENDING),
    ("ready", Phase.READY), ("READY ", Phase.READY), ("error", Phase.FAILED), ("queued", Phase.PENDING),
    (None, Phase.PENDING), ("", Phase.PENDING)])
def test_status_words(word, phase):
    assert phase_of(word) is phase


def test_from_api_reads_the_documented_fields():
    d = RemoteDocument.from_api({
        "document_id": "d1", "document_name": "handbook", "status": "error", "progress": 50,
        "error_message": "file_download_failed", "document_url": "https://x.example/a.pdf", "tags": ["a", 3, "b"],
        "crawl_config": {"depth": 2, "max_pages": 20, "other": 1}, "crawl_count": 1, "created_at": "t"})
    assert d.document_id == "d1" and d.name == "handbook" and d.phase is Phase.FAILED
    assert d.failure == "file_download_failed"
    assert d.tags == ("a", "b")  # non-strings dropped
    assert d.crawl == (("depth", 2), ("max_pages", 20))
    assert d.progress_percent == 50.0 and d.crawl_count == 1


def test_from_api_is_tolerant():
    d = RemoteDocument.from_api({"uuid": "d2"})  # one older example answers the id as uuid
    assert d.document_id == "d2" and d.name == "" and d.status == "started"
    assert d.tags is None and d.document_url is None and d.crawl is None  # not returned: cannot be compared
    assert d.failure is None and d.progress_percent is None
    with pytest.raises(KeyError):
        RemoteDocument.from_api({"document_name": "x"})
    with pytest.raises(KeyError):
        RemoteDocument.from_api({"document_id": 7})


@pytest.mark.parametrize(("progress", "pct"), [("45%", 45.0), ("45/100", 45.0), ("x", None), ("150", 100.0),
                                               ("1/0", None)])
def test_progress(progress, pct):
    assert RemoteDocument(document_id="d", progress=progress).progress_percent == pct


def test_url_key_ignores_the_signature_only():
    signed = "https://b.s3.amazonaws.com/hb.pdf?X-Amz-Signature=abc&X-Amz-Date=1&X-Amz-Expires=60&v=2"
    resigned = "https://B.s3.amazonaws.com/hb.pdf?v=2&X-Amz-Signature=zzz&X-Amz-Date=2"
    assert url_key(signed) == url_key(resigned)
    assert "abc" not in url_key(signed)
    assert url_key(signed) != url_key("https://b.s3.amazonaws.com/other.pdf?X-Amz-Signature=abc")
    assert url_key(signed) != url_key("https://b.s3.amazonaws.com/hb.pdf?v=3")
    assert url_key("not a url") == "not a url" and url_key(None) is None


@given(st.text())
def test_url_key_never_raises(text):
    url_key(text)
    url_key("https://h.example/" + text)


def test_create_payload():
    d = DesiredDocument(name="hb", document_url="https://x.example/a.pdf", tags=("hiring",),
                        crawl=(("depth", 2),), callback_url="https://cb.example/", extra=(("new_field", 1),))
    assert d.create_payload() == {"document_name": "hb", "document_url": "https://x.example/a.pdf",
                                  "tags": ["hiring"], "crawl": {"depth": 2}, "callback_url": "https://cb.example/",
                                  "new_field": 1}
    assert d.create_payload("hb~next~d1")["document_name"] == "hb~next~d1"
    assert d.urls == {"document_url": "https://x.example/a.pdf"}  # what apply's preflight checks
    assert DesiredDocument(name="x", document_url="${U}", url_unknown=True).urls == {}
    assert DesiredDocument(name="x", document_url="u").create_payload() == {"document_name": "x",
                                                                            "document_url": "u"}
