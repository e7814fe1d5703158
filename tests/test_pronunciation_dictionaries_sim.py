"""kinds/pronunciation_dictionaries/sim.py: 0-based pages, rule checks, JSON Patch (304/422), delete unlinks."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.kinds.personas import sim as personas
from reconciler.kinds.pronunciation_dictionaries import sim as pds
from reconciler.sim.sim_account import ApiError

RULE = {"text": "Tavus", "pronunciation": "TAH-vus", "type": "alias"}


class Sim:
    def __init__(self):
        self._lock = threading.Lock()


@pytest.fixture
def sim():
    return Sim()


def call(sim, method, path, query=None, body=None):
    parts = [p for p in path.split("/") if p]
    assert method in pds.allowed(parts)
    raw = json.dumps(body).encode() if body is not None else b""
    return pds.handle(sim, method, parts, query or {}, raw, ApiError)


def create(sim, name, rules=(RULE,)):
    return call(sim, "POST", "/v2/pronunciation-dictionaries", body={"name": name, "rules": list(rules)})[1]


def test_create_fills_rule_defaults(sim):
    made = create(sim, "Brand")
    assert made["pronunciation_dictionary_id"].startswith("pd_") and made["rules_count"] == 1
    assert made["rules"] == [{**RULE, "case_sensitive": False, "word_boundaries": True}]


@pytest.mark.parametrize("body", [{"rules": []}, {"name": "x" * 256}, {"name": "a", "rules": [RULE, RULE]},
                                  {"name": "a", "rules": [{"text": "a", "pronunciation": "b"}]},
                                  {"name": "a", "rules": "x"}, {"name": "a", "rules": [RULE] * 10_001}])
def test_create_refusals(sim, body):
    with pytest.raises(ApiError) as e:
        call(sim, "POST", "/v2/pronunciation-dictionaries", body=body)
    assert e.value.status == 400


def test_listing_is_zero_based(sim):
    for i in range(5):
        create(sim, f"d{i}")
    first = call(sim, "GET", "/v2/pronunciation-dictionaries", {"limit": "2", "page": "0"})[1]
    last = call(sim, "GET", "/v2/pronunciation-dictionaries", {"limit": "2", "page": "2"})[1]
    assert [d["name"] for d in first["data"]] == ["d0", "d1"] and first["total_count"] == 5
    assert [d["name"] for d in last["data"]] == ["d4"]
    pds.configure(sim, list_rules=False)
    assert "rules" not in call(sim, "GET", "/v2/pronunciation-dictionaries")[1]["data"][0]
    for bad in ({"limit": "101"}, {"limit": "0"}, {"page": "-1"}):
        with pytest.raises(ApiError) as e:
            call(sim, "GET", "/v2/pronunciation-dictionaries", bad)
        assert e.value.status == 400


def test_json_patch_304_422_and_validation(sim):
    did = create(sim, "Brand")["pronunciation_dictionary_id"]
    path = f"/v2/pronunciation-dictionaries/{did}"
    assert call(sim, "PATCH", path, body=[{"op": "replace", "path": "/rules", "value": [RULE]}])[0] == 304
    assert call(sim, "PATCH", path, body=[{"op": "replace", "path": "/created_at", "value": "x"}])[0] == 304
    status, got = call(sim, "PATCH", path, body=[{"op": "replace", "path": "/name", "value": "New"}])
    assert status == 200 and got["name"] == "New"
    for bad in ({"name": "x"}, [{"op": "replace", "path": "/nope/x", "value": 1}]):
        with pytest.raises(ApiError) as e:
            call(sim, "PATCH", path, body=bad)
        assert e.value.status == 422
    with pytest.raises(ApiError) as e:
        call(sim, "PATCH", path, body=[{"op": "replace", "path": "/rules", "value": [RULE, RULE]}])
    assert e.value.status == 400


def test_unknown_id_and_delete_unlinks_personas(sim):
    did = create(sim, "Brand")["pronunciation_dictionary_id"]
    pid = personas.add_persona(sim, persona_name="p", layers={"tts": {"pronunciation_dictionary_id": did,
                                                                       "tts_engine": "cartesia"}})["persona_id"]
    assert call(sim, "DELETE", f"/v2/pronunciation-dictionaries/{did}") == (204, None)
    assert personas.personas(sim)[0]["layers"]["tts"] == {"tts_engine": "cartesia"} and pid
    with pytest.raises(ApiError) as e:
        call(sim, "GET", f"/v2/pronunciation-dictionaries/{did}")
    assert (e.value.status, e.value.payload) == (404, {"error": "Pronunciation dictionary not found"})
    assert pds.dictionaries(sim) == []


def test_route_hook_lands_creates_under_faults(sim):
    from reconciler.sim.routes import Drop, Faults

    body = json.dumps({"name": "d", "rules": [RULE]}).encode()
    with pytest.raises(Drop):
        pds.route(sim, "POST", ["v2", "pronunciation-dictionaries"], {}, body, Faults(drop=True))
    assert [d["name"] for d in pds.dictionaries(sim)] == ["d"]
    with pytest.raises(ApiError) as e:
        pds.allowed(["v2", "pronunciation-dictionaries", "x", "y"])
    assert e.value.status == 404
