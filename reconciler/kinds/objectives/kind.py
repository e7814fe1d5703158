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

from reconciler.engine import jsonpatch
from reconciler.errors import BadRequestError
from reconciler.kinds.guardrails.kind import ApiTable
from reconciler.kinds.objectives.models import DesiredObjectives, RemoteObjectives, same_data

API = ApiTable(path="/v2/objectives", id_field="objectives_id", name_field="name", page_base=1,
               patch_style="json-patch", id_fields=("objectives_id", "uuid", "id"), not_found=(404, 400))
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
    id_field = "objectives_id"
    name_field = "name"
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()
    reference_field = "objectives_id"  # a persona's ``objectives: name`` -> ``objectives_id`` (one id)

    def identity(self, desired: DesiredObjectives) -> tuple[str, str]:
        return ("id", desired.objectives_id) if desired.objectives_id else ("name", desired.name)

    def remote_key(self, remote: RemoteObjectives) -> str:
        return remote.objectives_id

    def desired_attributes(self, desired: DesiredObjectives) -> dict[str, object]:
        return desired.create_payload()

    def remote_attributes(self, remote: RemoteObjectives) -> dict[str, object]:
        return {"name": remote.name, "objectives": len(remote.data), "allow_loops": remote.allow_loops}

    def replace_reason(self, desired: DesiredObjectives, remote: RemoteObjectives,
                       force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        return None

    def wanted(self, desired: DesiredObjectives, remote: RemoteObjectives) -> dict[str, Any]:
        """The declared fields that differ from ``remote`` (``data`` whole; the name only when pinned)."""
        doc = remote.document
        want: dict[str, Any] = {}
        if desired.objectives_id and remote.name != desired.name:
            want["name"] = desired.name
        if not same_data(desired.data, doc.get("data")):
            want["data"] = [dict(o) for o in desired.data]
        if desired.allow_loops is not None and doc.get("allow_loops") is not desired.allow_loops:
            want["allow_loops"] = desired.allow_loops
        want.update({k: v for k, v in desired.extra.items() if not jsonpatch.same(doc.get(k), v)})
        return want

    def in_place_changes(self, desired: DesiredObjectives, remote: RemoteObjectives
                         ) -> tuple[list[dict[str, Any]], list[tuple[str, object, object]]]:
        """(JSON Patch operations, shown rows (attribute, old, new)); both empty when nothing changes."""
        want = self.wanted(desired, remote)
        ops = []
        rows: list[tuple[str, object, object]] = []
        for key, value in want.items():
            op = "replace" if key in remote.document else "add"
            ops.append({"op": op, "path": jsonpatch.pointer((key,)), "value": jsonpatch.encode_value(value)})
            old = remote.document.get(key)
            if key == "data":
                rows.append(("data", f"{len(old) if isinstance(old, list) else 0} objectives",
                             f"{len(value)} objectives"))
            else:
                rows.append((key, old, value))
        return ops, rows

    # ------------------------------------------------------------------ the API calls, on the one client

    def parse(self, item: Mapping[str, Any]) -> RemoteObjectives:
        return RemoteObjectives.from_api(item)

    def list(self, client: Any, *, ids: Sequence[str] | None = None) -> list[RemoteObjectives]:
        found = client.list_collection(self)
        if ids is None:
            return found
        wanted = set(ids)
        return [o for o in found if o.objectives_id in wanted]

    def get(self, client: Any, object_id: str) -> RemoteObjectives:
        return client.get_object(self, object_id)

    def create(self, client: Any, desired: DesiredObjectives, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str:
        payload = desired.create_payload()
        if name is not None:
            payload["name"] = name
        return client.create_object(self, payload, known_ids=known_ids)

    def update(self, client: Any, object_id: str, ops: Sequence[Mapping[str, Any]]) -> bool:
        return bool(ops) and client.patch_object(self, object_id, list(ops))

    def rename(self, client: Any, object_id: str, name: str) -> None:
        client.patch_object(self, object_id, [{"op": "replace", "path": "/name", "value": name}])

    def delete(self, client: Any, object_id: str) -> bool:
        return client.delete_object(self, object_id)

    def check(self, client: Any, desired: DesiredObjectives) -> str | None:
        """``POST /v2/objectives/validate``: None when the API accepts the set, else its reason (nothing is
        saved). A 400/422 is an answer ("invalid, because..."); any other failure propagates."""
        try:
            body = client.post_json(VALIDATE_PATH, desired.create_payload())
        except BadRequestError as e:
            return str(getattr(e, "server_message", None) or e)
        return _reasons(body)


OBJECTIVES = Objectives()
