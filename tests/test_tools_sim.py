"""kinds/tools/sim.py: the simulator's tools as documented (1-based pages, type filter, unique names, masked
secrets, plain-JSON PATCH of the fields sent, 404 body) and attachments to personas."""

from __future__ import annotations

import json
import threading

import pytest

from reconciler.kinds.personas import sim as personas
from reconciler.kinds.tools import sim as tools
from reconciler.sim.sim_account import ApiError


class Sim:
    def __init__(self):
        self._lock = threading.Lock()


@pytest.fixture
def sim():
    return Sim()


@pytest.fixture
def sim_http():
    """The real simulator (HTTP, auth, the route registry)."""
    from e2e import API_KEY

    from reconciler.sim.simulator import Simulator

    with Simulator(api_key=API_KEY) as s:
        yield s


def call(sim, method, path, query=None, body=None):
    parts = [p for p in path.split("/") if p]
    assert tools.serves(parts)
    assert method in tools.check_route(parts, ApiError)
    raw = json.dumps(body).encode() if body is not None else b""
    return tools.handle(sim, method, parts, query or {}, raw, ApiError)


def create(sim, name, **kw):
    return call(sim, "POST", "/v2/tools", body={"name": name, **kw})[1]


AUTH = {"api": {"url": "https://hr.example/lookup", "method": "POST", "auth": {"type": "bearer", "token": "tok-1"}}}


def test_routes():
    assert tools.check_route(["v2", "tools"], ApiError) == ("GET", "POST")
    assert tools.check_route(["v2", "personas", "p1", "tools", "t1"], ApiError) == ("DELETE",)
    assert not tools.serves(["v2", "personas", "p1"])
    with pytest.raises(ApiError) as e:
        tools.check_route(["v2", "tools", "t1", "x"], ApiError)
    assert e.value.status == 404


def test_create_masks_secrets_and_keeps_them(sim):
    made = create(sim, "lookup", delivery=AUTH)
    assert made["tool_id"].startswith("t") and made["delivery"]["api"]["auth"]["token"] == "********"
    assert made["origin"] == "llm" and made["is_system_tool"] is False
    assert tools.tools(sim)[0]["delivery"]["api"]["auth"]["token"] == "tok-1"
    status, got = call(sim, "GET", f"/v2/tools/{made['tool_id']}")
    assert status == 200 and got["delivery"]["api"]["auth"]["token"] == "********"
    tools.configure(sim, mask_secrets=False)
    assert call(sim, "GET", f"/v2/tools/{made['tool_id']}")[1]["delivery"]["api"]["auth"]["token"] == "tok-1"


@pytest.mark.parametrize("body,status", [
    ({"name": "1bad"}, 400), ({"description": "no name"}, 400), ({"name": "a", "parameters": []}, 400),
    ({"name": "a", "delivery": {"api": {"url": "http://x.example"}}}, 400),
    ({"name": "a", "delivery": {"api": {"url": "https://x.example", "timeout": 61}}}, 400),
    ({"name": "end_call"}, 409)])
def test_create_refusals(sim, body, status):
    with pytest.raises(ApiError) as e:
        call(sim, "POST", "/v2/tools", body=body)
    assert e.value.status == status and "error" in e.value.payload


def test_names_are_unique_until_deleted(sim):
    made = create(sim, "lookup")
    with pytest.raises(ApiError) as e:
        create(sim, "lookup")
    assert e.value.status == 409
    assert call(sim, "DELETE", f"/v2/tools/{made['tool_id']}") == (204, None)
    assert create(sim, "lookup")["name"] == "lookup"


def test_listing_is_one_based_with_type_filter(sim):
    for i in range(5):
        create(sim, f"t{i}")
    page1 = call(sim, "GET", "/v2/tools", {"limit": "2", "page": "1"})[1]
    page3 = call(sim, "GET", "/v2/tools", {"limit": "2", "page": "3"})[1]
    assert [t["name"] for t in page1["data"]] == ["t0", "t1"] and page1["total_count"] == 5
    assert [t["name"] for t in page3["data"]] == ["t4"]
    assert [t["name"] for t in call(sim, "GET", "/v2/tools", {"sort": "desc", "limit": "1"})[1]["data"]] == ["t4"]
    system = call(sim, "GET", "/v2/tools", {"type": "system"})[1]
    assert [t["tool_id"] for t in system["data"]] == ["end_call"] and system["data"][0]["is_system_tool"]
    assert call(sim, "GET", "/v2/tools", {"type": "all"})[1]["total_count"] == 6
    for bad in ({"page": "0"}, {"type": "mine"}, {"limit": "x"}):
        with pytest.raises(ApiError) as e:
            call(sim, "GET", "/v2/tools", bad)
        assert e.value.status == 400


