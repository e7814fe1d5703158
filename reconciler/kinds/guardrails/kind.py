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
from typing import Any
from urllib.parse import urlsplit

from reconciler.api.listing import Listing as ApiListing
from reconciler.engine import jsonpatch
from reconciler.engine.kind import Listing
from reconciler.errors import NotFoundError
from reconciler.kinds.guardrails.models import FIELDS, DesiredGuardrail, RemoteGuardrail, scope_prefix

# the one table of the kind's API names and listing quirks (the client's generic calls read it): the
# documented id field is ``uuid`` (``guardrail_id`` tolerated), pages start at 0 and every listing says
# ``legacy=false`` (else the server answers the legacy SETS). A set (or an item of one) has no name for the
# client's lost-create settle: it is never adopted as a guardrail.
API = ApiListing(path="/v2/guardrails", noun="guardrail", id_field="uuid", name_field="guardrail_name",
                 first_page=0, params={"legacy": "false"}, id_aliases=("guardrail_id",),
                 parse_item=RemoteGuardrail.from_api, key_of=lambda g: g.guardrail_id,
                 name_getter=lambda g: g.name if g.manageable else None,
                 gone_words=("guardrail not found", "invalid guardrail", "invalid uuid"))

DELETE_NOTE = "Tavus also detaches it from every persona that attaches it"


def _carries_secret(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.query or parts.fragment or parts.username or parts.password)


def _same_tags(a: Any, b: Any) -> bool:
    if not isinstance(a, list | tuple) or not isinstance(b, list | tuple):
        return False
    return sorted(map(str, a)) == sorted(map(str, b))


def patch_ops(changes: Mapping[str, tuple[object, object]]) -> list[dict[str, Any]]:
    """One JSON Patch for top-level attribute changes. Always ``add``: on an object member RFC 6902 ``add`` sets
    the value whether the member exists or not (the server may have left an undeclared default out)."""
    return [{"op": "add", "path": jsonpatch.pointer((attr,)), "value": jsonpatch.encode_value(new)}
            for attr, (_old, new) in changes.items()]


class Guardrails:
    key = "guardrails"
    noun = "guardrail"
    api = API
    listing = Listing(first_page=API.first_page, filters=dict(API.params))  # legacy=false, pages from 0
    references: tuple[Any, ...] = ()  # a guardrail references nothing; personas reference it (guardrail_ids)
    id_field = "guardrail_id"           # the file's pinned-id field (the API's is API.id_field, ``uuid``)
    name_field = "guardrail_name"
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()

    def scope_prefix(self, prefix: str) -> str:
        """A guardrail name is letters, digits and ``_``: ``settings.scope.name_prefix: acme-`` scopes ``acme_*``."""
        return scope_prefix(prefix) or ""

    def identity(self, desired: DesiredGuardrail) -> tuple[str, str]:
        return ("id", desired.guardrail_id) if desired.guardrail_id else ("name", desired.name)

    def name_of(self, desired: DesiredGuardrail) -> str:
        return desired.name

    def document(self, desired: DesiredGuardrail) -> dict[str, Any]:
        """The declared guardrail as API fields (the create body): name and attributes."""
        return desired.create_payload()

    def remote_id(self, remote: RemoteGuardrail) -> str:
        return remote.guardrail_id

    def remote_name(self, remote: RemoteGuardrail) -> str:
        return remote.name or ""

    def managed(self, remote: RemoteGuardrail) -> bool:
        """Never a legacy set or an item of one: not compared, adopted, updated or pruned."""
        return remote.manageable

    def desired_attributes(self, desired: DesiredGuardrail) -> dict[str, object]:
        return desired.create_payload()

    def remote_attributes(self, remote: RemoteGuardrail) -> dict[str, object]:
        return {"guardrail_name": remote.name, **{k: v for k, v in remote.document.items() if k != "guardrail_name"}}

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

    def in_place_changes(self, desired: DesiredGuardrail, remote: RemoteGuardrail,
                         body: Mapping[str, Any] | None = None) -> dict[str, tuple[object, object]]:
        """Attribute -> (remote value, declared value) for every declared attribute that differs (one JSON Patch
        carries them all: :meth:`update`)."""
        out: dict[str, tuple[object, object]] = {}
        for op in jsonpatch.diff(remote.document, self.wanted(desired, remote)):
            attr = jsonpatch.unescape(op["path"].lstrip("/").split("/")[0])
            out[attr] = (remote.document.get(attr), self.wanted(desired, remote)[attr])
        return out

    def delete_note(self, remote: RemoteGuardrail) -> str:
        return DELETE_NOTE

    def export_entry(self, remote: RemoteGuardrail, name: str, warnings: list[str]) -> dict[str, Any]:
        """The file entry adopting ``remote`` (pinned by guardrail_id) under ``name``, every documented field it
        has, so that ``plan`` on the export shows no changes. A callback URL carrying credentials or a query
        (a token) is not written: a warning says to give it through a ${VAR}."""
        entry: dict[str, Any] = {"name": name, "guardrail_id": remote.guardrail_id}
        for key in FIELDS:
            value = remote.document.get(key)
            if value is None:
                continue
            if key == "callback_url" and isinstance(value, str) and _carries_secret(value):
                warnings.append(f"guardrail {remote.guardrail_id} ({name!r}): its callback_url carries credentials "
                                "or a query: not exported; declare it through a ${VAR}")
                continue
            entry[key] = list(value) if isinstance(value, tuple) else value
        return entry

    # ------------------------------------------------------------------ the API calls, on the one client

    def parse(self, item: Mapping[str, Any]) -> RemoteGuardrail:
        return RemoteGuardrail.from_api(item)

    def list(self, client: Any, *, ids: Sequence[str] | None = None) -> list[RemoteGuardrail]:
        """Every individual guardrail (``legacy=false``, pages from 0); legacy sets and their items are dropped."""
        found = [g for g in client.list_objects(API) if g.manageable]
        if ids is None:
            return found
        wanted = set(ids)
        return [g for g in found if g.guardrail_id in wanted]

    def get(self, client: Any, object_id: str) -> RemoteGuardrail:
        remote = client.get_object(API, object_id)
        if not remote.manageable:  # a set's id (or an item of one): never patched or deleted as a guardrail
            raise NotFoundError(f"{object_id} is a legacy guardrail set (or an item of one), not a guardrail",
                                method="GET", path=f"{API.path}/{object_id}")
        return remote

    def create(self, client: Any, body: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST once; a lost answer is settled by the client against the account (never re-sent blindly)."""
        return client.create_object(API, dict(body), known_ids=known_ids)

    def update(self, client: Any, object_id: str, changes: Mapping[str, tuple[object, object]]) -> bool:
        """One JSON Patch with every change; False when the server says nothing changed (304)."""
        return bool(changes) and client.patch_object(API, object_id, patch_ops(changes))

    def rename(self, client: Any, object_id: str, name: str) -> None:
        client.patch_object(API, object_id, [{"op": "replace", "path": "/guardrail_name", "value": name}])

    def delete(self, client: Any, object_id: str) -> bool:
        """True when deleted now, False when it was already gone."""
        return client.delete_object(API, object_id)


GUARDRAILS = Guardrails()
