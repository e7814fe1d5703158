"""The simulator's tools (``/v2/tools*``) and their attachment to personas (``/v2/pals/{id}/tools*``), as the API
reference documents them.

Reached from the simulator's HTTP layer after auth and the shared fault injection (latency, 5xx, 429, rate
limit, dropped and 504'd creates), so those faults apply here too. ``/v2/pals/...`` reaches this module as
``/v2/personas/...`` (the simulator's alias layer). As documented:

- the listing pages from **1** (default ``limit`` 10, pages capped at :data:`MAX_PAGE`), oldest first
  (``sort=desc`` for newest first), ``type=user`` (default), ``system`` or ``all`` (system tools first); the
  answer carries ``total_count``. The one system tool, ``end_call``, has ``tool_id`` = its name, ``owner_id``
  null, ``is_system_tool: true``; it cannot be created, updated or deleted;
- names match ``^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`` and are unique per account (a second create of a name answers
  409; a delete frees the name); ``delivery.api.url`` is https, ``timeout`` at most 60 s;
- GET answers every ``delivery.api.auth`` secret as ``********`` (:attr:`Store.mask_secrets`);
- ``PATCH /{id}`` takes a plain JSON body and changes only the fields sent; ``DELETE /{id}`` 204 (the tool is
  also detached from every persona); an unknown id answers 404 ``{"error": "Tool not found"}``;
- ``POST /v2/pals/{id}/tools {"tool_ids": [...]}`` attaches (idempotent; at most 50 a persona; 400 for an
  unknown persona or tool), ``GET`` lists the attached tools, ``DELETE /v2/pals/{id}/tools/{tool_id}`` detaches
  (400 ``{"error": "Bad Request. Tool not attached to this PAL"}`` when it is not). Attachments are the
  persona's ``tool_ids``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from reconciler.sim.routes import Faults, SimError, land, page

COLLECTIONS = ("tools",)
SUBRESOURCES = (("personas", "tools"),)  # /v2/personas/{id}/tools... (and /v2/pals/..., the alias)

MAX_PAGE = 100
DEFAULT_LIMIT = 10
MAX_ATTACHED = 50
MAX_TIMEOUT = 60
MASK = "********"
NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}\Z")
SECRET_AUTH_KEYS = ("token", "password", "value", "secret", "client_secret")
_SERVER_FIELDS = ("tool_id", "owner_id", "is_system_tool", "created_at", "updated_at")
OWNER = 3675
END_CALL = {"tool_id": "end_call", "owner_id": None, "name": "end_call", "is_system_tool": True,
            "description": "End the call at a natural stopping point.", "parameters": {}, "origin": "llm",
            "trigger_type": "in_call", "delivery": {"app_message": True}}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


class Store:
    """The fake account's tools. Thread-safe through its own lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tools: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # creation order, oldest first
        self.mask_secrets = True
        self.system = [copy.deepcopy(END_CALL)]

    def put(self, doc: dict[str, Any]) -> None:
        self.tools[doc["tool_id"]] = doc
        self.order.append(doc["tool_id"])

    def named(self, name: str) -> str | None:
        return next((tid for tid in self.order if self.tools[tid].get("name") == name), None)

    def view(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        auth = (out.get("delivery") or {}).get("api", {}).get("auth") if isinstance(out.get("delivery"), dict) \
            else None
        if self.mask_secrets and isinstance(auth, dict):
            for key in SECRET_AUTH_KEYS:
                if auth.get(key) is not None:
                    auth[key] = MASK
        return out


def store(sim: Any) -> Store:
    """The tool store of ``sim`` (made on first use)."""
    with sim._lock:
        st = getattr(sim, "_tool_store", None)
        if st is None:
            st = sim._tool_store = Store()
        return st


def configure(sim: Any, *, mask_secrets: bool | None = None) -> None:
    st = store(sim)
    with st.lock:
        if mask_secrets is not None:
            st.mask_secrets = mask_secrets


def add_tool(sim: Any, **fields: Any) -> dict[str, Any]:
    """Seed a user tool directly (tests); returns it unmasked."""
    st = store(sim)
    now = _iso(time.time())
    doc = {"tool_id": fields.pop("tool_id", None) or "t" + uuid.uuid4().hex[:12], "owner_id": OWNER,
           "name": fields.pop("name", None) or "tool_" + uuid.uuid4().hex[:8], "description": "", "parameters": {},
           "delivery": {"app_message": True}, "is_system_tool": False, "trigger_type": "in_call", "origin": "llm",
           "created_at": now, "updated_at": now, **fields}
    with st.lock:
        st.put(doc)
    return copy.deepcopy(doc)


def tools(sim: Any) -> list[dict[str, Any]]:
    """The stored user tools, oldest first, unmasked: what the account really holds."""
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(st.tools[i]) for i in st.order]


