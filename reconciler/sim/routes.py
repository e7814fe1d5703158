"""The one registry of the simulator's API routes: every ``/v2/<collection>`` is served by the ``sim.py`` of a
kind's folder (``reconciler/kinds/<kind>/sim.py``), found by scanning ``reconciler/kinds/``. A new kind adds
its routes by adding its own ``sim.py``; nothing in ``reconciler/sim/`` changes. The hook (/work/wt/SIM.md):

- ``COLLECTIONS: tuple[str, ...]``: the collections it serves (``("documents",)``: ``/v2/documents...``);
- ``allowed(parts) -> tuple[str, ...]``: the methods a path allows (``parts`` = ``["v2", "documents", id]``);
  raise ``SimError(404, ...)`` for a path it does not serve (the registry answers 405 for another method);
- ``route(sim, method, parts, query, body, faults) -> (status, payload, content_type, headers)``: one request,
  after auth and the shared fault injection (:class:`Faults`: what was drawn for it; :func:`land` applies a
  create's); ``payload`` a JSON-able value or bytes (``b""`` for none);
- optional ``ALIASES: {newer: (legacy, {newer field: legacy field})}`` (``/v2/faces`` for ``replicas``);
- optional ``SUBRESOURCES: ((collection, sub), ...)``: ``/v2/<collection>/<id>/<sub>...`` is served by this
  module, not the collection's (``(("personas", "tools"),)``: the tools kind serves a persona's attachments);
- optional ``control(sim, method, parts, body) -> (status, payload) | None``: ``/_sim/...`` endpoints
  (``parts`` = ``["", "_sim", ...]``), None when not its own.

Faults are drawn once per request in :meth:`reconciler.sim.simulator.Simulator._faults_for`, at the HTTP
layer, the same for every kind's routes.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import pkgutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from reconciler.sim.sim_account import ApiError as SimError
from reconciler.sim.sim_account import _positive_int as positive_int
from reconciler.sim.sim_account import json_object

__all__ = ["Drop", "Faults", "SimError", "aliases", "dispatch", "json_object", "land", "modules", "page",
           "positive_int", "subresources", "table"]


class Drop(Exception):
    """Raised by a route to close the connection without answering (a lost answer)."""


@dataclass(frozen=True)
class Faults:
    """What the shared fault injection drew for one request: ``drop`` its answer (POST), ``late``: answer 504
    at once and carry the create out this many seconds later (POST), ``slow``: hold a create's answer back
    this many seconds (POST)."""

    drop: bool = False
    late: float = 0.0
    slow: float = 0.0


def land(faults: Faults, create: Callable[[], Any], *, slow: bool = True) -> Any:
    """Carry out a create under ``faults``: 504'd then landing ``late`` seconds after (errors then
    swallowed), answered after ``slow`` seconds (``slow=False`` ignores it), or done and its answer dropped."""
    if faults.late:
        def later() -> None:
            with contextlib.suppress(Exception):
                create()

        timer = threading.Timer(faults.late, later)
        timer.daemon = True
        timer.start()
        raise SimError(504, "gateway timeout")
    result = create()
    if slow and faults.slow:
        time.sleep(faults.slow)
    if faults.drop:
        raise Drop()
    return result


def page(items: list[Any], query: dict[str, str], *, first_page: int = 1, default_limit: int = 10,
         max_page_size: int = 100) -> dict[str, Any]:
    """``{"data": [...], "total_count": N}`` for the page the query asks (``page`` counted from
    ``first_page``: 0 for documents), at most ``max_page_size`` items a page (a capped page)."""
    limit = positive_int(query, "limit", default_limit)
    raw = query.get("page")
    try:
        number = first_page if raw in (None, "") else int(raw)
    except ValueError:
        raise SimError(400, "page must be an integer") from None
    if number < first_page:
        raise SimError(400, f"page must be at least {first_page}")
    size = min(limit, max_page_size)
    start = (number - first_page) * size
    return {"data": items[start:start + size], "total_count": len(items)}


@lru_cache(maxsize=1)
def modules() -> tuple[ModuleType, ...]:
    """Every ``reconciler.kinds.<kind>.sim`` module, in folder order."""
    import reconciler.kinds as kinds_package

    found = []
    for info in sorted(pkgutil.iter_modules(kinds_package.__path__), key=lambda m: m.name):
        name = f"reconciler.kinds.{info.name}.sim"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return tuple(found)


@lru_cache(maxsize=1)
def table() -> dict[str, ModuleType]:
    """collection -> the module serving it (two modules claiming one collection is an error)."""
    out: dict[str, ModuleType] = {}
    for module in modules():
        for collection in getattr(module, "COLLECTIONS", ()):
            if collection in out:
                raise RuntimeError(f"/v2/{collection} is served by both {out[collection].__name__} and "
                                   f"{module.__name__}")
            out[collection] = module
    return out


@lru_cache(maxsize=1)
def subresources() -> dict[tuple[str, str], ModuleType]:
    """(collection, sub-resource) -> the module serving ``/v2/<collection>/<id>/<sub>...``."""
    out: dict[tuple[str, str], ModuleType] = {}
    for module in modules():
        for pair in getattr(module, "SUBRESOURCES", ()):
            if pair in out:
                raise RuntimeError(f"/v2/{pair[0]}/{{id}}/{pair[1]} is served by both {out[pair].__name__} and "
                                   f"{module.__name__}")
            out[pair] = module
    return out


@lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, dict[str, str]]]:
    """The newer collection names -> (the legacy collection, {newer field name: legacy field name})."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for module in modules():
        out.update(getattr(module, "ALIASES", {}))
    return out