def test_patch_changes_only_the_fields_sent(sim):
    made = create(sim, "lookup", description="old", delivery=AUTH)
    status, got = call(sim, "PATCH", f"/v2/tools/{made['tool_id']}", body={"description": "new", "owner_id": 1})
    assert status == 200 and got["description"] == "new" and got["owner_id"] == tools.OWNER
    assert tools.tools(sim)[0]["delivery"]["api"]["auth"]["token"] == "tok-1"
    other = create(sim, "other")
    with pytest.raises(ApiError) as e:
        call(sim, "PATCH", f"/v2/tools/{other['tool_id']}", body={"name": "lookup"})
    assert e.value.status == 409


def test_unknown_and_system_ids(sim):
    for method in ("GET", "PATCH", "DELETE"):
        with pytest.raises(ApiError) as e:
            call(sim, method, "/v2/tools/tnope", body={} if method == "PATCH" else None)
        assert (e.value.status, e.value.payload) == (404, {"error": "Tool not found"})
    assert call(sim, "GET", "/v2/tools/end_call")[1]["is_system_tool"] is True
    with pytest.raises(ApiError) as e:
        call(sim, "DELETE", "/v2/tools/end_call")
    assert e.value.status == 400


def test_attach_detach_and_delete_detaches(sim):
    pid = personas.add_persona(sim, persona_name="p")["persona_id"]
    a, b = create(sim, "a")["tool_id"], create(sim, "b", delivery=AUTH)["tool_id"]
    status, got = call(sim, "POST", f"/v2/personas/{pid}/tools", body={"tool_ids": [a, b]})
    assert status == 200 and got["attached"] == [a, b]
    assert call(sim, "POST", f"/v2/personas/{pid}/tools", body={"tool_ids": [a]})[1]["already_attached"] == [a]
    assert tools.attached_ids(sim, pid) == [a, b]
    listed = call(sim, "GET", f"/v2/personas/{pid}/tools")[1]["data"]
    assert [t["tool_id"] for t in listed] == [a, b] and listed[1]["delivery"]["api"]["auth"]["token"] == "********"
    assert call(sim, "DELETE", f"/v2/personas/{pid}/tools/{a}") == (200, {"message": "Tool detached"})
    with pytest.raises(ApiError) as e:
        call(sim, "DELETE", f"/v2/personas/{pid}/tools/{a}")
    assert e.value.payload == {"error": "Bad Request. Tool not attached to this PAL"}
    call(sim, "DELETE", f"/v2/tools/{b}")
    assert tools.attached_ids(sim, pid) == []


def test_attach_refusals(sim):
    pid = personas.add_persona(sim, persona_name="p")["persona_id"]
    ids = [tools.add_tool(sim, name=f"t{i}")["tool_id"] for i in range(51)]
    for path, body in (("/v2/personas/pnope/tools", {"tool_ids": ids[:1]}),
                       (f"/v2/personas/{pid}/tools", {"tool_ids": ["tnope"]}),
                       (f"/v2/personas/{pid}/tools", {"tool_ids": []}),
                       (f"/v2/personas/{pid}/tools", {"tool_ids": ids})):
        with pytest.raises(ApiError) as e:
            call(sim, "POST", path, body=body)
        assert e.value.status == 400


def test_route_drops_and_late_creates(sim):
    from reconciler.sim.routes import Drop, Faults

    parts = ["v2", "tools"]
    body = json.dumps({"name": "dropped"}).encode()
    assert tools.allowed(parts) == ("GET", "POST")
    with pytest.raises(Drop):
        tools.route(sim, "POST", parts, {}, body, Faults(drop=True))
    assert [t["name"] for t in tools.tools(sim)] == ["dropped"]  # carried out, answer lost
    status, payload, ctype, _ = tools.route(sim, "GET", parts, {}, b"", Faults())
    assert status == 200 and payload["total_count"] == 1 and ctype == "application/json"


def test_over_http_attachments_route_to_tools_also_under_pals(sim_http):
    import httpx
    from e2e import API_KEY

    with httpx.Client(base_url=sim_http.url, headers={"x-api-key": API_KEY}) as http:
        pid = http.post("/v2/personas", json={"persona_name": "p", "system_prompt": "x"}).json()["persona_id"]
        tid = http.post("/v2/tools", json={"name": "lookup", "delivery": AUTH}).json()["tool_id"]
        assert http.post(f"/v2/pals/{pid}/tools", json={"tool_ids": [tid]}).status_code == 200
        listed = http.get(f"/v2/pals/{pid}/tools").json()["data"]
        assert [t["tool_id"] for t in listed] == [tid] and listed[0]["delivery"]["api"]["auth"]["token"] == "********"
        assert http.get(f"/v2/personas/{pid}").json()["data"][0]["tool_ids"] == [tid]
        assert http.delete(f"/v2/pals/{pid}/tools/{tid}").status_code == 200
        assert http.put(f"/v2/personas/{pid}/tools").status_code == 405
        assert http.get("/v2/tools?limit=1&page=1").json()["total_count"] == 1
