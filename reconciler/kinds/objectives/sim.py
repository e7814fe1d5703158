"""The simulator's objectives sets (``/v2/objectives*``), as documented.

- ``POST /v2/objectives`` with ``{name?, data: [...], allow_loops?}``: at most 50 objectives, each with an
  ``objective_name`` (no spaces, unique in the set) and an ``objective_prompt`` (at most 10,000 characters),
  ``confirmation_mode`` auto|manual, ``modality`` verbal|visual, links (``next_required_objective`` (a string) or
  ``next_required_objectives`` (a list): both accepted; ``next_conditional_objectives``) naming objectives of
  the set, no loop unless ``allow_loops``. Invalid: 400 ``{"error": ...}``. Answer: ``{objectives_id, name,
  status, created_at}``.
- ``POST /v2/objectives/validate``: the same checks, nothing saved: 200 ``{"valid": true}`` or 200
  ``{"valid": false, "errors": [...]}``.
- ``GET`` lists sets 1-based (``page`` default 1, ``limit`` default 10, capped at 100):
  ``{"data": [...], "total_count": N}``; ``GET /{id}`` answers ``{"data": set}``. ``PATCH`` is a JSON Patch
  (304 when nothing changed, 422 bad patch, 400 when the result is invalid); ``DELETE`` 204. Unknown ids: 404
  ``{"error": "Objectives not found"}``.

Reached after auth and the shared fault injection (latency, 5xx, 429, dropped and 504'd creates).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from typing import Any

from reconciler.sim.patch import PatchError, apply_patch
from reconciler.sim.routes import Faults, SimError, land, positive_int
from reconciler.sim.sim_account import json_object

NOT_FOUND = "Objectives not found"
_SERVER_FIELDS = ("objectives_id", "created_at", "updated_at", "status")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sets: dict[str, dict[str, Any]] = {}  # objectives_id -> set, in creation order
        self.validations = 0  # POST /validate requests answered (tests: no request without --check)


def store(sim: Any) -> Store:
    with sim._lock:
        st = getattr(sim, "_objectives_store", None)
        if st is None:
            st = sim._objectives_store = Store()
        return st


def add_objectives(sim: Any, name: str | None, data: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Seed a set directly (tests)."""
    now = _iso(time.time())
    doc = {"objectives_id": "o" + uuid.uuid4().hex[:10], **({"name": name} if name is not None else {}),
           "data": copy.deepcopy(data), **fields, "created_at": now, "updated_at": now}
    st = store(sim)
    with st.lock:
        st.sets[doc["objectives_id"]] = doc
    return copy.deepcopy(doc)


def objectives(sim: Any) -> list[dict[str, Any]]:
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(d) for d in st.sets.values()]


COLLECTIONS = ("objectives",)


def _max_page(sim: Any) -> int:
    return getattr(getattr(sim, "account", None), "max_page_size", 100)


