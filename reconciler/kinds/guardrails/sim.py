"""The simulator's guardrails (``/v2/guardrails*``), as documented (pages "Create / List / Get Guardrails" and
"Legacy guardrail sets").

- Individual guardrails: ``POST`` with ``guardrail_name`` (letters, digits, ``_``; at most 100),
  ``guardrail_prompt`` (at most 1,000), ``modality`` (verbal | visual, default verbal), ``callback_url`` (at most
  2,048), ``tags`` (at most 32 of at most 64), ``app_message`` (default true); the answer is the guardrail, its
  id in **``uuid``**.
- Legacy sets share the path: a ``POST`` with ``name`` and ``data`` makes one (id ``guardrails_id``); a listing
  **without ``legacy=false`` returns the sets**, not the guardrails. ``legacy=false`` lists individual
  guardrails, **0-based** (``page=0`` is the first page, the default), ``limit`` default 10 (capped at 100),
  ``sort`` ascending|descending, filters ``name_or_uuid`` and ``tags`` (comma-separated, any-match).
- ``GET`` an individual id answers the guardrail; a set's id ``{"data": set}``. ``PATCH`` is a JSON Patch
  (304 ``{"message": ...}`` when nothing changed, 422 for a bad patch). ``DELETE`` answers 204 and **also
  removes the id from every persona's** ``guardrail_ids`` (a set's from ``guardrails_id``). Unknown ids: 404
  ``{"error": "Guardrail not found"}``.

Reached after auth and the shared fault injection (latency, 5xx, 429, dropped and 504'd creates).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from typing import Any

from reconciler.kinds.personas import sim as persona_sim
from reconciler.sim.patch import PatchError, apply_patch
from reconciler.sim.routes import Faults, SimError, land, positive_int
from reconciler.sim.sim_account import json_object

NAME = re.compile(r"^[A-Za-z0-9_]{1,100}$")
MODALITIES = ("verbal", "visual")
_SERVER_FIELDS = ("uuid", "created_at", "updated_at")
NOT_FOUND = "Guardrail not found"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Store:
    """The fake account's guardrails and legacy sets. Thread-safe through its own lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, dict[str, Any]] = {}  # uuid -> guardrail, in creation order
        self.sets: dict[str, dict[str, Any]] = {}  # guardrails_id -> legacy set, in creation order


def store(sim: Any) -> Store:
    with sim._lock:
        st = getattr(sim, "_guardrail_store", None)
        if st is None:
            st = sim._guardrail_store = Store()
        return st


def add_guardrail(sim: Any, **fields: Any) -> dict[str, Any]:
    """Seed an individual guardrail directly (tests)."""
    now = _iso(time.time())
    doc = {"modality": "verbal", "tags": [], "app_message": True, **fields}
    doc.setdefault("uuid", "g" + uuid.uuid4().hex[:12])
    doc.setdefault("created_at", now)
    doc.setdefault("updated_at", now)
    st = store(sim)
    with st.lock:
        st.items[doc["uuid"]] = doc
    return copy.deepcopy(doc)