# ------------------------------------------------------------------ routes


def serves(parts: list[str]) -> bool:
    """Whether this module serves the path: ``/v2/tools...`` and ``/v2/personas/{id}/tools...``."""
    return parts[:2] == ["v2", "tools"] or (len(parts) >= 4 and parts[:2] == ["v2", "personas"] and parts[3] == "tools")


def check_route(parts: list[str], error: type) -> tuple[str, ...]:
    """The methods a path allows; 404 for paths this module does not serve."""
    if parts[:2] == ["v2", "tools"]:
        allowed = {2: ("GET", "POST"), 3: ("GET", "PATCH", "DELETE")}.get(len(parts))
    elif serves(parts):
        allowed = {4: ("GET", "POST"), 5: ("DELETE",)}.get(len(parts))
    else:
        allowed = None
    if allowed is None:
        raise error(404, f"no route for /{'/'.join(parts)}")
    return allowed


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The route registry's hook (``reconciler.sim.routes``): the methods a path allows."""
    return check_route(parts, SimError)


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Faults) -> tuple[int, Any, str, dict[str, str]]:
    """The route registry's hook (faults drawn there): a 504'd create or attach still lands ``late`` seconds
    later, a dropped one is carried out and its answer lost."""
    status, payload = land(faults, lambda: handle(sim, method, parts, query, body, SimError), slow=False)
    return status, b"" if payload is None else payload, "application/json", {}


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
           error: type) -> tuple[int, Any]:
    """One request (route already checked, faults already drawn). Returns (status, payload or None)."""
    if parts[1] == "personas":
        return _attachments(sim, method, parts, body, error)
    st = store(sim)
    if len(parts) == 2:
        if method == "GET":
            return 200, _list(st, query, error, min(MAX_PAGE, getattr(sim, "max_page_size", MAX_PAGE) or MAX_PAGE))
        return 200, _create(st, body, error)
    tid = parts[2]
    with st.lock:
        if any(t["tool_id"] == tid for t in st.system):
            if method == "GET":
                return 200, copy.deepcopy(next(t for t in st.system if t["tool_id"] == tid))
            raise error(400, "system tools cannot be updated or deleted", error_key=True)
        if tid not in st.tools:
            raise error(404, "Tool not found", error_key=True)
        if method == "GET":
            return 200, st.view(st.tools[tid])
        if method == "DELETE":
            del st.tools[tid]
            st.order.remove(tid)
    if method == "DELETE":
        _detach_everywhere(sim, tid)
        return 204, None
    return 200, _patch(st, tid, body, error)


def _list(st: Store, query: dict[str, str], error: type, max_page: int = MAX_PAGE) -> dict[str, Any]:
    kind = query.get("type") or "user"
    if kind not in ("user", "system", "all"):
        raise error(400, "type must be user, system or all")
    sort = (query.get("sort") or "asc").lower()
    if sort not in ("asc", "desc"):
        raise error(400, "sort must be asc or desc")
    with st.lock:
        own = [st.tools[i] for i in (st.order if sort == "asc" else reversed(st.order))]
        matches = {"user": own, "system": list(st.system), "all": [*st.system, *own]}[kind]
        answer = page(matches, query, first_page=1, default_limit=DEFAULT_LIMIT, max_page_size=max_page)
        return {**answer, "data": [st.view(t) for t in answer["data"]]}


