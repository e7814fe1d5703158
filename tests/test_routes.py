"""reconciler.sim.routes: the one route registry. Every kind folder's sim.py is found, a toy kind defined only
here is served by adding its module alone, and the shared faults (auth, fail_next, dropped and 504'd creates)
apply to its routes exactly as to the replicas'."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import httpx
import pytest

from reconciler.sim import routes
from reconciler.sim.simulator import Simulator

KEY = "routes-test-key"


def toy_module() -> types.ModuleType:
    toy = types.ModuleType("toy_sim")
    toy.COLLECTIONS = ("toys",)
    toy.ALIASES = {"newtoys": ("toys", {"newtoy_id": "toy_id"})}
    toy.made = []

    def allowed(parts):
        if len(parts) > 3:
            raise routes.SimError(404, f"no route for /{'/'.join(parts)}")
        return {2: ("GET", "POST"), 3: ("GET",)}[len(parts)]

    def route(sim, method, parts, query, body, faults):
        if len(parts) == 2 and method == "POST":
            def create():
                toy.made.append(routes.json_object(body)["name"])
                return {"toy_id": f"t{len(toy.made)}"}
            return 200, routes.land(faults, create), "application/json", {}
        if len(parts) == 2:
            items = [{"toy_id": f"t{i}"} for i in range(25)]
            return 200, routes.page(items, query, first_page=0), "application/json", {}
        if parts[2] != "t1":
            raise routes.SimError(404, "Toy not found")
        return 200, {"toy_id": "t1"}, "application/json", {}

    toy.allowed, toy.route = allowed, route
    return toy


@pytest.fixture
def toy(monkeypatch) -> Iterator[types.ModuleType]:
    module = toy_module()
    real = routes.modules()
    for cached in (routes.table, routes.aliases):
        cached.cache_clear()
    monkeypatch.setattr(routes, "modules", lambda: (*real, module))
    yield module
    for cached in (routes.table, routes.aliases):
        cached.cache_clear()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, train_seconds=0.3) as s:
        yield s


def http(sim, **kw):
    return httpx.Client(base_url=sim.url, headers={"x-api-key": KEY}, timeout=5, **kw)


def test_every_kind_folder_with_a_sim_module_is_registered():
    names = {m.__name__ for m in routes.modules()}
    assert {"reconciler.kinds.replicas.sim", "reconciler.kinds.personas.sim"} <= names
    assert {"replicas", "personas", "conversations"} <= set(routes.table())
    assert {"faces", "pals"} <= set(routes.aliases())


def test_two_modules_claiming_one_collection_is_an_error(monkeypatch):
    a, b = types.ModuleType("a"), types.ModuleType("b")
    a.COLLECTIONS = b.COLLECTIONS = ("same",)
    routes.table.cache_clear()
    monkeypatch.setattr(routes, "modules", lambda: (a, b))
    try:
        with pytest.raises(RuntimeError, match="served by both"):
            routes.table()
    finally:
        routes.table.cache_clear()


def test_a_new_kind_is_served_by_its_module_alone(toy, sim):
    with http(sim) as c:
        r = c.get("/v2/toys", params={"limit": "10", "page": "2"})
        assert r.status_code == 200 and [t["toy_id"] for t in r.json()["data"]] == [f"t{i}" for i in range(20, 25)]
        assert r.json()["total_count"] == 25
        assert c.post("/v2/toys", json={"name": "ball"}).json() == {"toy_id": "t1"}
        assert c.delete("/v2/toys/t1").status_code == 405
        assert c.get("/v2/toys/t1/x/y").status_code == 404
        assert c.get("/v2/toys/nope").json() == {"message": "Toy not found"}
        assert c.get("/v2/newtoys/t1").json() == {"newtoy_id": "t1"}  # its ALIASES translate both ways
    assert [r["path"] for r in sim.requests][:2] == ["/v2/toys", "/v2/toys"]


def test_the_shared_faults_apply_to_a_new_kind(toy, sim):
    with http(sim) as c:
        assert httpx.get(f"{sim.url}/v2/toys").status_code == 401
        sim.set_faults(fail_next=1)
        assert c.get("/v2/toys").status_code == 503
        sim.set_faults(drop_create_response=1.0)
        with pytest.raises(httpx.TransportError):
            c.post("/v2/toys", json={"name": "lost"})
        assert toy.made == ["lost"]  # carried out, its answer lost
        sim.set_faults(gateway_504=1.0)
        assert c.post("/v2/toys", json={"name": "late"}).status_code == 504
    deadline = time.monotonic() + 5
    while "late" not in toy.made:
        assert time.monotonic() < deadline, "the 504'd create never landed"
        time.sleep(0.05)


@pytest.mark.parametrize("query,status", [({"page": "0"}, 200), ({"page": "-1"}, 400), ({"page": "x"}, 400),
                                          ({"limit": "0"}, 400)])
def test_page_checks_its_query(query, status):
    items = list(range(5))
    if status == 200:
        assert routes.page(items, query, first_page=0) == {"data": items, "total_count": 5}
    else:
        with pytest.raises(routes.SimError):
            routes.page(items, query, first_page=0)


def test_page_is_capped_and_one_based_by_default():
    assert routes.page(list(range(30)), {"limit": "50", "page": "2"}, max_page_size=20) == \
        {"data": list(range(20, 30)), "total_count": 30}
    with pytest.raises(routes.SimError):
        routes.page([], {"page": "0"})
