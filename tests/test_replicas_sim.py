"""reconciler.kinds.replicas.sim: the replica routes behind the registry: paths and methods, the newer names
(/v2/faces), the /_sim/replicas control endpoints, and a slow create answered late but made at once."""

from __future__ import annotations

import time

import httpx
import pytest

from reconciler.kinds.replicas import sim as replicas_sim
from reconciler.sim.routes import SimError
from reconciler.sim.simulator import Simulator


@pytest.fixture
def sim():
    with Simulator(api_key="k", stock_replicas=False) as s:
        yield s


def test_allowed_paths():
    assert replicas_sim.allowed(["v2", "replicas"]) == ("GET", "POST")
    assert replicas_sim.allowed(["v2", "replicas", "r1"]) == ("GET", "DELETE")
    assert replicas_sim.allowed(["v2", "replicas", "r1", "name"]) == ("PATCH",)
    for parts in (["v2", "replicas", "r1", "other"], ["v2", "replicas", "r1", "name", "x"]):
        with pytest.raises(SimError):
            replicas_sim.allowed(parts)


def test_a_method_not_allowed_is_405_with_allow(sim):
    r = httpx.put(f"{sim.url}/v2/replicas/r1", headers={"x-api-key": "k"})
    assert r.status_code == 405 and r.headers["allow"] == "GET, DELETE"


def test_faces_speak_only_the_newer_names(sim):
    with httpx.Client(base_url=sim.url, headers={"x-api-key": "k"}) as c:
        r = c.post("/v2/faces", json={"face_name": "f", "train_video_url": sim.video_url("a.mp4")})
        assert r.status_code == 200 and "face_id" in r.json()
        assert c.get("/v2/faces").json()["data"][0]["face_name"] == "f"
        assert c.post("/v2/faces", json={"replica_name": "f"}).status_code == 400


def test_control_endpoints(sim):
    r = httpx.post(f"{sim.url}/_sim/replicas", json={"replica_name": "seeded", "status": "completed"})
    assert r.status_code == 200
    assert [x["replica_name"] for x in httpx.get(f"{sim.url}/_sim/replicas").json()] == ["seeded"]
    assert replicas_sim.control(sim, "GET", ["", "_sim", "other"], b"") is None


def test_a_slow_create_is_made_at_once_and_answered_late(sim):
    sim.set_faults(slow_create=0.3)
    started = time.monotonic()
    r = httpx.post(f"{sim.url}/v2/replicas", headers={"x-api-key": "k"},
                   json={"replica_name": "s", "train_video_url": sim.video_url("a.mp4")})
    assert r.status_code == 200 and time.monotonic() - started >= 0.3
    assert [x["replica_name"] for x in sim.replicas()] == ["s"]
