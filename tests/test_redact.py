"""Redaction of untrusted text: presigned URL signatures and control characters never reach the output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.api.redact import escape_control, redact_url


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
