"""reconciler.kinds.personas.sim: the persona and conversation routes behind the registry: paths, the editor
draft control endpoint, a dropped create carried out, and /v2/pals."""

from __future__ import annotations

import httpx
import pytest

from reconciler.kinds.personas import sim as personas_sim
from reconciler.sim.routes import SimError
from reconciler.sim.simulator import Simulator


@pytest.fixture
def sim():
    with Simulator(api_key="k") as s:
        yield s


def client(sim):
    return httpx.Client(base_url=sim.url, headers={"x-api-key": "k"}, timeout=5)


def test_allowed_paths():
    assert personas_sim.allowed(["v2", "personas", "p1"]) == ("GET", "PATCH", "DELETE")
    assert personas_sim.allowed(["v2", "conversations", "c1", "end"]) == ("POST",)
    with pytest.raises(SimError):
        personas_sim.allowed(["v2", "personas", "p1", "x"])


def test_a_draft_left_through_the_control_endpoint_makes_a_patch_409(sim):
    with client(sim) as c:
        pid = c.post("/v2/personas", json={"persona_name": "p", "system_prompt": "s"}).json()["persona_id"]
        assert httpx.post(f"{sim.url}/_sim/personas/{pid}/draft").status_code == 200
        assert httpx.post(f"{sim.url}/_sim/personas/nope/draft").status_code == 404
        r = c.patch(f"/v2/personas/{pid}", json=[{"op": "replace", "path": "/system_prompt", "value": "t"}])
        assert r.status_code == 409 and r.json()["conflict"] == "maker_changes"
        assert c.delete(f"/v2/personas/{pid}").status_code == 204


def test_a_dropped_create_is_carried_out(sim):
    sim.set_faults(drop_create_response=1.0)
    with client(sim) as c, pytest.raises(httpx.TransportError):
        c.post("/v2/personas", json={"persona_name": "lost", "system_prompt": "s"})
    assert [p["persona_name"] for p in personas_sim.personas(sim)] == ["lost"]


def test_pals_answer_in_the_newer_names(sim):
    personas_sim.add_persona(sim, persona_name="x", system_prompt="s")
    with client(sim) as c:
        data = c.get("/v2/pals").json()["data"]
    assert data and all("pal_id" in p and "persona_id" not in p for p in data)
