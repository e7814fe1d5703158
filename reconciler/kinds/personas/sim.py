"""The simulator's personas and conversations (``/v2/personas*``, ``/v2/conversations*``), as documented.

Reached through the one route registry (``reconciler.sim.routes``) after auth and the shared fault injection (latency,
5xx, 429, rate limit, dropped and 504'd creates), so those faults apply here too. Switches (both readings of
the docs), set with :func:`configure`:

- ``hide_uncertain``: Get/List omit ``pipeline_mode``, ``objectives_id``, ``guardrails_id`` and
  ``layers.conversational_flow`` (the documented item schema lacks them);
- ``mask_api_keys``: layer ``api_key`` values come back masked (``sk-****1234``) instead of in clear;
- ``reject_test_mode``: ids of personas or replicas whose test-mode conversations are refused (400).

Editor drafts (issue 25, page "PAL Editing Lifecycle"): :func:`leave_draft` (or ``POST
/_sim/personas/{id}/draft``) leaves an unpublished draft on a persona, as a person in Tavus's visual editor
would; a PATCH then answers 409 ``{"conflict": "maker_changes"}`` unless it carries ``?force=true``, which
discards the draft and says so (``discarded_maker_changes: true``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from typing import Any

from reconciler.sim.patch import PatchError, apply_patch  # noqa: F401 - re-exported (tests)
from reconciler.sim.routes import Faults, SimError, land, positive_int
from reconciler.sim.sim_account import json_object

COLLECTIONS = ("personas", "conversations")
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "pals": ("personas", {"pal_id": "persona_id", "pal_name": "persona_name", "pal_type": "persona_type"}),
}

UNCERTAIN = ("pipeline_mode", "objectives_id", "guardrails_id")
STOCK_PERSONAS: tuple[dict[str, Any], ...] = (
    {"persona_id": "p5317866", "persona_name": "Tavus Researcher", "system_prompt": "You are a researcher.",
     "pipeline_mode": "full", "default_replica_id": "r9fa0878977", "layers": {"llm": {"model": "tavus-gpt-4o"}}},
    {"persona_id": "pb8ed1d1", "persona_name": "Tavus Support Agent", "system_prompt": "You help customers.",
     "pipeline_mode": "full", "default_replica_id": "rb17cf590e15", "layers": {}},
)
_CREATE_FIELDS = ("persona_name", "system_prompt", "pipeline_mode", "context", "default_replica_id",
                  "document_ids", "document_tags", "objectives_id", "guardrails_id", "layers")  # the oldest docs'
PIPELINE_MODES = ("full", "echo", "speech-to-speech")
_SERVER_FIELDS = ("persona_id", "persona_type", "created_at", "updated_at")  # set by the server, never by a body


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Store:
    """The fake account's personas and conversations. Thread-safe through its own lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.personas: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # creation order, oldest first
        self.conversations: dict[str, dict[str, Any]] = {}
        self.hide_uncertain = False
        self.mask_api_keys = False
        self.reject_test_mode: set[str] = set()
        self.drafts: set[str] = set()  # persona ids with an unpublished editor draft
        now = time.time()
        for i, stock in enumerate(STOCK_PERSONAS):
            self._put({**copy.deepcopy(stock), "persona_type": "system", "created_at": _iso(now - 1000 + i),
                       "updated_at": _iso(now - 1000 + i)})

    def _put(self, doc: dict[str, Any]) -> None:
        self.personas[doc["persona_id"]] = doc
        self.order.append(doc["persona_id"])

    def view(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        if self.hide_uncertain:
            for key in UNCERTAIN:
                out.pop(key, None)
            if isinstance(out.get("layers"), dict):
                out["layers"].pop("conversational_flow", None)
        if self.mask_api_keys and isinstance(out.get("layers"), dict):
            for layer in ("llm", "tts"):
                sub = out["layers"].get(layer)
                if isinstance(sub, dict) and isinstance(sub.get("api_key"), str):
                    sub["api_key"] = "sk-****" + sub["api_key"][-4:]
        return out


def store(sim: Any) -> Store:
    """The persona store of ``sim`` (made on first use)."""
    with sim._lock:
        st = getattr(sim, "_persona_store", None)
        if st is None:
            st = sim._persona_store = Store()
        return st


def configure(sim: Any, *, hide_uncertain: bool | None = None, mask_api_keys: bool | None = None,
              reject_test_mode: set[str] | None = None) -> None:
    st = store(sim)
    with st.lock:
        if hide_uncertain is not None:
            st.hide_uncertain = hide_uncertain
        if mask_api_keys is not None:
            st.mask_api_keys = mask_api_keys
        if reject_test_mode is not None:
            st.reject_test_mode = set(reject_test_mode)


def add_persona(sim: Any, **fields: Any) -> dict[str, Any]:
    """Seed a user persona directly (tests)."""
    st = store(sim)
    now = time.time()
    doc = {"persona_id": fields.pop("persona_id", None) or "p" + uuid.uuid4().hex[:10], "persona_type": "user",
           "created_at": _iso(now), "updated_at": _iso(now), **fields}
    with st.lock:
        st._put(doc)
    return copy.deepcopy(doc)


def leave_draft(sim: Any, persona_id: str) -> None:
    """Leave an unpublished editor draft on a persona (KeyError when there is no such persona)."""
    st = store(sim)
    with st.lock:
        if persona_id not in st.personas:
            raise KeyError(persona_id)
        st.drafts.add(persona_id)


def personas(sim: Any, include_system: bool = False) -> list[dict[str, Any]]:
    """Raw stored personas (unmasked, every field): what the account really holds."""
    st = store(sim)
    with st.lock:
        return [copy.deepcopy(st.personas[i]) for i in st.order
                if include_system or st.personas[i].get("persona_type") != "system"]


def check_route(parts: list[str], error: type) -> tuple[str, ...]:
    """The methods a path allows; 404 for paths this module does not serve."""
    if parts[1] == "personas":
        allowed = {2: ("GET", "POST"), 3: ("GET", "PATCH", "DELETE")}.get(len(parts))
    else:
        allowed = {2: ("POST",), 3: ("GET", "DELETE")}.get(len(parts))
        if len(parts) == 4 and parts[3] == "end":
            allowed = ("POST",)
    if allowed is None:
        raise error(404, f"no route for /{'/'.join(parts)}")
    return allowed


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The route registry's hook (``reconciler.sim.routes``): the methods a path allows."""
    return check_route(parts, SimError)


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Faults) -> tuple[int, Any, str, dict[str, str]]:
    """The route registry's hook (faults drawn there): a 504'd create still lands ``late`` seconds later, a
    dropped create is carried out and its answer lost (``slow_create`` is the replicas' only)."""
    status, payload = land(faults, lambda: handle(sim, method, parts, query, body, SimError, positive_int),
                           slow=False)
    return status, b"" if payload is None else payload, "application/json", {}


