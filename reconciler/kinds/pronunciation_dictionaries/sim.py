"""The simulator's pronunciation dictionaries (``/v2/pronunciation-dictionaries*``), as the API reference documents
them.

Reached from the simulator's HTTP layer after auth and the shared fault injection (latency, 5xx, 429, rate
limit, dropped and 504'd creates), so those faults apply here too. As documented:

- the listing pages from **0** (``page=0`` first; ``limit`` 1-100, default 10; 400 outside), oldest first;
  the answer carries ``total_count``; :attr:`Store.list_rules` False leaves the rules out of listed items
  (only ``rules_count``), as a leaner listing may;
- a create needs ``name`` (at most 255) and takes ``rules`` (at most 10,000, each with ``text``,
  ``pronunciation``, ``type`` alias|ipa; duplicate ``text`` values are refused with 400); rules are answered
  with ``case_sensitive: false`` and ``word_boundaries: true`` filled in; the id is
  ``pronunciation_dictionary_id`` (``pd_...``);
- ``PATCH /{id}`` is a JSON Patch on ``/name`` and ``/rules`` (read-only members are ignored): 304 when nothing
  changes, 422 ``Invalid JSON patch format`` for a patch that cannot apply, 400 for a result that breaks the rules;
- ``DELETE /{id}`` 204, and the dictionary is unlinked from every persona (``layers.tts.pronunciation_dictionary_id``);
  an unknown id answers 404 ``{"error": "Pronunciation dictionary not found"}``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from typing import Any

from reconciler.sim.patch import PatchError, apply_patch
from reconciler.sim.routes import Faults, SimError, land

COLLECTIONS = ("pronunciation-dictionaries",)

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
MAX_NAME = 255
MAX_RULES = 10_000
RULE_TYPES = ("alias", "ipa")
DEFAULTS = {"case_sensitive": False, "word_boundaries": True}
_READ_ONLY = ("pronunciation_dictionary_id", "rules_count", "created_at", "updated_at")


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Store:
    """The fake account's dictionaries. Thread-safe through its own lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dicts: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.list_rules = True

    def put(self, doc: dict[str, Any]) -> None:
        self.dicts[doc["pronunciation_dictionary_id"]] = doc
        self.order.append(doc["pronunciation_dictionary_id"])

    def view(self, doc: dict[str, Any], listed: bool = False) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        out["rules_count"] = len(out.get("rules") or [])
        if listed and not self.list_rules:
            out.pop("rules", None)
        return out


def store(sim: Any) -> Store:
    with sim._lock:
        st = getattr(sim, "_pronunciation_store", None)
        if st is None:
            st = sim._pronunciation_store = Store()
        return st


def configure(sim: Any, *, list_rules: bool | None = None) -> None:
    st = store(sim)
    with st.lock:
        if list_rules is not None:
            st.list_rules = list_rules


def add_dictionary(sim: Any, **fields: Any) -> dict[str, Any]:
    """Seed a dictionary directly (tests)."""
    st = store(sim)
    now = _iso(time.time())
    doc = {"pronunciation_dictionary_id": fields.pop("pronunciation_dictionary_id", None) or _new_id(),
           "name": "", "rules": [], "created_at": now, "updated_at": now, **fields}
    doc["rules"] = [{**DEFAULTS, **r} for r in doc["rules"]]
    with st.lock:
        st.put(doc)
    return copy.deepcopy(doc)


def dictionaries(sim: Any) -> list[dict[str, Any]]:
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(st.dicts[i]) for i in st.order]


def _new_id() -> str:
    return "pd_" + uuid.uuid4().hex[:14]


# ------------------------------------------------------------------ routes


def serves(parts: list[str]) -> bool:
    return parts[:2] == ["v2", "pronunciation-dictionaries"]


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The route registry's hook (``reconciler.sim.routes``): the methods a path allows."""
    methods = {2: ("GET", "POST"), 3: ("GET", "PATCH", "DELETE")}.get(len(parts))
    if not serves(parts) or methods is None:
        raise SimError(404, f"no route for /{'/'.join(parts)}")
    return methods


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Faults) -> tuple[int, Any, str, dict[str, str]]:
    """The route registry's hook (faults drawn there): a 504'd create still lands ``late`` seconds later, a
    dropped create is carried out and its answer lost."""
    status, payload = land(faults, lambda: handle(sim, method, parts, query, body, SimError), slow=False)
    return status, b"" if payload is None else payload, "application/json", {}


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
           error: type) -> tuple[int, Any]:
    st = store(sim)
    if len(parts) == 2:
        return (200, _list(st, query, error)) if method == "GET" else (200, _create(st, body, error))
    did = parts[2]
    with st.lock:
        doc = st.dicts.get(did)
        if doc is None:
            raise error(404, "Pronunciation dictionary not found", error_key=True)
        if method == "GET":
            return 200, st.view(doc)
        if method == "DELETE":
            del st.dicts[did]
            st.order.remove(did)
        else:
            return _patch(st, did, body, error)
    _unlink(sim, did)
    return 204, None