def add_legacy_set(sim: Any, name: str, data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Seed a legacy guardrail set (tests): what a listing without ``legacy=false`` returns."""
    now = _iso(time.time())
    doc = {"guardrails_id": "g" + uuid.uuid4().hex[:12], "name": name, "data": copy.deepcopy(data or []),
           "created_at": now, "updated_at": now}
    st = store(sim)
    with st.lock:
        st.sets[doc["guardrails_id"]] = doc
    return copy.deepcopy(doc)


def guardrails(sim: Any) -> list[dict[str, Any]]:
    """Raw stored individual guardrails: what the account really holds."""
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(d) for d in st.items.values()]


def legacy_sets(sim: Any) -> list[dict[str, Any]]:
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(d) for d in st.sets.values()]


COLLECTIONS = ("guardrails",)


def _max_page(sim: Any) -> int:
    return getattr(getattr(sim, "account", None), "max_page_size", 100)


def check_route(parts: list[str], error: type) -> tuple[str, ...]:
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


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes, error: type,
           positive_int: Any) -> tuple[int, Any]:
    st = store(sim)
    if len(parts) == 2:
        if method == "GET":
            if query.get("legacy", "true").lower() == "false":
                return 200, _list(st, query, error, positive_int, _max_page(sim))
            return 200, _list_sets(st, query, positive_int, _max_page(sim))
        return 200, _create(st, body, error)
    gid = parts[2]
    if method == "DELETE":
        return _delete(sim, st, gid, error)
    with st.lock:
        doc, is_set = (st.items.get(gid), False) if gid in st.items else (st.sets.get(gid), True)
        if doc is None:
            raise error(404, NOT_FOUND, error_key=True)
        if method == "GET":
            return 200, ({"data": copy.deepcopy(doc)} if is_set else copy.deepcopy(doc))
        try:
            patched = apply_patch(doc, json.loads(body or b"null"))
        except (ValueError, UnicodeDecodeError, PatchError):
            raise error(422, "Invalid JSON patch format") from None
        if not is_set:
            _check(patched, error)
        for key in ("guardrails_id",) if is_set else _SERVER_FIELDS:
            if key in doc:
                patched[key] = doc[key]
        if patched == doc:
            return 304, {"message": "No changes were made to the guardrail"}
        patched["updated_at"] = _iso(time.time())
        (st.sets if is_set else st.items)[gid] = patched
        return 200, copy.deepcopy(patched)


def _window(matches: list[dict[str, Any]], page: int, limit: int, base: int, cap: int = 100
            ) -> list[dict[str, Any]]:
    size = min(limit, cap)
    start = (page - base) * size
    return [copy.deepcopy(d) for d in matches[start:start + size]]


def _list(st: Store, query: dict[str, str], error: type, positive_int: Any, cap: int = 100) -> dict[str, Any]:
    limit = positive_int(query, "limit", 10)
    raw_page = query.get("page", "") or "0"
    if not raw_page.isdigit():
        raise error(400, "page must be an integer >= 0 (pages start at 0 when legacy=false)")
    page = int(raw_page)
    sort = query.get("sort") or "ascending"
    if sort not in ("ascending", "descending"):
        raise error(400, "sort must be ascending or descending")
    needle = query.get("name_or_uuid") or None
    tags = {t for t in (query.get("tags") or "").split(",") if t}
    with st.lock:
        matches = [d for d in st.items.values()
                   if (needle is None or needle in (d.get("uuid"), d.get("guardrail_name")))
                   and (not tags or tags & set(d.get("tags") or ()))]
        if sort == "descending":
            matches.reverse()
        return {"data": _window(matches, page, limit, 0, cap), "total_count": len(matches), "page": page,
                "limit": limit}


def _list_sets(st: Store, query: dict[str, str], positive_int: Any, cap: int = 100) -> dict[str, Any]:
    limit = positive_int(query, "limit", 10)
    page = positive_int(query, "page", 1)
    with st.lock:
        matches = list(st.sets.values())
        return {"data": _window(matches, page, limit, 1, cap), "total_count": len(matches)}


def _check(doc: dict[str, Any], error: type) -> None:
    """The documented constraints of an individual guardrail (400 otherwise)."""
    name, prompt = doc.get("guardrail_name"), doc.get("guardrail_prompt")
    if not isinstance(name, str) or not NAME.match(name):
        raise error(400, "guardrail_name is required: letters, digits and underscores only, at most 100 "
                         "characters", error_key=True)
    if not isinstance(prompt, str) or not prompt or len(prompt) > 1000:
        raise error(400, "guardrail_prompt is required, at most 1000 characters", error_key=True)
    if doc.get("modality", "verbal") not in MODALITIES:
        raise error(400, "modality must be verbal or visual", error_key=True)
    tags = doc.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 32 or any(not isinstance(t, str) or len(t) > 64 for t in tags):
        raise error(400, "tags: at most 32 strings of at most 64 characters", error_key=True)
    url = doc.get("callback_url")
    if url is not None and (not isinstance(url, str) or len(url) > 2048):
        raise error(400, "callback_url must be a string of at most 2048 characters", error_key=True)


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = json_object(body)
    now = _iso(time.time())
    if "guardrail_name" not in data and isinstance(data.get("data"), list):  # a legacy set (routed by shape)
        doc = {k: copy.deepcopy(v) for k, v in data.items() if k != "guardrails_id"}
        doc.update(guardrails_id="g" + uuid.uuid4().hex[:12], created_at=now, updated_at=now)
        with st.lock:
            st.sets[doc["guardrails_id"]] = doc
        return {"guardrails_id": doc["guardrails_id"], "guardrails_name": doc.get("name"), "status": "active",
                "created_at": now}
    doc = {"modality": "verbal", "tags": [], "app_message": True,
           **{k: copy.deepcopy(v) for k, v in data.items() if k not in _SERVER_FIELDS}}
    _check(doc, error)
    doc.update(uuid="g" + uuid.uuid4().hex[:12], created_at=now, updated_at=now)
    with st.lock:
        st.items[doc["uuid"]] = doc
    return copy.deepcopy(doc)


def _delete(sim: Any, st: Store, gid: str, error: type) -> tuple[int, Any]:
    with st.lock:
        if gid in st.items:
            del st.items[gid]
            field = "guardrail_ids"
        elif gid in st.sets:
            del st.sets[gid]
            field = "guardrails_id"
        else:
            raise error(404, NOT_FOUND, error_key=True)
    _unlink(sim, field, gid)  # after the guardrail lock is released: the two stores' locks never nest
    return 204, None


def _unlink(sim: Any, field: str, gid: str) -> None:
    """What Tavus does on a delete: the id leaves every persona that referenced it."""
    pst = persona_sim.store(sim)
    with pst.lock:
        for doc in pst.personas.values():
            value = doc.get(field)
            if isinstance(value, list) and gid in value:
                doc[field] = [v for v in value if v != gid]
            elif value == gid:
                del doc[field]
