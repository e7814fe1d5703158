"""Documents, a resource kind (see ``reconciler.kinds``): the knowledge base a persona cites by id.

Identity: ``document_name`` inside the scope, or a pinned ``document_id``. Diff: ``tags`` (when declared) and
a pinned document's name are updated in place with ONE plain-JSON PATCH (``{"document_name": ..., "tags":
[...]}``: the only fields the API can change); a changed ``document_url`` (compared without its signing
parameters) or ``crawl``, a failed processing or ``--replace`` forces a replace, carried out blue/green like
a replica's: the successor is created under a marked name (``reconciler.engine.successor``) and processed,
the personas citing the old document are re-pointed to it, then the old one is deleted and the successor
renamed. ``callback_url``, ``custom_description`` and ``participant_tags`` are create-time inputs, never
compared. What the API did not return (a listing without ``document_url`` or ``tags``) cannot be compared:
:meth:`Documents.uncomparable` names it, and the plan says so.

Readiness is asynchronous (:meth:`Documents.phase`, :meth:`Documents.not_ready`): ``apply`` waits for a
created or replacing document as it waits for training, and a failed one ends the wait with exit 3 and its
error code (``file_download_failed``). Pure except the API calls, which go through the one client.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reconciler.engine.kind import Listing, Reference
from reconciler.engine.status import Phase
from reconciler.kinds.documents.models import DesiredDocument, RemoteDocument, unsigned_url, url_key


@dataclass(frozen=True)
class ApiTable:
    """How the API serves documents: the one table of this kind's paths, fields and listing style."""

    path: str = "/v2/documents"
    id_field: str = "document_id"
    id_aliases: tuple[str, ...] = ("uuid",)  # one older example answers the id as uuid
    name_field: str = "document_name"
    first_page: int = 0  # documents page from 0, unlike replicas and personas (1)
    list_params: Mapping[str, str] = field(default_factory=dict)  # no fixed filter needed
    patch_style: str = "json"  # a plain JSON body (not JSON Patch)
    patchable: tuple[str, ...] = ("document_name", "tags")


API = ApiTable()


@cache
def _wire() -> Any:
    """The client's description of the collection (``reconciler.api.listing.Listing``): what the one client's
    generic calls (``list_objects``, ``get_object``, ``create_object``, ``patch_object``, ``delete_object``)
    page, parse and settle by."""
    from reconciler.api.listing import Listing as ApiListing

    return ApiListing(path=API.path, noun="document", id_field=API.id_field, name_field=API.name_field,
                      first_page=API.first_page, params=dict(API.list_params), id_aliases=API.id_aliases,
                      parse_item=RemoteDocument.from_api, key_of=lambda d: d.document_id,
                      name_getter=lambda d: d.name)