def _object(body: bytes, error: type) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise error(400, "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise error(400, "request body must be a JSON object")
    return data


def _check(data: dict[str, Any], error: type) -> None:
    """The documented constraints of a tool's fields (400 on a broken one)."""
    if "name" in data and (not isinstance(data["name"], str) or not NAME.match(data["name"])):
        raise error(400, "name must match ^[a-zA-Z_][a-zA-Z0-9_]{0,63}$", error_key=True)
    if "parameters" in data and not isinstance(data["parameters"], dict):
        raise error(400, "parameters must be a JSON Schema object", error_key=True)
    delivery = data.get("delivery")
    if delivery is None:
        return
    if not isinstance(delivery, dict):
        raise error(400, "delivery must be an object", error_key=True)
    api = delivery.get("api")
    if api is None:
        return
    if not isinstance(api, dict) or not isinstance(api.get("url"), str):
        raise error(400, "delivery.api needs a url", error_key=True)
    with contextlib.suppress(ValueError):
        if urlsplit(api["url"]).scheme == "https" and urlsplit(api["url"]).hostname:
            timeout = api.get("timeout", 10)
            if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT:
                raise error(400, f"delivery.api.timeout must be at most {MAX_TIMEOUT} seconds", error_key=True)
            return
    raise error(400, "delivery.api.url must be an https URL", error_key=True)


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = _object(body, error)
    if "name" not in data:
        raise error(400, "name is required", error_key=True)
    _check(data, error)
    now = _iso(time.time())
    doc = {"description": "", "parameters": {}, "delivery": {"app_message": True}, "origin": "llm",
           "trigger_type": "in_call", **{k: copy.deepcopy(v) for k, v in data.items() if k not in _SERVER_FIELDS}}
    doc.update(tool_id="t" + uuid.uuid4().hex[:12], owner_id=OWNER, is_system_tool=False, created_at=now,
               updated_at=now)
    with st.lock:
        if st.named(doc["name"]) is not None or any(t["name"] == doc["name"] for t in st.system):
            raise error(409, f"a tool named {doc['name']} already exists", error_key=True)
        st.put(doc)
        return st.view(doc)


def _patch(st: Store, tid: str, body: bytes, error: type) -> dict[str, Any]:
    data = {k: v for k, v in _object(body, error).items() if k not in _SERVER_FIELDS}  # read-only: ignored
    _check(data, error)
    with st.lock:
        doc = st.tools.get(tid)
        if doc is None:
            raise error(404, "Tool not found", error_key=True)
        other = st.named(data["name"]) if "name" in data else None
        if other is not None and other != tid:
            raise error(409, f"a tool named {data['name']} already exists", error_key=True)
        doc.update(copy.deepcopy(data))
        doc["updated_at"] = _iso(time.time())
        return st.view(doc)


# ------------------------------------------------------------------ attachments


def _personas(sim: Any) -> Any:
    from reconciler.kinds.personas import sim as persona_sim

    return persona_sim.store(sim)


def attached_ids(sim: Any, persona_id: str) -> list[str]:
    """The tool ids attached to a persona (tests)."""
    ps = _personas(sim)
    with ps.lock:
        return list(ps.personas[persona_id].get("tool_ids") or [])


def _attachments(sim: Any, method: str, parts: list[str], body: bytes, error: type) -> tuple[int, Any]:
    st, ps, pid = store(sim), _personas(sim), parts[2]
    data = _object(body, error) if method == "POST" else {}
    with ps.lock:
        persona = ps.personas.get(pid)
        if persona is None:
            raise error(400, "Invalid persona_id", error_key=True)
        current = [t for t in persona.get("tool_ids") or [] if isinstance(t, str)]
        if method == "GET":
            with st.lock:
                return 200, {"data": [st.view(st.tools[t]) for t in current if t in st.tools]}
        if method == "DELETE":
            tid = parts[4]
            if tid not in current:
                raise error(400, "Bad Request. Tool not attached to this PAL", error_key=True)
            persona["tool_ids"] = [t for t in current if t != tid]
            return 200, {"message": "Tool detached"}
        ids = data.get("tool_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(t, str) for t in ids):
            raise error(400, "tool_ids must be a non-empty array of tool ids", error_key=True)
        with st.lock:
            unknown = [t for t in ids if t not in st.tools]
        if unknown:
            raise error(400, f"Invalid tool_id: {unknown[0]}", error_key=True)
        new = [t for t in dict.fromkeys(ids) if t not in current]
        if len(current) + len(new) > MAX_ATTACHED:
            raise error(400, f"a PAL can have at most {MAX_ATTACHED} attached tools", error_key=True)
        persona["tool_ids"] = current + new
        return 200, {"tool_ids": persona["tool_ids"], "attached": new,
                     "already_attached": [t for t in dict.fromkeys(ids) if t in current]}


def _detach_everywhere(sim: Any, tool_id: str) -> None:
    ps = _personas(sim)
    with ps.lock:
        for persona in ps.personas.values():
            ids = persona.get("tool_ids")
            if isinstance(ids, list) and tool_id in ids:
                persona["tool_ids"] = [t for t in ids if t != tool_id]