def control(sim: Any, method: str, parts: list[str], body: bytes) -> tuple[int, Any] | None:
    """A kind's ``/_sim/`` endpoint, or None."""
    for module in modules():
        hook = getattr(module, "control", None)
        answer = hook(sim, method, parts, body) if hook is not None else None
        if answer is not None:
            return answer
    return None


def _route(sim: Any, h: Any, method: str, path: str, query: dict[str, str],
           body: bytes) -> tuple[int, Any, str, dict[str, str]]:
    """The routes of ``path`` (legacy names), after auth and faults."""
    parts = [p for p in path.split("/") if p]
    module = table().get(parts[1]) if len(parts) >= 2 and parts[0] == "v2" else None
    if module is not None and len(parts) >= 4:
        module = subresources().get((parts[1], parts[3]), module)
    if module is None:
        raise SimError(404, f"no route for {path}")
    allowed = module.allowed(parts)
    if method not in allowed:
        raise SimError(405, f"method {method} not allowed on {path}", {"Allow": ", ".join(allowed)})
    drop, late, slow, malformed = sim._faults_for(h, method, parts)
    if malformed:
        return 200, b"<html>oops</html>", "text/html", {}
    return module.route(sim, method, parts, query, body, Faults(drop=drop, late=late, slow=slow))


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every object key in ``names`` renamed (deep), and JSON Patch paths of renamed members."""
    if isinstance(value, dict):
        out = {names.get(k, k): _renamed(v, names) for k, v in value.items()}
        if isinstance(out.get("path"), str) and "op" in out:
            head, _, rest = out["path"].lstrip("/").partition("/")
            out["path"] = "/" + names.get(head, head) + (f"/{rest}" if rest else "")
        return out
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _sent_names(query: dict[str, str], data: Any) -> set[str]:
    sent = set(query)
    if isinstance(data, dict):
        sent |= set(data)
    elif isinstance(data, list):  # a JSON Patch: the members its paths name
        sent |= {str(op.get("path", "")).lstrip("/").split("/")[0] for op in data if isinstance(op, dict)}
    return sent


def dispatch(sim: Any, h: Any, method: str, path: str, query: dict[str, str],
             body: bytes) -> tuple[int, Any, str, dict[str, str]]:
    """One API request, also under the newer names (``/v2/faces``, ``/v2/pals``): the request is read in the
    newer vocabulary only (a legacy field name there is a 400) and answered in it."""
    parts = path.split("/")
    alias = aliases().get(parts[2]) if len(parts) > 2 and parts[1] == "v2" else None
    if alias is None:
        return _route(sim, h, method, path, query, body)
    legacy, names = alias
    back = {old: new for new, old in names.items()}
    data: Any = None
    if body:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            data = json.loads(body)
    mixed = sorted(_sent_names(query, data) & set(back))
    if mixed:
        raise SimError(400, f"unknown field {mixed[0]}: /v2/{parts[2]} speaks {back[mixed[0]]}")
    query = {names.get(k, k): v for k, v in query.items()}
    if data is not None:
        body = json.dumps(_renamed(data, names)).encode()

    def newer(text: str) -> str:
        for new, old in names.items():
            text = text.replace(old, new)
        return text

    try:
        status, payload, ctype, headers = _route(sim, h, method, "/".join([*parts[:2], legacy, *parts[3:]]),
                                                 query, body)
    except SimError as e:  # "Invalid replica_id" -> "Invalid face_id"
        e.message = newer(e.message)
        e.payload = {k: newer(v) if isinstance(v, str) else v for k, v in _renamed(e.payload, back).items()}
        raise
    return status, payload if isinstance(payload, bytes) else _renamed(payload, back), ctype, headers
