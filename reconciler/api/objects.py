"""The generic calls a kind makes on the one client, its collection described by a
:class:`~reconciler.api.listing.Listing` (the contract: /work/wt/API.md).

- :meth:`_Objects.list_objects`: every item (consistent-or-refused paging, pages after the first at once);
- :meth:`_Objects.get_object`: one item (NotFoundError when it does not exist);
- :meth:`_Objects.create_object`: POST, exactly once (a lost answer is settled against the account);
- :meth:`_Objects.patch_object`: PATCH with a JSON Patch (a list of operations) or a plain JSON object;
- :meth:`_Objects.delete_object`: DELETE, False when it was already gone.

A 400 whose message names an unknown id (``Listing.gone``: "invalid <id_field>" unless the listing says
otherwise) is a :class:`NotFoundError`, like a 404.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from reconciler.api.transport import _NOT_MODIFIED
from reconciler.errors import BadRequestError, MalformedResponseError, NotFoundError


def _unwrap(listing: Any, body: Any, path: str) -> Any:
    """A get answer: the item itself, or ``{"data": [item]}`` / ``{"data": item}`` (both seen in the docs)."""
    if not isinstance(body, Mapping) or listing.id_field in listing.with_id(body) or "data" not in body:
        return body
    data = body["data"]
    if isinstance(data, list):
        if len(data) != 1:
            raise MalformedResponseError(f"the get answer holds {len(data)} {listing.noun}s, not one",
                                         method="GET", path=path)
        data = data[0]
    return data


class _Objects:
    """The generic calls of :class:`~reconciler.api.client.TavusClient` (a mixin)."""

    def list_objects(self, listing: Any, *, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of ``listing`` (its fixed ``params`` plus these), parsed, in the server's order."""
        return self._list_all(dict(params or {}), kind=listing)

    def get_object(self, listing: Any, object_id: str, *, params: Mapping[str, str] | None = None) -> Any:
        """One item, parsed; :class:`NotFoundError` when there is no such id."""
        path = listing.item_path(object_id)
        body = self._object_call(listing, "GET", path, params=params)
        return self._item(listing, _unwrap(listing, body, path), "GET", path)

    def create_object(self, listing: Any, payload: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST ``payload``, return the new id (from ``id_field`` or an alias). Never a duplicate: a lost
        answer is settled by listing ``listing`` and adopting an item named ``payload[name_field]`` that is
        not in ``known_ids`` (the ids that existed when the plan was made); it POSTs again only once a listing
        after the settle window confirms the name absent, otherwise :class:`CreateOutcomeUnknownError`."""
        return self._create(listing, payload, known_ids, lambda: self.list_objects(listing))

    def patch_object(self, listing: Any, object_id: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                     params: Mapping[str, str] | None = None) -> bool:
        """PATCH one item with a JSON Patch (a list of operations) or a plain JSON object (the fields to
        change). True when the server changed it, False on 304 "no changes" or an empty body (nothing sent).
        :class:`InvalidPatchError` on 422, :class:`NotFoundError` when there is no such id. A retry after an
        ambiguous failure re-sends the whole body (add/replace and plain fields are idempotent)."""
        if not body:
            return False
        json = listing.outgoing(body) if isinstance(body, Mapping) else listing.outgoing_patch(body)
        answer = self._object_call(listing, "PATCH", listing.item_path(object_id), params=params, json=json)
        return answer is not _NOT_MODIFIED

    def delete_object(self, listing: Any, object_id: str) -> bool:
        """DELETE one item. True when deleted now, False when it was already gone (404 or the 400 of an unknown
        id), e.g. a retry of a delete whose answer was lost."""
        try:
            self._object_call(listing, "DELETE", listing.item_path(object_id))
        except NotFoundError:
            return False
        return True

    def _object_call(self, listing: Any, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._call(method, path, **kwargs)
        except BadRequestError as e:
            if e.status_code == 400 and listing.gone(str(e)):
                raise NotFoundError(str(e).split(": ", 1)[-1].removeprefix("HTTP 400: "), status_code=400,
                                    method=method, path=path) from None
            raise