def control(sim: Any, method: str, parts: list[str], body: bytes) -> tuple[int, Any] | None:
    """``POST /_sim/personas/{id}/draft``: leave an unpublished editor draft on a persona (issue 25): its
    PATCHes answer 409."""
    if not (method == "POST" and len(parts) == 5 and parts[2] == "personas" and parts[4] == "draft"):
        return None
    from urllib.parse import unquote

    try:
        leave_draft(sim, unquote(parts[3]))
    except KeyError:
        return 404, {"message": f"no persona {parts[3]}"}
    return 200, {"message": "draft left", "persona_id": parts[3]}


def handle(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes, error: type,
           positive_int: Any) -> tuple[int, Any]:
    """One request (route already checked, faults already drawn). Returns (status, payload or None)."""
    st = store(sim)
    if parts[1] == "personas":
        if len(parts) == 2 and method == "GET":
            return 200, _list(st, query, error, positive_int)
        if len(parts) == 2:
            return 200, _create(st, body, error)
        pid = parts[2]
        with st.lock:
            doc = st.personas.get(pid)
            if doc is None:
                raise error(400, "Invalid persona_id", error_key=True)
            if method == "GET":
                return 200, {"data": [st.view(doc)]}
            if doc.get("persona_type") == "system":
                raise error(400, "stock personas are read-only")
            if method == "DELETE":
                del st.personas[pid]
                st.order.remove(pid)
                return 204, None
            forced = query.get("force", "").lower() == "true"
            if pid in st.drafts and not forced:
                conflict = error(409, "The persona has unpublished changes in the PAL Maker editor; publish or "
                                      "discard them, or send force=true to overwrite them")
                conflict.payload["conflict"] = "maker_changes"
                raise conflict
            try:
                ops = json.loads(body or b"null")
                patched = apply_patch(doc, ops)
            except (ValueError, UnicodeDecodeError, PatchError):
                raise error(422, "Invalid JSON patch format") from None
            discarded = pid in st.drafts
            st.drafts.discard(pid)
            if patched == doc and not discarded:
                return 304, {"message": "No changes were made to the persona"}
            patched["persona_id"], patched["persona_type"] = pid, "user"
            patched["updated_at"] = _iso(time.time())
            st.personas[pid] = patched
            return 200, {**st.view(patched), **({"discarded_maker_changes": True} if discarded else {})}
    return _conversation(sim, st, method, parts, body, error)


