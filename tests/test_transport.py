"""reconciler.api.transport: one attempt's answer mapped to a body or a typed error, Retry-After read, the
retry loop bounded, and an ambiguous failure checked before a retry."""

from __future__ import annotations

import httpx
import pytest

from reconciler.api.client import TavusClient
from reconciler.api.transport import _NOT_MODIFIED, _conflict, _retry_after
from reconciler.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    EditorDraftError,
    InvalidPatchError,
    MalformedResponseError,
    NotFoundError,
    RetriesExhaustedError,
)

KEY = "transport-test-key-0123456789"


def client(answers, **kw):
    """A client whose server answers from ``answers`` in order (an exception is raised, a Response returned)."""
    sent = []

    def handle(request):
        sent.append(request)
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    kw.setdefault("backoff_base", 0.0)
    c = TavusClient("https://api.test", KEY, transport=httpx.MockTransport(handle), sleep=lambda s: None, **kw)
    return c, sent


@pytest.mark.parametrize("method,path,answer,error", [
    ("GET", "/v2/replicas/r1", httpx.Response(401), AuthError),
    ("GET", "/v2/replicas/r1", httpx.Response(404, json={"message": "gone"}), NotFoundError),
    ("GET", "/v2/replicas/r1", httpx.Response(400, json={"error": "Invalid replica_id"}), NotFoundError),
    ("GET", "/v2/other/r1", httpx.Response(400, json={"error": "Invalid replica_id"}), BadRequestError),
    ("PATCH", "/v2/personas/p1", httpx.Response(422, json={"message": "bad"}), InvalidPatchError),
    ("PATCH", "/v2/personas/p1", httpx.Response(409, json={"conflict": "maker_changes"}), EditorDraftError),
    ("POST", "/v2/personas", httpx.Response(409, json={"conflict": "maker_changes"}), BadRequestError),
    ("GET", "/v2/replicas", httpx.Response(501), ApiError),
    ("POST", "/v2/replicas", httpx.Response(200, content=b"<html>"), MalformedResponseError),
])
def test_answers_map_to_typed_errors(method, path, answer, error):
    c, _ = client([answer])
    with c, pytest.raises(error) as e:
        c._call(method, path)
    assert type(e.value) is error and KEY not in str(e.value) and "\n" not in str(e.value)


def test_a_304_is_not_modified_and_an_empty_body_is_an_empty_object():
    c, _ = client([httpx.Response(304), httpx.Response(200)])
    with c:
        assert c._call("PATCH", "/v2/personas/p1") is _NOT_MODIFIED
        assert c._call("GET", "/v2/x") == {}


def test_the_key_a_server_echoes_is_redacted():
    c, _ = client([httpx.Response(400, json={"message": f"bad key {KEY}"})])
    with c, pytest.raises(BadRequestError) as e:
        c._call("GET", "/v2/x")
    assert KEY not in str(e.value)


def test_retries_are_bounded_by_max_attempts():
    c, sent = client([httpx.Response(503)], max_attempts=3)
    with c, pytest.raises(RetriesExhaustedError, match="gave up after 3 attempt"):
        c._call("GET", "/v2/replicas")
    assert len(sent) == 3


def test_an_ambiguous_failure_is_checked_before_a_retry_and_the_check_can_answer():
    c, sent = client([httpx.ReadTimeout("lost"), httpx.Response(200, json={"x": 1})])
    checks = []
    with c:
        assert c._call("POST", "/v2/x", before_retry=lambda reason: checks.append(reason) or "found") == "found"
    assert checks == ["timed out"] and len(sent) == 1


def test_a_connect_error_never_reached_the_server_so_it_is_not_checked():
    c, sent = client([httpx.ConnectError("refused"), httpx.Response(200, json={"ok": True})])
    with c:
        assert c._call("POST", "/v2/x", before_retry=lambda r: pytest.fail("checked")) == {"ok": True}
    assert len(sent) == 2


def test_retry_after_seconds_and_dates():
    assert _retry_after(httpx.Response(429, headers={"retry-after": "3"})) == 3.0
    assert _retry_after(httpx.Response(429, headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert _retry_after(httpx.Response(429, headers={"retry-after": "soon"})) is None
    assert _retry_after(httpx.Response(429)) is None


def test_conflict_word():
    assert _conflict(b'{"conflict": "maker_changes"}') == "maker_changes"
    assert _conflict(b"[1]") is None and _conflict(b"not json") is None