def check_route(parts: list[str], error: type) -> tuple[str, ...]:
    if len(parts) == 3 and parts[2] == "validate":
        return ("POST",)
    allowed = {2: ("GET", "POST"), 3: ("GET", "PATCH", "DELETE")}.get(len(parts))
    if allowed is None:
        raise error(404, f"no route for /{'/'.join(parts)}")
    return allowed


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The hook of the route registry (reconciler.sim.routes): the methods a path allows; 404 otherwise."""
    return check_route(parts, SimError)


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Faults) -> tuple[int, Any, str, dict[str, str]]:
    """One request, after auth and the shared fault injection: a create runs under the drawn faults
    (:func:`reconciler.sim.routes.land`: 504'd and landing later, answer dropped, slow)."""
    if len(parts) == 2 and method == "POST":
        status, payload = 200, land(faults, lambda: handle(sim, method, parts, query, body, SimError,
                                                           positive_int)[1])
    else:
        status, payload = handle(sim, method, parts, query, body, SimError, positive_int)
    return status, b"" if payload is None else payload, "application/json", {}


def problems(doc: Any) -> list[str]:
    """What the server finds wrong with a set (empty: valid)."""
    if not isinstance(doc, dict):
        return ["request body must be a JSON object"]
    data = doc.get("data")
    if not isinstance(data, list) or not data:
        return ["data must be a non-empty array of objectives"]
    if len(data) > 50:
        return ["at most 50 objectives a set"]
    out: list[str] = []
    names = [o.get("objective_name") for o in data if isinstance(o, dict)]
    for i, o in enumerate(data):
        out.extend(f"data[{i}]: {p}" for p in _objective_problems(o, names))
    if len(set(names)) != len(names):
        out.append("objective names must be unique in a set")
    if not out and doc.get("allow_loops") is not True and _loops(data):
        out.append("the objectives form a loop and allow_loops is false")
    return out


def _objective_problems(o: Any, names: list[Any]) -> list[str]:
    if not isinstance(o, dict):
        return ["an objective is an object"]
    out = []
    name, prompt = o.get("objective_name"), o.get("objective_prompt")
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        out.append("objective_name is required, without spaces")
    if not isinstance(prompt, str) or not prompt or len(prompt) > 10_000:
        out.append("objective_prompt is required, at most 10000 characters")
    if o.get("confirmation_mode", "auto") not in ("auto", "manual"):
        out.append("confirmation_mode must be auto or manual")
    if o.get("modality", "verbal") not in ("verbal", "visual"):
        out.append("modality must be verbal or visual")
    for target in _links(o):
        if target not in names:
            out.append(f"{target} is not an objective of the set")
    return out


def _links(o: dict[str, Any]) -> list[str]:
    out: list[str] = []
    one, many, cond = o.get("next_required_objective"), o.get("next_required_objectives"), \
        o.get("next_conditional_objectives")
    if isinstance(one, str):
        out.append(one)
    if isinstance(many, list):
        out.extend(str(v) for v in many)
    if isinstance(cond, dict):
        out.extend(str(k) for k in cond)
    return out


def _loops(data: list[Any]) -> bool:
    graph = {o["objective_name"]: _links(o) for o in data if isinstance(o, dict)}
    done: set[str] = set()

    def cyclic(node: str, path: frozenset[str]) -> bool:
        if node in path:
            return True
        if node in done:
            return False
        found = any(cyclic(n, path | {node}) for n in graph.get(node, ()))
        done.add(node)
        return found

    return any(cyclic(n, frozenset()) for n in graph)


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes, error: type,
           positive_int: Any) -> tuple[int, Any]:
    st = store(sim)
    if len(parts) == 3 and parts[2] == "validate":
        found = problems(json_object(body))
        with st.lock:
            st.validations += 1
        return 200, ({"valid": True, "message": "Objectives are valid"} if not found
                     else {"valid": False, "errors": found})
    if len(parts) == 2 and method == "GET":
        limit, page = min(positive_int(query, "limit", 10), _max_page(sim)), positive_int(query, "page", 1)
        with st.lock:
            sets = list(st.sets.values())
            return 200, {"data": [copy.deepcopy(d) for d in sets[(page - 1) * limit:page * limit]],
                         "total_count": len(sets)}
    if len(parts) == 2:
        return 200, _create(st, body, error)
    oid = parts[2]
    with st.lock:
        doc = st.sets.get(oid)
        if doc is None:
            raise error(404, NOT_FOUND, error_key=True)
        if method == "GET":
            return 200, {"data": copy.deepcopy(doc)}
        if method == "DELETE":
            del st.sets[oid]
            return 204, None
        try:
            patched = apply_patch(doc, json.loads(body or b"null"))
        except (ValueError, UnicodeDecodeError, PatchError):
            raise error(422, "Invalid JSON patch format") from None
        for key in _SERVER_FIELDS:
            if key in doc:
                patched[key] = doc[key]
        if patched == doc:
            return 304, {"message": "No changes were made to the objectives"}
        found = problems(patched)
        if found:
            raise error(400, "; ".join(found), error_key=True)
        patched["updated_at"] = _iso(time.time())
        st.sets[oid] = patched
        return 200, {"message": "Objective updated successfully"}


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = json_object(body)
    found = problems(data)
    if found:
        raise error(400, "; ".join(found), error_key=True)
    now = _iso(time.time())
    doc = {k: copy.deepcopy(v) for k, v in data.items() if k not in _SERVER_FIELDS}
    doc.update(objectives_id="o" + uuid.uuid4().hex[:10], created_at=now, updated_at=now)
    with st.lock:
        st.sets[doc["objectives_id"]] = doc
    return {"objectives_id": doc["objectives_id"], "name": doc.get("name"), "status": "active", "created_at": now}