def _list(st: Store, query: dict[str, str], error: type, positive_int: Any) -> dict[str, Any]:
    limit = positive_int(query, "limit", 10)
    page = positive_int(query, "page", 1)
    ptype = query.get("persona_type") or None
    if ptype not in (None, "user", "system"):
        raise error(400, "persona_type must be user or system")
    size = min(limit, 100)
    with st.lock:
        matches = [st.personas[i] for i in reversed(st.order)
                   if ptype is None or st.personas[i].get("persona_type") == ptype]
        window = matches[(page - 1) * size:page * size]
        return {"data": [st.view(d) for d in window], "total_count": len(matches)}


def _create(st: Store, body: bytes, error: type) -> dict[str, Any]:
    data = json_object(body)  # 400 "request body must be a JSON object", as for replicas
    if data.get("pipeline_mode", "full") not in PIPELINE_MODES:
        raise error(400, "pipeline_mode must be full, echo or speech-to-speech")
    if data.get("pipeline_mode") != "echo" and not isinstance(data.get("system_prompt"), str):
        raise error(400, "system_prompt is required unless pipeline_mode is echo")
    if "layers" in data and not isinstance(data["layers"], dict):
        raise error(400, "layers must be an object")
    now = time.time()
    # every field is kept and returned (guardrail_ids, tool_ids, greeting, newer layers...): the API's field
    # list grows faster than any schema (issue 25)
    doc = {k: copy.deepcopy(v) for k, v in data.items() if k not in _SERVER_FIELDS}
    doc.update(persona_id="p" + uuid.uuid4().hex[:10], persona_type="user", created_at=_iso(now),
               updated_at=_iso(now))
    with st.lock:
        st._put(doc)
    return {"persona_id": doc["persona_id"], "persona_name": doc.get("persona_name"), "created_at": doc["created_at"]}


def _conversation(sim: Any, st: Store, method: str, parts: list[str], body: bytes, error: type) -> tuple[int, Any]:
    if len(parts) >= 3:
        with st.lock:
            conv = st.conversations.get(parts[2])
            if conv is None:
                raise error(400, "Invalid conversation_id", error_key=True)
            if method == "GET":
                return 200, dict(conv)
            if method == "DELETE":
                del st.conversations[parts[2]]
                return 204, None
            conv["status"] = "ended"
            return 200, {"message": "conversation ended"}
    data = json_object(body)  # 400 "request body must be a JSON object", as for replicas
    pid, rid = data.get("persona_id"), data.get("replica_id")
    with st.lock:
        persona = st.personas.get(pid) if pid else None
        if pid and persona is None:
            raise error(400, "Invalid persona_id", error_key=True)
    if not rid and persona is not None:
        rid = persona.get("default_replica_id")
    if not rid:
        raise error(400, "replica_id is required (the persona has no default_replica_id)")
    account = sim.account  # the replicas live in sim_account.Account since the simulator split
    with account._lock:
        rec = account._replicas.get(rid)
        status = rec.state(account.train_seconds)[0] if rec is not None else None
    if rec is None:
        raise error(400, "Invalid replica_id", error_key=True)
    if status not in ("completed", "ready"):
        raise error(400, f"replica {rid} is not ready (status {status})")
    test = data.get("test_mode") is True
    with st.lock:
        if test and (pid in st.reject_test_mode or rid in st.reject_test_mode):
            raise error(400, "the persona's pipeline was rejected")
        cid = "c" + uuid.uuid4().hex[:10]
        conv = {"conversation_id": cid, "conversation_name": data.get("conversation_name") or f"conversation {cid}",
                "conversation_url": f"https://tavus.daily.co/{cid}", "status": "ended" if test else "active",
                "replica_id": rid, "persona_id": pid, "test_mode": test, "created_at": _iso(time.time())}
        st.conversations[cid] = conv
    return 200, {k: conv[k] for k in ("conversation_id", "conversation_name", "conversation_url", "status",
                                      "created_at")}


# ------------------------------------------------------------------ RFC 6902
