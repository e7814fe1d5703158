"""The status-word table and the redaction of untrusted text."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.models import RemoteReplica
from reconciler.redact import escape_control, redact_url
from reconciler.status import STATUS_PHASES, Phase, phase_of


@pytest.mark.parametrize("word,phase", [
    ("started", Phase.PENDING), ("training", Phase.PENDING), ("completed", Phase.READY), ("ready", Phase.READY),
    ("error", Phase.FAILED), ("COMPLETED", Phase.READY), (" ready ", Phase.READY),
    ("queued", Phase.PENDING), ("", Phase.PENDING), (None, Phase.PENDING),
])
def test_every_tavus_status_word_maps_to_one_phase(word, phase):
    assert phase_of(word) is phase


def test_table_covers_the_documented_vocabulary():
    assert set(STATUS_PHASES) == {"started", "training", "completed", "ready", "error"}


def test_unknown_status_is_logged_once(caplog):
    from reconciler.client import TavusClient

    client = TavusClient("http://127.0.0.1:9", "k")
    with caplog.at_level(logging.WARNING, logger="reconciler.status"):
        assert phase_of("brand-new-word") is Phase.PENDING  # pure: phase_of itself never logs
        assert not caplog.records
        for rid in ("r1", "r2"):
            client._replica({"replica_id": rid, "status": "brand-new-word"}, "GET", "/v2/replicas")
    assert [r.getMessage() for r in caplog.records].count(
        "unknown replica status 'brand-new-word': treating it as still training") == 1


@pytest.mark.parametrize("progress,percent", [("45/100", 45.0), ("45", 45.0), ("45%", 45.0), ("3/4", 75.0),
                                              (None, None), ("n/a", None), ("1/0", None), ("250/100", 100.0)])
def test_training_progress_is_read_tolerantly(progress, percent):
    assert RemoteReplica("r1", "a", training_progress=progress).progress_percent == percent


@pytest.mark.parametrize("url,shown", [
    ("https://b.s3.amazonaws.com/v.mp4?X-Amz-Signature=abc&X-Amz-Credential=k", "https://b.s3.amazonaws.com/v.mp4?REDACTED"),
    ("https://user:pw@host/v.mp4", "https://REDACTED@host/v.mp4"),
    ("https://host/v.mp4#token=abc", "https://host/v.mp4#REDACTED"),
    ("https://host/v.mp4", "https://host/v.mp4"),
    ("${ANNA_URL}", "${ANNA_URL}"),
    (None, None),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


@given(st.text())
def test_escape_control_leaves_no_control_characters(text):
    out = escape_control(text)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)
    assert "\u202e" not in out


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1).map(lambda s: f"https://h/p?sig={s}"))
def test_query_string_never_survives_redaction(url):
    assert "sig=" not in (redact_url(url) or "")
