"""Guardrails, a resource kind (``guardrails:`` in the file; ``/v2/guardrails``), referenced by a persona's
``guardrail_ids``.

Identity: ``guardrail_name`` inside the scope, or a pinned ``guardrail_id`` (then a different name is renamed in
place). Diff: only the declared attributes are compared (``tags`` as a set: Tavus keeps no order that matters);
every documented field is updated in place with one JSON Patch (304 "no changes" is success). Nothing forces a
replace except ``--replace``. Quirks handled here, in one table (:data:`API`): the listing is sent with
``legacy=false`` and is 0-based (``page=0``, documented on List Guardrails), the id comes back as ``uuid``, a
legacy guardrail *set* in any answer is dropped (never compared, adopted or deleted), a 404 body uses ``error``,
and a DELETE also detaches the guardrail from every persona (said in the plan). Pure except the API calls, which
go through the one client.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine import jsonpatch
from reconciler.errors import NotFoundError
from reconciler.kinds.guardrails.models import DesiredGuardrail, RemoteGuardrail


@dataclass(frozen=True)
class ApiTable:
    """Everything the wire says about one kind: where it lives, how its items are named and listed, how it is
    patched. The one place to change when Tavus renames or re-pages it."""

    path: str
    id_field: str                       # where the id comes back in an item and a create answer
    name_field: str
    page_base: int = 1                  # the first page's number (0 or 1)
    list_params: Mapping[str, str] = field(default_factory=dict)  # fixed query parameters of every listing
    patch_style: str = "json-patch"     # "json-patch" (RFC 6902 array; 304 = no change) or "json" (plain body)
    id_fields: tuple[str, ...] = ()     # every field an id may come back in (the documented one first)
    not_found: tuple[int, ...] = (404,)


API = ApiTable(path="/v2/guardrails", id_field="uuid", name_field="guardrail_name", page_base=0,
               list_params={"legacy": "false"}, patch_style="json-patch", id_fields=("uuid", "guardrail_id"),
               not_found=(404, 400))

DELETE_NOTE = "Tavus also detaches it from every persona that attaches it"


def _same_tags(a: Any, b: Any) -> bool:
    if not isinstance(a, list | tuple) or not isinstance(b, list | tuple):
        return False
    return sorted(map(str, a)) == sorted(map(str, b))


class Guardrails:
    key = "guardrails"
    noun = "guardrail"
    api = API
    id_field = "guardrail_id"           # the file's pinned-id field (the API's is API.id_field, ``uuid``)
    name_field = "guardrail_name"
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()
    # a persona references guardrails by declared name (``guardrails: [names]``) -> ``guardrail_ids``
    reference_field = "guardrail_ids"

    def identity(self, desired: DesiredGuardrail) -> tuple[str, str]:
        return ("id", desired.guardrail_id) if desired.guardrail_id else ("name", desired.name)

    def remote_key(self, remote: RemoteGuardrail) -> str:
        return remote.guardrail_id

    def manageable(self, remote: RemoteGuardrail) -> bool:
        """Whether the item may be planned against at all: never a legacy set or an item of one."""
        return remote.manageable

    def desired_attributes(self, desired: DesiredGuardrail) -> dict[str, object]:
        return desired.create_payload()

    def remote_attributes(self, remote: RemoteGuardrail) -> dict[str, object]:
        return {"guardrail_name": remote.name, "modality": remote.modality,
                "tags": list(remote.tags) if remote.tags is not None else None}

    def replace_reason(self, desired: DesiredGuardrail, remote: RemoteGuardrail,
                       force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        return None

    def wanted(self, desired: DesiredGuardrail, remote: RemoteGuardrail) -> dict[str, Any]:
        """The declared document to compare with ``remote.document``: the name only for a pinned guardrail (an
        unpinned one is found by it), tags dropped when they are the same set."""
        want = {k: v for k, v in desired.attributes.items()}
        if desired.guardrail_id:
            want = {"guardrail_name": desired.name, **want}
        if "tags" in want and _same_tags(want["tags"], remote.document.get("tags")):
            del want["tags"]
        return want

    def in_place_changes(self, desired: DesiredGuardrail, remote: RemoteGuardrail
                         ) -> tuple[list[dict[str, Any]], list[tuple[str, object, object]]]:
        """(JSON Patch operations, shown rows (attribute, old, new)); both empty when nothing changes."""
        ops = jsonpatch.diff(remote.document, self.wanted(desired, remote))
        rows = []
        for op in ops:
            attr = jsonpatch.unescape(op["path"].lstrip("/").split("/")[0])
            rows.append((attr, remote.document.get(attr), op.get("value") if op["op"] != "remove" else None))
        return ops, rows

    def delete_note(self, remote: RemoteGuardrail) -> str:
        return DELETE_NOTE

    # ------------------------------------------------------------------ the API calls, on the one client

    def parse(self, item: Mapping[str, Any]) -> RemoteGuardrail:
        return RemoteGuardrail.from_api(item)

    def list(self, client: Any, *, ids: Sequence[str] | None = None) -> list[RemoteGuardrail]:
        """Every individual guardrail (``legacy=false``, pages from 0); legacy sets and their items are dropped."""
        found = [g for g in client.list_collection(self) if g.manageable]
        if ids is None:
            return found
        wanted = set(ids)
        return [g for g in found if g.guardrail_id in wanted]

    def get(self, client: Any, object_id: str) -> RemoteGuardrail:
        remote = client.get_object(self, object_id)
        if not remote.manageable:  # a set's id (or an item of one): never patched or deleted as a guardrail
            raise NotFoundError(f"{object_id} is a legacy guardrail set (or an item of one), not a guardrail",
                                method="GET",
                                path=f"{API.path}/{object_id}")
        return remote

    def create(self, client: Any, desired: DesiredGuardrail, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str:
        """POST once; a lost answer is settled by the client against the account (never re-sent blindly)."""
        payload = desired.create_payload()
        if name is not None:
            payload["guardrail_name"] = name
        return client.create_object(self, payload, known_ids=known_ids)

    def update(self, client: Any, object_id: str, ops: Sequence[Mapping[str, Any]]) -> bool:
        """One JSON Patch; False when the server says nothing changed (304)."""
        return bool(ops) and client.patch_object(self, object_id, list(ops))

    def rename(self, client: Any, object_id: str, name: str) -> None:
        client.patch_object(self, object_id, [{"op": "replace", "path": "/guardrail_name", "value": name}])

    def delete(self, client: Any, object_id: str) -> bool:
        return client.delete_object(self, object_id)


GUARDRAILS = Guardrails()
