"""reconciler.workflows.preflight: unset ${VAR}s are listed, and training URLs that do not answer 2xx (HEAD, or
a one-byte GET when HEAD is refused) are reported redacted, without the API key."""

from __future__ import annotations

import httpx
import pytest

from reconciler.kinds.replicas.models import DesiredReplica
from reconciler.workflows import preflight


def client(handler):
    return httpx.Client(transport=httpx.MockTransport(handler), timeout=5.0)


def test_missing_variables_name_the_replica_and_the_variable():
    reps = [DesiredReplica(name="a", missing_vars=("URL", "CONSENT")), DesiredReplica(name="b")]
    assert preflight.missing_variables(reps) == ["a: ${URL} is not set", "a: ${CONSENT} is not set"]


def test_a_2xx_head_is_fine_and_no_api_key_is_sent():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "video/mp4"})

    with client(handler) as http:
        assert preflight.check_url(http, "https://media.test/a.mp4", "train_video_url") is None
    assert [r.method for r in seen] == ["HEAD"] and "x-api-key" not in seen[0].headers


def test_a_refused_head_falls_back_to_a_one_byte_get():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(405) if request.method == "HEAD" else httpx.Response(206)

    with client(handler) as http:
        assert preflight.check_url(http, "https://media.test/a.mp4", "train_video_url") is None
    assert [r.method for r in seen] == ["HEAD", "GET"] and seen[1].headers["range"] == "bytes=0-0"


def test_a_404_is_reported_with_the_signature_redacted():
    url = "https://bucket.test/a.mp4?X-Amz-Signature=deadbeefdeadbeef&X-Amz-Expires=60"
    with client(lambda r: httpx.Response(404)) as http:
        problem = preflight.check_url(http, url, "train_video_url")
    assert problem.startswith("train_video_url ") and problem.endswith("answered 404")
    assert "deadbeef" not in problem


@pytest.mark.parametrize("ctype,bad", [("text/html", True), ("image/png", False), ("", False)])
def test_a_training_image_must_be_an_image(ctype, bad):
    headers = {"content-type": ctype} if ctype else {}
    with client(lambda r: httpx.Response(200, headers=headers)) as http:
        problem = preflight.check_url(http, "https://media.test/face.png", "train_image_url")
    assert (problem is not None) == bad


def test_an_unreachable_host_is_one_line():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    with client(handler) as http:
        assert preflight.check_url(http, "https://nowhere.test/a.mp4", "train_video_url") == \
            "train_video_url https://nowhere.test/a.mp4 could not be fetched (ConnectError)"


def test_unreachable_urls_skips_replicas_with_unset_variables():
    reps = [DesiredReplica(name="a", train_video_url="${URL}", missing_vars=("URL",))]
    assert preflight.unreachable_urls(reps) == []  # reported by missing_variables, never fetched
