"""The local Tavus API simulator, exercised over real HTTP with httpx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reconciler.sim.simulator import Simulator

KEY = "test-key"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, train_seconds=0.3) as s:
        yield s


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"x-api-key": KEY}, timeout=5) as c:
        yield c


def create(client: httpx.Client, sim: Simulator, name: str = "a", video: str = "a.mp4", **extra) -> str:
    r = client.post("/v2/replicas", json={"replica_name": name, "train_video_url": sim.video_url(video), **extra})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "started"
    return r.json()["replica_id"]


def wait_for(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_auth_is_required(sim: Simulator) -> None:
    for headers in ({}, {"x-api-key": "wrong"}):
        r = httpx.get(f"{sim.url}/v2/replicas", headers=headers)
        assert r.status_code == 401 and r.json() == {"message": "Invalid access token"}


def test_create_trains_then_completes(sim: Simulator, client: httpx.Client) -> None:
    sim.train_seconds = 1.0
    rid = create(client, sim)
    assert rid.startswith("r") and len(rid) == 11
    listed = client.get("/v2/replicas", params={"replica_type": "user"}).json()
    assert listed["total_count"] == 1 and listed["data"][0]["status"] == "started"
    assert "train_video_url" not in listed["data"][0] and listed["data"][0]["thumbnail_video_url"] is None
    first = int(listed["data"][0]["training_progress"].split("/")[0])

    def progress() -> int:
        return int(client.get(f"/v2/replicas/{rid}").json()["training_progress"].split("/")[0])

    # training advances with time (awaited, not a fixed sleep) until 0.3 s of it have passed
    wait_for(lambda: progress() >= max(30, first + 1))
    sim.train_seconds = 0.3  # shorter than the time trained so far: complete at the next read
    got = client.get(f"/v2/replicas/{rid}", params={"verbose": "true"}).json()
    assert got["status"] == "completed" and got["training_progress"] == "100/100"
    assert got["thumbnail_video_url"] == sim.video_url(f"{rid}-thumb.mp4")
    assert got["model_name"] == "phoenix-4" and got["replica_type"] == "user" and got["error_message"] is None


def test_pagination_is_complete_and_newest_first() -> None:
    seed = [{"replica_name": f"n{i:03d}", "created_at": f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
            for i in range(250)]
    with Simulator(api_key=KEY, max_page_size=100, seed=seed) as s, \
            httpx.Client(base_url=s.url, headers={"x-api-key": KEY}) as c:
        pages = [c.get("/v2/replicas", params={"limit": 100, "page": p, "replica_type": "user"}).json()
                 for p in (1, 2, 3, 4)]
        assert [len(p["data"]) for p in pages] == [100, 100, 50, 0]
        assert all(p["total_count"] == 250 for p in pages)
        names = [r["replica_name"] for p in pages for r in p["data"]]
        assert names == [f"n{i:03d}" for i in range(249, -1, -1)]
        big = c.get("/v2/replicas", params={"limit": 500}).json()
        assert len(big["data"]) == 100 and big["total_count"] == 253  # stock replicas included
        assert len(c.get("/v2/replicas").json()["data"]) == 10  # default limit
        for bad in ({"limit": 0}, {"limit": "x"}, {"page": 0}, {"replica_type": "nope"}):
            r = c.get("/v2/replicas", params=bad)
            assert r.status_code == 400 and r.json()["message"]


def test_filters(sim: Simulator, client: httpx.Client) -> None:
    a = create(client, sim, "a")
    b = create(client, sim, "b", model_name="phoenix-3")
    system = client.get("/v2/replicas", params={"replica_type": "system"}).json()
    assert system["total_count"] == 3 and {r["replica_type"] for r in system["data"]} == {"system"}
    assert {r["replica_name"] for r in system["data"]} == {"Anna - Office", "Charlie - Studio", "Mia - Lounge"}
    by_id = client.get("/v2/replicas", params={"replica_ids": f"{a},{b},rnope"}).json()
    assert [r["replica_id"] for r in by_id["data"]] == [b, a] and by_id["total_count"] == 2
    by_model = client.get("/v2/replicas", params={"model_name": "phoenix-3", "replica_type": "user"}).json()
    assert [r["replica_id"] for r in by_model["data"]] == [b]
    assert "model_name" not in by_model["data"][0]
    assert [r["replica_name"] for r in sim.replicas()] == ["b", "a"]


def test_fail_url_ends_in_error(sim: Simulator, client: httpx.Client) -> None:
    rid = create(client, sim, "bad", video="fail-take.mp4")
    wait_for(lambda: client.get(f"/v2/replicas/{rid}").json()["status"] == "error")
    got = client.get(f"/v2/replicas/{rid}").json()
    assert got["training_progress"] == "50/100" and "no detectable face" in got["error_message"]


def test_create_validation(sim: Simulator, client: httpx.Client) -> None:
    image = {"train_image_url": sim.video_url("face.png"), "voice_name": "Alex"}
    r = client.post("/v2/replicas", json={"replica_name": "img", **image})
    assert r.status_code == 200
    wait_for(lambda: sim.replicas()[0]["status"] == "completed")
    bad_bodies = [
        {"train_video_url": sim.video_url("a.mp4"), **image},
        {"train_image_url": sim.video_url("face.png")},
        {"replica_name": "nothing"},
        {"train_video_url": sim.video_url("a.mp4"), "model_name": "phoenix-9"},
        {"train_video_url": 5},
    ]
    for body in bad_bodies:
        r = client.post("/v2/replicas", json=body)
        assert r.status_code == 400 and r.json()["message"], body
    for raw in (b"not json", b"[1]"):
        assert client.post("/v2/replicas", content=raw).status_code == 400
    assert [r["replica_name"] for r in sim.replicas()] == ["img"]


def test_rename_delete_and_404s(sim: Simulator, client: httpx.Client) -> None:
    rid = create(client, sim)
    assert client.patch(f"/v2/replicas/{rid}/name", json={"replica_name": "renamed"}).json() == {"message": "ok"}
    assert client.get(f"/v2/replicas/{rid}").json()["replica_name"] == "renamed"
    assert client.patch(f"/v2/replicas/{rid}/name", json={"name": "x"}).status_code == 400
    assert client.patch("/v2/replicas/rmissing/name", json={"replica_name": "x"}).status_code == 400
    assert client.delete(f"/v2/replicas/{rid}", params={"hard": "true"}).json() == {"message": "ok"}
    for r in (client.get(f"/v2/replicas/{rid}"), client.delete(f"/v2/replicas/{rid}")):  # as the reference documents
        assert r.status_code == 400 and r.json() == {"error": "Invalid replica_id"}
    stock = client.delete("/v2/replicas/r9fa0878977")
    assert stock.status_code == 400 and stock.json() == {"message": "stock replicas cannot be deleted"}
    assert client.patch("/v2/replicas/r9fa0878977/name", json={"replica_name": "x"}).status_code == 400
    assert client.get("/v2/nothing").status_code == 404
    assert client.put("/v2/replicas").status_code == 405


def test_direct_state_access(sim: Simulator) -> None:
    failed = sim.add_replica(replica_name="old", status="error", error_message="blurry")
    assert failed["status"] == "error" and failed["error_message"] == "blurry"
    training = sim.add_replica(replica_id="rabcdef0123", replica_name="t", status="started")
    assert training["replica_id"] == "rabcdef0123" and training["status"] == "started"
    assert len(sim.replicas()) == 2 and len(sim.replicas(include_system=True)) == 5
    sim.delete(failed["replica_id"])
    assert [r["replica_name"] for r in sim.replicas()] == ["t"]
    with pytest.raises(ValueError):
        sim.add_replica(replica_name="x", bogus=1)
    assert sim.requests == []  # direct access is not logged


def test_media(sim: Simulator) -> None:
    assert httpx.get(sim.video_url("missing-a.mp4")).status_code == 404
    assert httpx.get(sim.video_url("expired-b.mp4") + "?X-Amz-Signature=s").status_code == 403
    ok = httpx.get(sim.video_url("ok.mp4") + "?X-Amz-Signature=s")
    assert ok.status_code == 200 and ok.headers["content-type"] == "video/mp4" and ok.content
    assert httpx.head(sim.video_url("face.png")).headers["content-type"] == "image/png"
    assert httpx.get(sim.video_url("face.JPG")).headers["content-type"] == "image/jpeg"
    part = httpx.get(sim.video_url("ok.mp4"), headers={"Range": "bytes=0-0"})
    assert part.status_code == 206 and len(part.content) == 1 and part.headers["content-range"].startswith("bytes 0-0/")
    assert [(r["method"], r["path"], r["status"]) for r in sim.requests][:2] == [
        ("GET", "/media/missing-a.mp4", 404), ("GET", "/media/expired-b.mp4", 403)]


def test_rate_limit_with_and_without_retry_after(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(rate_limit=1.0, retry_after=2)
    r = client.get("/v2/replicas")
    assert r.status_code == 429 and r.headers["retry-after"] == "2" and r.json() == {"message": "rate limited"}
    sim.set_faults(rate_limit=1.0)
    r = client.get("/v2/replicas")
    assert r.status_code == 429 and "retry-after" not in r.headers
    sim.set_faults()
    assert client.get("/v2/replicas").status_code == 200


def test_dropped_create_response_still_creates(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(drop_create_response=1.0)
    with pytest.raises(httpx.TransportError):
        client.post("/v2/replicas", json={"replica_name": "ghost", "train_video_url": sim.video_url("a.mp4")})
    assert [r["replica_name"] for r in sim.replicas()] == ["ghost"]
    assert sim.requests[-1]["status"] == 0
    sim.set_faults()
    assert client.get("/v2/replicas").status_code == 200  # the client recovers on a new connection


def test_fail_next_server_error_and_malformed(sim: Simulator, client: httpx.Client) -> None:
    sim.set_faults(fail_next=2)
    assert [client.get("/v2/replicas").status_code for _ in range(3)] == [503, 503, 200]
    sim.set_faults(server_error=1.0, fault_seed=1)
    assert client.get("/v2/replicas").status_code in (500, 502, 503)
    sim.set_faults(malformed=1.0)
    r = client.get("/v2/replicas")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        r.json()
    statuses = [r["status"] for r in sim.requests]
    assert statuses[:3] == [503, 503, 200] and statuses[3] in (500, 502, 503) and statuses[4:] == [200]
    with pytest.raises(ValueError):
        sim.set_faults(nope=1)


def test_requests_log_and_control_endpoints(sim: Simulator, client: httpx.Client) -> None:
    rid = create(client, sim)
    client.get("/v2/replicas", params={"limit": 5, "page": 1})
    log = sim.requests
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/v2/replicas", 200), ("GET", "/v2/replicas", 200)]
    assert log[1]["query"] == {"limit": "5", "page": "1"} and isinstance(log[1]["t"], float)
    assert httpx.post(f"{sim.url}/_sim/faults", json={"fail_next": 1}).json()["fail_next"] == 1
    assert client.get(f"/v2/replicas/{rid}").status_code == 503
    assert httpx.get(f"{sim.url}/_sim/faults").json()["fail_next"] == 0
    assert len(httpx.get(f"{sim.url}/_sim/requests").json()) == 3
    added = httpx.post(f"{sim.url}/_sim/replicas", json={"replica_name": "seeded"}).json()
    assert added["status"] == "completed"
    assert "seeded" in {r["replica_name"] for r in httpx.get(f"{sim.url}/_sim/replicas").json()}
    assert httpx.post(f"{sim.url}/_sim/faults", json={"bogus": 1}).status_code == 400
    httpx.post(f"{sim.url}/_sim/reset-requests")
    assert sim.requests == []


def test_keep_alive_and_concurrency_with_latency() -> None:
    seed = [{"replica_name": f"n{i}"} for i in range(2000)]
    with Simulator(api_key=KEY, seed=seed, faults={"latency": 0.02}) as s, \
            httpx.Client(base_url=s.url, headers={"x-api-key": KEY}) as c:
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(lambda p: c.get("/v2/replicas", params={"limit": 100, "page": p}).json(),
                                  range(1, 22)))
        ids = [r["replica_id"] for p in pages for r in p["data"]]
        assert len(ids) == len(set(ids)) == 2003
