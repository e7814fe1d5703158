"""The simulator's replicas (``/v2/replicas*``, and ``/v2/faces*`` under the newer names), as documented.

The fake account itself (stored replicas, training, the operations) is ``reconciler.sim.sim_account``
(``sim.account``). Reached through the one route registry (``reconciler.sim.routes``) after auth and the
shared fault injection.
"""

from __future__ import annotations

from typing import Any

from reconciler.sim.routes import Faults, SimError, json_object, land

COLLECTIONS = ("replicas",)
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "faces": ("replicas", {"face_id": "replica_id", "face_name": "replica_name", "face_type": "replica_type",
                           "face_ids": "replica_ids"}),
}


def allowed(parts: list[str]) -> tuple[str, ...]:
    """The methods a path allows; 404 for paths this module does not serve."""
    if len(parts) > 4 or (len(parts) == 4 and parts[3] != "name"):
        raise SimError(404, f"no route for /{'/'.join(parts)}")
    return {2: ("GET", "POST"), 3: ("GET", "DELETE"), 4: ("PATCH",)}[len(parts)]


def route(sim: Any, method: str, parts: list[str], query: dict[str, str], body: bytes,
          faults: Faults) -> tuple[int, Any, str, dict[str, str]]:
    """One request (route checked, faults drawn): a 504'd create still lands 1-1.5 s later, a dropped one
    is carried out and its answer lost, a slow one answers ``slow_create`` seconds late."""
    account = sim.account
    if len(parts) == 2 and method == "GET":
        return 200, account.list(query), "application/json", {}
    if len(parts) == 2:
        # 504'd: a gateway gives up at once; the backend still creates the replica a little later
        create = account.create_quietly if faults.late else account.create
        return 200, land(faults, lambda: create(body)), "application/json", {}
    rid = parts[2]
    if method == "GET":
        return 200, account.get(rid, query), "application/json", {}
    if method == "DELETE":
        return 200, account.delete_api(rid), "application/json", {}
    return 200, account.rename_api(rid, body), "application/json", {}


def control(sim: Any, method: str, parts: list[str], body: bytes) -> tuple[int, Any] | None:
    """``GET /_sim/replicas`` (every replica, stock ones too) and ``POST /_sim/replicas`` (add one)."""
    if parts[2:] != ["replicas"]:
        return None
    if method == "GET":
        return 200, sim.replicas(include_system=True)
    if method == "POST":
        return 200, sim.add_replica(**json_object(body))
    return None