def _int(query: dict[str, str], key: str, default: int, least: int, most: int | None, error: type) -> int:
    raw = query.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error(400, f"{key} must be an integer") from None
    if value < least or (most is not None and value > most):
        raise error(400, f"{key} must be from {least} to {most}" if most else f"{key} must be at least {least}")
    return value


def _list(st: Store, query: dict[str, str], error: type) -> dict[str, Any]:
    limit = _int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT, error)
    page = _int(query, "page", 0, 0, None, error)  # zero-based
    with st.lock:
        window = st.order[page * limit:(page + 1) * limit]
        return {"data": [st.view(st.dicts[i], listed=True) for i in window], "total_count": len(st.order)}


def _object(body: bytes, error: type) -> dict[str, Any]:
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise error(400, "request body must be a JSON object") from None
    if not isinstance(data, dict):
        raise error(400, "request body must be a JSON object")
    return data


def _checked_rules(rules: Any, error: type) -> list[dict[str, Any]]:
    if not isinstance(rules, list):
        raise error(400, "rules must be an array", error_key=True)
    if len(rules) > MAX_RULES:
        raise error(400, f"at most {MAX_RULES} rules", error_key=True)
    seen: set[str] = set()
    out = []
    for rule in rules:
        if not isinstance(rule, dict) or not isinstance(rule.get("text"), str) or not rule["text"] \
                or not isinstance(rule.get("pronunciation"), str):
            raise error(400, "each rule needs text and pronunciation", error_key=True)
        if rule.get("type") not in RULE_TYPES:
            raise error(400, "rule type must be alias or ipa", error_key=True)
        if rule["text"] in seen:
            raise error(400, f"Duplicate text values are not allowed: {rule['text']}", error_key=True)
        seen.add(rule["text"])
        out.append({**DEFAULTS, **copy.deepcopy(rule)})
    return out


def _checked_name(name: Any, error: type) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise error(400, f"name is required (at most {MAX_NAME} characters)", error_key=True)
    return name


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = _object(body, error)
    now = _iso(time.time())
    doc = {k: copy.deepcopy(v) for k, v in data.items() if k not in _READ_ONLY}
    doc.update(pronunciation_dictionary_id=_new_id(), name=_checked_name(data.get("name"), error),
               rules=_checked_rules(data.get("rules", []), error), created_at=now, updated_at=now)
    with st.lock:
        st.put(doc)
        return st.view(doc)


def _patch(st: Store, did: str, body: bytes, error: type) -> tuple[int, Any]:
    """Under the store's lock."""
    doc = st.dicts[did]
    try:
        ops = json.loads(body or b"null")
        if not isinstance(ops, list):
            raise PatchError("a JSON Patch is an array")
        ops = [op for op in ops if not (isinstance(op, dict) and str(op.get("path", "")).lstrip("/").split("/")[0]
                                        in _READ_ONLY)]
        patched = apply_patch(doc, ops)
    except (ValueError, UnicodeDecodeError, PatchError):
        raise error(422, "Invalid JSON patch format") from None
    patched["name"] = _checked_name(patched.get("name"), error)
    patched["rules"] = _checked_rules(patched.get("rules", []), error)
    if patched == doc:
        return 304, {"message": "No changes were made to the pronunciation dictionary"}
    patched["updated_at"] = _iso(time.time())
    st.dicts[did] = patched
    return 200, st.view(patched)


def _unlink(sim: Any, did: str) -> None:
    """Tavus removes a deleted dictionary from every persona that cites it."""
    from reconciler.kinds.personas import sim as persona_sim

    ps = persona_sim.store(sim)
    with ps.lock:
        for persona in ps.personas.values():
            tts = (persona.get("layers") or {}).get("tts") if isinstance(persona.get("layers"), dict) else None
            if isinstance(tts, dict) and tts.get("pronunciation_dictionary_id") == did:
                del tts["pronunciation_dictionary_id"]
