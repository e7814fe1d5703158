"""The simulator's objectives (reconciler/kinds/objectives/sim.py), as documented."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.kinds.objectives import sim as osim
from reconciler.sim.sim_account import ApiError, _positive_int

A = {"objective_name": "a", "objective_prompt": "Ask a."}
B = {"objective_name": "b", "objective_prompt": "Ask b."}


class _Sim:
    def __init__(self):
        self._lock = threading.Lock()


@pytest.fixture
def sim():
    return _Sim()


def call(sim, method, path, query=None, body=None):
    parts = [p for p in path.split("/") if p]
    assert method in osim.check_route(parts, ApiError)
    raw = b"" if body is None else json.dumps(body).encode()
    return osim.handle(sim, method, parts, query or {}, raw, ApiError, _positive_int)


def test_create_answers_objectives_id(sim):
    status, body = call(sim, "POST", "/v2/objectives", body={"name": "s", "data": [A]})
    assert status == 200 and body["objectives_id"].startswith("o") and body["name"] == "s"
    assert osim.objectives(sim)[0]["data"] == [A]


@pytest.mark.parametrize("data", [[], [A] * 51, [{**A, "objective_name": "has space"}], [{**A, "objective_prompt": ""}],
                                  [{**A, "confirmation_mode": "later"}], [A, A],
                                  [{**A, "next_required_objective": "zzz"}]])
def test_create_refuses_an_invalid_set_with_400_error(sim, data):
    with pytest.raises(ApiError) as e:
        call(sim, "POST", "/v2/objectives", body={"name": "s", "data": data})
    assert e.value.status == 400 and "error" in e.value.payload


def test_both_next_required_spellings_are_accepted(sim):
    for link in ({"next_required_objective": "b"}, {"next_required_objectives": ["b"]}):
        call(sim, "POST", "/v2/objectives", body={"data": [{**A, **link}, B]})
    assert len(osim.objectives(sim)) == 2


def test_a_loop_needs_allow_loops(sim):
    loop = [{**A, "next_required_objective": "b"}, {**B, "next_conditional_objectives": {"a": "again"}}]
    with pytest.raises(ApiError):
        call(sim, "POST", "/v2/objectives", body={"data": loop})
    assert call(sim, "POST", "/v2/objectives", body={"data": loop, "allow_loops": True})[0] == 200


def test_validate_is_a_route_of_its_own_and_never_faulted(sim):
    from reconciler.sim.routes import Faults

    assert osim.COLLECTIONS == ("objectives",) and osim.allowed(["v2", "objectives", "validate"]) == ("POST",)
    status, body, _, _ = osim.route(sim, "POST", ["v2", "objectives", "validate"], {}, json.dumps({"data": [A]})
                                    .encode(), Faults(drop=True))
    assert status == 200 and body["valid"] is True


def test_validate_saves_nothing_and_says_why(sim):
    assert call(sim, "POST", "/v2/objectives/validate", body={"data": [A]})[1] == {
        "valid": True, "message": "Objectives are valid"}
    _, body = call(sim, "POST", "/v2/objectives/validate", body={"data": [{**A, "next_required_objective": "z"}]})
    assert body == {"valid": False, "errors": ["data[0]: z is not an objective of the set"]}
    assert osim.objectives(sim) == [] and osim.store(sim).validations == 2


def test_listing_is_one_based(sim):
    for i in range(3):
        osim.add_objectives(sim, f"s{i}", [A])
    first = call(sim, "GET", "/v2/objectives", {"limit": "2"})[1]
    assert [s["name"] for s in first["data"]] == ["s0", "s1"] and first["total_count"] == 3
    second = call(sim, "GET", "/v2/objectives", {"limit": "2", "page": "2"})[1]
    assert [s["name"] for s in second["data"]] == ["s2"]
    with pytest.raises(ApiError):
        call(sim, "GET", "/v2/objectives", {"page": "0"})


def test_get_patch_delete(sim):
    oid = osim.add_objectives(sim, "s", [A])["objectives_id"]
    assert call(sim, "GET", f"/v2/objectives/{oid}")[1]["data"]["name"] == "s"
    ops = [{"op": "replace", "path": "/data/0/objective_prompt", "value": "Ask A."}]
    assert call(sim, "PATCH", f"/v2/objectives/{oid}", body=ops)[0] == 200
    assert call(sim, "PATCH", f"/v2/objectives/{oid}", body=ops)[0] == 304
    with pytest.raises(ApiError) as e:
        call(sim, "PATCH", f"/v2/objectives/{oid}", body=[{"op": "replace", "path": "/data", "value": []}])
    assert e.value.status == 400
    with pytest.raises(ApiError) as e:
        call(sim, "PATCH", f"/v2/objectives/{oid}", body={"not": "a patch"})
    assert e.value.status == 422
    assert call(sim, "DELETE", f"/v2/objectives/{oid}") == (204, None)
    with pytest.raises(ApiError) as e:
        call(sim, "GET", f"/v2/objectives/{oid}")
    assert e.value.status == 404 and e.value.payload == {"error": "Objectives not found"}


def test_route_a_late_create_is_a_504_that_lands_later(sim):
    from reconciler.sim.routes import Faults

    with pytest.raises(ApiError) as e:
        osim.route(sim, "POST", ["v2", "objectives"], {}, json.dumps({"data": [A]}).encode(), Faults(late=0.01))
    assert e.value.status == 504
    import time

    deadline = time.monotonic() + 5
    while not osim.objectives(sim) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(osim.objectives(sim)) == 1
