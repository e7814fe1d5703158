"""The simulator's guardrails (reconciler/kinds/guardrails/sim.py), as documented."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.personas import sim as psim
from reconciler.sim.sim_account import ApiError, _positive_int


class _Sim:
    def __init__(self):
        self._lock = threading.Lock()


@pytest.fixture
def sim():
    return _Sim()


def call(sim, method, path, query=None, body=None):
    parts = [p for p in path.split("/") if p]
    assert method in gsim.check_route(parts, ApiError)
    raw = b"" if body is None else json.dumps(body).encode()
    return gsim.handle(sim, method, parts, query or {}, raw, ApiError, _positive_int)


def create(sim, name, **fields):
    return call(sim, "POST", "/v2/guardrails", body={"guardrail_name": name, "guardrail_prompt": "p", **fields})[1]


def test_create_answers_the_guardrail_with_its_id_in_uuid_and_defaults(sim):
    g = create(sim, "no_salary")
    assert g["uuid"].startswith("g") and g["modality"] == "verbal" and g["app_message"] is True and g["tags"] == []


@pytest.mark.parametrize("body", [{"guardrail_name": "no-dash", "guardrail_prompt": "p"},
                                  {"guardrail_name": "a" * 101, "guardrail_prompt": "p"},
                                  {"guardrail_name": "ok", "guardrail_prompt": "p" * 1001},
                                  {"guardrail_name": "ok", "guardrail_prompt": "p", "modality": "smell"},
                                  {"guardrail_name": "ok", "guardrail_prompt": "p", "tags": ["t"] * 33},
                                  {"guardrail_name": "ok"}])
def test_create_refuses_what_the_reference_forbids(sim, body):
    with pytest.raises(ApiError) as e:
        call(sim, "POST", "/v2/guardrails", body=body)
    assert e.value.status == 400 and "error" in e.value.payload


def test_listing_without_legacy_false_returns_the_legacy_sets(sim):
    create(sim, "mine")
    gsim.add_legacy_set(sim, "Old set", [{"guardrail_name": "a", "guardrail_prompt": "p"}])
    _, legacy = call(sim, "GET", "/v2/guardrails")
    assert [s["name"] for s in legacy["data"]] == ["Old set"] and "guardrails_id" in legacy["data"][0]
    _, flat = call(sim, "GET", "/v2/guardrails", {"legacy": "false"})
    assert [g["guardrail_name"] for g in flat["data"]] == ["mine"]


def test_individual_listing_is_zero_based_and_capped(sim):
    for i in range(5):
        create(sim, f"g{i}")
    first = call(sim, "GET", "/v2/guardrails", {"legacy": "false", "limit": "2"})[1]
    assert [g["guardrail_name"] for g in first["data"]] == ["g0", "g1"] and first["page"] == 0
    page2 = call(sim, "GET", "/v2/guardrails", {"legacy": "false", "limit": "2", "page": "2"})[1]
    assert [g["guardrail_name"] for g in page2["data"]] == ["g4"] and page2["total_count"] == 5
    with pytest.raises(ApiError) as e:
        call(sim, "GET", "/v2/guardrails", {"legacy": "false", "page": "-1"})
    assert e.value.status == 400


def test_listing_filters_by_name_or_uuid_and_tags(sim):
    a = create(sim, "a", tags=["x"])
    create(sim, "b", tags=["y"])
    by_id = call(sim, "GET", "/v2/guardrails", {"legacy": "false", "name_or_uuid": a["uuid"]})[1]
    assert [g["guardrail_name"] for g in by_id["data"]] == ["a"]
    by_tag = call(sim, "GET", "/v2/guardrails", {"legacy": "false", "tags": "y,z"})[1]
    assert [g["guardrail_name"] for g in by_tag["data"]] == ["b"]


def test_patch_is_json_patch_with_304_when_nothing_changes(sim):
    g = create(sim, "a")
    path = f"/v2/guardrails/{g['uuid']}"
    status, body = call(sim, "PATCH", path, body=[{"op": "replace", "path": "/guardrail_prompt", "value": "q"}])
    assert status == 200 and body["guardrail_prompt"] == "q" and body["uuid"] == g["uuid"]
    status, _ = call(sim, "PATCH", path, body=[{"op": "replace", "path": "/guardrail_prompt", "value": "q"}])
    assert status == 304
    with pytest.raises(ApiError) as e:
        call(sim, "PATCH", path, body={"guardrail_prompt": "plain json"})
    assert e.value.status == 422
    status, body = call(sim, "PATCH", path, body=[{"op": "replace", "path": "/uuid", "value": "gX"}])
    assert status == 304  # the id is the server's


def test_unknown_ids_are_404_with_error(sim):
    for method in ("GET", "PATCH", "DELETE"):
        with pytest.raises(ApiError) as e:
            call(sim, method, "/v2/guardrails/gnope", body=[])
        assert e.value.status == 404 and e.value.payload == {"error": "Guardrail not found"}


def test_delete_also_detaches_the_guardrail_from_personas(sim):
    g, other = create(sim, "a"), create(sim, "b")
    p = psim.add_persona(sim, persona_name="p", guardrail_ids=[g["uuid"], other["uuid"]])
    assert call(sim, "DELETE", f"/v2/guardrails/{g['uuid']}") == (204, None)
    (stored,) = psim.personas(sim)
    assert stored["persona_id"] == p["persona_id"] and stored["guardrail_ids"] == [other["uuid"]]
    assert [x["guardrail_name"] for x in gsim.guardrails(sim)] == ["b"]


def test_a_legacy_set_is_got_wrapped_and_its_delete_scrubs_guardrails_id(sim):
    s = gsim.add_legacy_set(sim, "Old")
    assert call(sim, "GET", f"/v2/guardrails/{s['guardrails_id']}")[1]["data"]["name"] == "Old"
    psim.add_persona(sim, persona_name="p", guardrails_id=s["guardrails_id"])
    call(sim, "DELETE", f"/v2/guardrails/{s['guardrails_id']}")
    assert "guardrails_id" not in psim.personas(sim)[0] and gsim.legacy_sets(sim) == []


def test_create_a_legacy_set_by_shape(sim):
    _, body = call(sim, "POST", "/v2/guardrails", body={"name": "Set", "data": []})
    assert set(body) == {"guardrails_id", "guardrails_name", "status", "created_at"}


def test_route_a_dropped_create_still_lands(sim):
    from reconciler.sim.routes import Drop, Faults

    with pytest.raises(Drop):
        gsim.route(sim, "POST", ["v2", "guardrails"], {}, json.dumps({"guardrail_name": "a", "guardrail_prompt": "p"})
                   .encode(), Faults(drop=True))
    assert [g["guardrail_name"] for g in gsim.guardrails(sim)] == ["a"]
    status, payload, ctype, _ = gsim.route(sim, "GET", ["v2", "guardrails"], {"legacy": "false"}, b"", Faults())
    assert status == 200 and ctype == "application/json" and payload["total_count"] == 1


def test_route_checks():
    assert gsim.COLLECTIONS == ("guardrails",) and gsim.allowed(["v2", "guardrails"]) == ("GET", "POST")
    with pytest.raises(ApiError):
        gsim.check_route(["v2", "guardrails", "a", "b"], ApiError)
