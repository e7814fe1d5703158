"""reconciler.sim.media: fake media by name, S3-shaped errors, byte ranges."""

from __future__ import annotations

import httpx
import pytest

from reconciler.sim.media import MEDIA_BODY, _byte_range
from reconciler.sim.simulator import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(api_key="k") as s:
        yield s


@pytest.mark.parametrize("name,status,ctype", [("a.mp4", 200, "video/mp4"), ("face.PNG", 200, "image/png"),
                                               ("x.jpeg", 200, "image/jpeg"), ("missing.mp4", 404, "application/xml"),
                                               ("expired.mp4", 403, "application/xml")])
def test_media_by_name(sim, name, status, ctype):
    r = httpx.get(sim.video_url(name))
    assert (r.status_code, r.headers["content-type"]) == (status, ctype)
    assert httpx.head(sim.video_url(name)).content == b""


def test_a_range_is_honoured_and_media_needs_no_key(sim):
    r = httpx.get(sim.video_url("a.mp4"), headers={"Range": "bytes=0-0"})
    assert r.status_code == 206 and r.content == MEDIA_BODY[:1]
    assert r.headers["content-range"] == f"bytes 0-0/{len(MEDIA_BODY)}"
    assert httpx.post(sim.video_url("a.mp4")).status_code == 405


@pytest.mark.parametrize("header,want", [("bytes=0-9", (0, 9)), ("bytes=5-", (5, 1023)), ("bytes=-4", (1020, 1023)),
                                         ("bytes=2000-", None), ("bytes=9-1", None), ("items=0-1", None),
                                         (None, None), ("bytes=x-", None), ("bytes=0-99999", (0, 1023))])
def test_byte_range(header, want):
    assert _byte_range(header, 1024) == want