class Documents:
    key = "documents"
    noun = "document"
    references: tuple[Reference, ...] = ()  # a document cites nothing; personas cite documents
    listing = Listing(first_page=API.first_page, filters=dict(API.list_params))
    api = API
    id_field = API.id_field
    name_field = API.name_field
    create_only = ("callback_url", "custom_description", "participant_tags")
    replace_on = ("document_url", "crawl")
    in_place = ("document_name", "tags")
    asynchronous = True  # apply waits for processing, like training
    blue_green = True  # a replaced document keeps serving until its successor is ready

    # ------------------------------------------------------------------ identity and attributes

    def identity(self, desired: DesiredDocument) -> tuple[str, str]:
        return ("id", desired.document_id) if desired.document_id else ("name", desired.name)

    def name_of(self, desired: DesiredDocument) -> str:
        return desired.name

    def document(self, desired: DesiredDocument) -> dict[str, Any]:
        """The declared attributes: the body a create sends (a document references nothing)."""
        return desired.create_payload()

    def remote_name(self, remote: RemoteDocument) -> str:
        return remote.name

    def managed(self, remote: RemoteDocument) -> bool:
        return True  # there are no stock documents: every document is the account's own

    def remote_id(self, remote: RemoteDocument) -> str:
        return remote.document_id

    def parse(self, item: Mapping[str, Any]) -> RemoteDocument:
        return RemoteDocument.from_api(item)

    def desired_attributes(self, desired: DesiredDocument) -> dict[str, object]:
        """What a create sends, as shown in plans (renderers redact the URL's query string)."""
        return desired.create_payload()

    def remote_attributes(self, remote: RemoteDocument) -> dict[str, object]:
        attrs: dict[str, object] = {"document_name": remote.name, "status": remote.status}
        if remote.document_url is not None:
            attrs["document_url"] = remote.document_url
        if remote.tags is not None:
            attrs["tags"] = list(remote.tags)
        if remote.crawl is not None:
            attrs["crawl"] = dict(remote.crawl)
        return attrs

    # ------------------------------------------------------------------ diff

    def replace_reason(self, desired: DesiredDocument, remote: RemoteDocument,
                       force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        if remote.phase is Phase.FAILED:
            return f"processing failed: {remote.failure}"
        url, theirs = (None if desired.url_unknown else desired.document_url), remote.document_url
        if url and theirs and url_key(url) != url_key(theirs):
            return "document_url changed: forces replacement (a document's URL cannot be updated)"
        if desired.crawl is not None and remote.crawl is not None and dict(desired.crawl) != dict(remote.crawl):
            return "crawl changed: forces replacement (a document's crawl cannot be updated)"
        return None

    def in_place_changes(self, desired: DesiredDocument, remote: RemoteDocument,
                         body: Mapping[str, Any] | None = None) -> Mapping[str, tuple[object, object]]:
        """A pinned document's name and the declared tags (compared as a set: their order means nothing)."""
        changes: dict[str, tuple[object, object]] = {}
        if desired.document_id and remote.name != desired.name:
            changes["document_name"] = (remote.name, desired.name)
        if desired.tags is not None and remote.tags is not None and sorted(set(desired.tags)) != sorted(
                set(remote.tags)):
            changes["tags"] = (list(remote.tags), list(desired.tags))
        return changes

    def uncomparable(self, desired: DesiredDocument, remote: RemoteDocument) -> tuple[str, ...]:
        """Declared attributes the API did not return, so a change to them cannot be seen."""
        out = []
        if desired.document_url and (remote.document_url is None or desired.url_unknown):
            out.append("document_url")
        if desired.tags is not None and remote.tags is None:
            out.append("tags")
        if desired.crawl is not None and remote.crawl is None:
            out.append("crawl")
        return tuple(out)

    def patch_body(self, changes: Mapping[str, tuple[object, object]]) -> dict[str, Any]:
        """The plain-JSON body of ``PATCH /v2/documents/{id}``; ValueError for what the API cannot change."""
        unknown = set(changes) - set(API.patchable)
        if unknown:
            raise ValueError(f"documents cannot be updated in place: {', '.join(sorted(unknown))} (a replace is)")
        return {key: (list(new) if isinstance(new, tuple | list) else new) for key, (_, new) in changes.items()}

    def status_row(self, remote: RemoteDocument) -> dict[str, Any]:
        """What ``status`` shows of a document (JSON ``documents`` rows)."""
        return {"status": remote.status, "progress": remote.progress_percent, "error_message": remote.failure,
                "tags": list(remote.tags) if remote.tags is not None else None}

    def export_entry(self, remote: RemoteDocument, name: str, warnings: list[str]) -> dict[str, Any]:
        """The file entry adopting ``remote`` (pinned by document_id) under ``name``, so that ``plan`` on the
        export shows no changes. A presigned URL is written without its signature (never exported), with a
        warning: it compares equal, but a replace needs a fresh one."""
        entry: dict[str, Any] = {"name": name, "document_id": remote.document_id}
        if remote.document_url:
            url = unsigned_url(remote.document_url)
            if url_key(url) == url_key(remote.document_url) and url != remote.document_url:
                warnings.append(f"document {remote.document_id} ({name!r}): its document_url is presigned: exported "
                                "without its signature; give a fresh one (through a ${VAR}) before it is replaced")
            entry["document_url"] = url
        if remote.tags is not None:
            entry["tags"] = list(remote.tags)
        if remote.crawl:
            entry["crawl"] = dict(remote.crawl)
        return entry

    # ------------------------------------------------------------------ readiness

    @staticmethod
    def phase(remote: RemoteDocument) -> Phase:
        return remote.phase

    def not_ready(self, remote: RemoteDocument) -> str | None:
        """Why ``remote`` cannot serve a conversation yet (None when ready), in words for one line."""
        phase = remote.phase
        if phase is Phase.READY:
            return None
        if phase is Phase.FAILED:
            return f"document {remote.document_id} failed processing: {remote.failure}"
        pct = remote.progress_percent
        at = f", {pct:.0f}%" if pct is not None else ""
        return f"document {remote.document_id} is still processing ({remote.status}{at})"

    # ------------------------------------------------------------------ the API calls (the one client)

    def list(self, client, *, ids: Sequence[str] | None = None) -> list[RemoteDocument]:
        """Every document (0-based pages, as the endpoint documents), concurrently with the other kinds."""
        items = client.list_objects(_wire())
        if ids is not None:
            wanted = set(ids)
            items = [d for d in items if d.document_id in wanted]
        return items

    def get(self, client, object_id: str) -> RemoteDocument:
        return client.get_object(_wire(), object_id)

    def create(self, client, body: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST ``body`` (:meth:`document`; a replace's successor carries its marked name). Never retried
        blindly: the client settles a lost answer against the account (``known_ids``: what existed before)."""
        return client.create_object(_wire(), dict(body), known_ids=known_ids)

    def update(self, client, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None:
        """ONE plain-JSON PATCH of what changed (name and tags: the only fields the API can change)."""
        if changes:
            client.patch_object(_wire(), object_id, self.patch_body(changes))

    def rename(self, client, object_id: str, name: str) -> None:
        client.patch_object(_wire(), object_id, {"document_name": name})

    def delete(self, client, object_id: str) -> None:
        client.delete_object(_wire(), object_id)


DOCUMENTS = Documents()
