"""Objectives sets, a resource kind (``objectives:`` in the file; ``/v2/objectives``), referenced by a persona's
``objectives_id``.

Identity: the set's ``name`` inside the scope, or a pinned ``objectives_id`` (then a different name is renamed
in place). Diff: ``data`` is compared objective by objective, in order, in the fields the file declares (the two
``next_required_objective(s)`` spellings compare as one) and replaced whole when it differs; ``allow_loops`` only
when declared. Everything is updated in place with one JSON Patch (304 "no changes" is success); nothing forces
a replace except ``--replace``. ``POST /v2/objectives/validate`` checks a set without saving it:
:meth:`Objectives.check`, which ``plan --check`` calls for every set the plan would create or change. Pure
except the API calls, which go through the one client.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from reconciler.api.listing import Listing as ApiListing
from reconciler.engine import jsonpatch
from reconciler.errors import BadRequestError
from reconciler.kinds.guardrails.kind import patch_ops
from reconciler.kinds.objectives.models import OBJECTIVE_FIELDS, DesiredObjectives, RemoteObjectives, same_data

# the one table of the kind's API names: pages from 1 (documented: "Default is 1"), JSON Patch updates
API = ApiListing(path="/v2/objectives", noun="objectives set", id_field="objectives_id", name_field="name",
                 first_page=1, id_aliases=("uuid", "id"), parse_item=RemoteObjectives.from_api,
                 key_of=lambda o: o.objectives_id, name_getter=lambda o: o.name,
                 gone_words=("objectives not found", "objective not found", "invalid objectives_id"))
VALIDATE_PATH = API.path + "/validate"


def _reasons(body: Any) -> str | None:
    """Why a validate answer says the set is invalid, or None when it says (or implies) valid. Tolerant: the
    answer's shape is not documented (``{"valid": false, "errors": [...]}``, ``{"error": ...}``...)."""
    if not isinstance(body, Mapping):
        return None
    errors = body.get("errors")
    listed = [str(e.get("message", e) if isinstance(e, Mapping) else e) for e in errors] \
        if isinstance(errors, list) else []
    invalid = body.get("valid") is False or body.get("is_valid") is False or bool(listed)
    if not invalid:
        return None
    if listed:
        return "; ".join(listed)
    return str(body.get("error") or body.get("message") or "the API says the objectives are invalid")


class Objectives:
    key = "objectives"
    noun = "objectives set"
    api = API
    references: tuple[Any, ...] = ()  # personas reference it (objectives: name -> objectives_id)
    id_field = "objectives_id"
    name_field = "name"
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()

    def identity(self, desired: DesiredObjectives) -> tuple[str, str]:
        return ("id", desired.objectives_id) if desired.objectives_id else ("name", desired.name)

    def name_of(self, desired: DesiredObjectives) -> str:
        return desired.name

    def document(self, desired: DesiredObjectives) -> dict[str, Any]:
        return desired.create_payload()

    def remote_id(self, remote: RemoteObjectives) -> str:
        return remote.objectives_id

    def remote_name(self, remote: RemoteObjectives) -> str:
        return remote.name or ""

    def managed(self, remote: RemoteObjectives) -> bool:
        return True  # no stock sets are documented

    def desired_attributes(self, desired: DesiredObjectives) -> dict[str, object]:
        return desired.create_payload()

    def remote_attributes(self, remote: RemoteObjectives) -> dict[str, object]:
        return {"name": remote.name, **{k: v for k, v in remote.document.items() if k != "name"}}

    def replace_reason(self, desired: DesiredObjectives, remote: RemoteObjectives,
                       force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        return None

    def in_place_changes(self, desired: DesiredObjectives, remote: RemoteObjectives,
                         body: Mapping[str, Any] | None = None) -> dict[str, tuple[object, object]]:
        """Attribute -> (remote value, declared value): ``data`` whole when an objective differs in a declared
        field (in order; the two next_required spellings compare as one), ``allow_loops`` when declared, the
        name of a pinned set, newer set-level fields the file declares."""
        doc = remote.document
        out: dict[str, tuple[object, object]] = {}
        if desired.objectives_id and remote.name != desired.name:
            out["name"] = (remote.name, desired.name)
        if not same_data(desired.data, doc.get("data")):
            out["data"] = (doc.get("data"), [dict(o) for o in desired.data])
        if desired.allow_loops is not None and doc.get("allow_loops") is not desired.allow_loops:
            out["allow_loops"] = (doc.get("allow_loops"), desired.allow_loops)
        for k, v in desired.extra.items():
            if not jsonpatch.same(doc.get(k), v):
                out[k] = (doc.get(k), v)
        return out

    def export_entry(self, remote: RemoteObjectives, name: str, warnings: list[str]) -> dict[str, Any]:
        """The file entry adopting ``remote`` (pinned by objectives_id) under ``name``: its objectives with the
        documented fields they have (``plan`` on the export shows no changes), ``allow_loops`` when set."""
        entry: dict[str, Any] = {"name": name, "objectives_id": remote.objectives_id,
                                 "data": [{k: v for k, v in o.items() if k in OBJECTIVE_FIELDS and v is not None}
                                          for o in remote.data]}
        if remote.allow_loops is not None:
            entry["allow_loops"] = remote.allow_loops
        if not remote.data:
            warnings.append(f"objectives set {remote.objectives_id} ({name!r}) has no objectives: the file needs at "
                            "least one; add them before planning")
        return entry

    # ------------------------------------------------------------------ the API calls, on the one client

    def parse(self, item: Mapping[str, Any]) -> RemoteObjectives:
        return RemoteObjectives.from_api(item)

    def list(self, client: Any, *, ids: Sequence[str] | None = None) -> list[RemoteObjectives]:
        found = client.list_objects(API)
        if ids is None:
            return found
        wanted = set(ids)
        return [o for o in found if o.objectives_id in wanted]

    def get(self, client: Any, object_id: str) -> RemoteObjectives:
        return client.get_object(API, object_id)

    def create(self, client: Any, body: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        return client.create_object(API, dict(body), known_ids=known_ids)

    def update(self, client: Any, object_id: str, changes: Mapping[str, tuple[object, object]]) -> bool:
        """One JSON Patch with every change; False when the server says nothing changed (304)."""
        return bool(changes) and client.patch_object(API, object_id, patch_ops(changes))

    def rename(self, client: Any, object_id: str, name: str) -> None:
        client.patch_object(API, object_id, [{"op": "replace", "path": "/name", "value": name}])

    def delete(self, client: Any, object_id: str) -> bool:
        return client.delete_object(API, object_id)

    def check(self, client: Any, desired: DesiredObjectives) -> str | None:
        """``POST /v2/objectives/validate``: None when the API accepts the set, else its reason (nothing is
        saved). A 400/422 is an answer ("invalid, because..."); any other failure propagates."""
        try:
            # nothing is saved: a retry after a lost answer is harmless
            body = client._call("POST", VALIDATE_PATH, json=desired.create_payload())
        except BadRequestError as e:
            return str(getattr(e, "server_message", None) or e)
        return _reasons(body)


OBJECTIVES = Objectives()
