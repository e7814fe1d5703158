"""Tools, a resource kind (see ``reconciler.kinds``): functions a persona's LLM or perception layer calls.

Identity: ``name`` inside the scope (Tavus keeps tool names unique per account), or a pinned ``tool_id``.
Diff: every declared top-level field is updated in place with ONE plain-JSON ``PATCH`` that sends only the
changed fields (the API "changes only the fields sent"); a changed field is sent whole, as declared (a changed
``delivery`` carries its ``auth`` secrets with it). Objects the server fills with defaults (``delivery``,
``delivery.api``, ``delivery.api.auth``) are compared on the members the file declares; the tool's own data
(``parameters``, ``headers``, ``query_params``, ``body_template``) exactly. Nothing forces a replace but
``--replace``: a replace deletes first and then creates (the name is unique: a successor cannot coexist).

Secrets (``delivery.api.auth`` values, credential headers) come back masked (``********``): they cannot be
compared. :meth:`Tools.in_place_changes` leaves them out and names them; :meth:`Tools.resend_changes` is what
``--resend NAME`` sends (the fields holding them, whole). Plans show every secret as ``********``.

Attachment to a persona is not a field of either object: ``POST /v2/pals/{id}/tools {"tool_ids": [...]}``
(idempotent; at most :data:`MAX_ATTACHED` a persona), ``DELETE /v2/pals/{id}/tools/{tool_id}`` to detach (the
tool is kept), ``GET /v2/pals/{id}/tools`` to read them (:func:`attached`, :func:`attach`, :func:`detach`).
Pure except the API calls, which go through the one client.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from reconciler.api.listing import Listing
from reconciler.engine.kind import Listing as ListingStyle
from reconciler.kinds.tools.models import MASK, DesiredTool, RemoteTool, is_secret_path, secret_paths

MAX_ATTACHED = 50  # tools a persona can have attached (documented)
SERVER_FIELDS = frozenset({"tool_id", "uuid", "id", "owner_id", "is_system_tool", "created_at", "updated_at"})
# data the tool IS (compared whole); other objects are compared on the members the file declares
EXACT = frozenset({("parameters",), ("delivery", "api", "headers"), ("delivery", "api", "query_params"),
                   ("delivery", "api", "body_template")})
UNORDERED = frozenset({("tags",)})


@dataclass(frozen=True)
class ApiTable:
    """How the API serves tools: the one table of this kind's paths, fields and listing style."""

    path: str = "/v2/tools"
    id_field: str = "tool_id"
    id_aliases: tuple[str, ...] = ("uuid", "id")
    name_field: str = "name"
    type_field: str = "type"  # the listing's filter: user (default), system, all
    page_base: int = 1  # "1-indexed page number. Default 1."
    default_limit: int = 10
    list_params: Mapping[str, str] = field(default_factory=lambda: {"type": "user"})
    patch_style: str = "json"  # a plain JSON body of the fields to change (not JSON Patch)
    gone_statuses: tuple[int, ...] = (404, 400)
    persona_path: str = "/v2/pals"  # attachments live under the persona ("PAL") path

    def item_path(self, object_id: str) -> str:
        return f"{self.path}/{quote(str(object_id), safe='')}"

    def attached_path(self, persona_id: str, tool_id: str | None = None) -> str:
        base = f"{self.persona_path}/{quote(str(persona_id), safe='')}/tools"
        return base if tool_id is None else f"{base}/{quote(str(tool_id), safe='')}"


API = ApiTable()
# the one client's description of the collection (reconciler.api.listing)
LISTING = Listing(path=API.path, noun="tool", id_field=API.id_field, name_field=API.name_field,
                  first_page=API.page_base, params=dict(API.list_params), id_aliases=API.id_aliases,
                  parse_item=RemoteTool.from_api, gone_words=("tool not found",))


def _differs(want: Any, have: Any, path: tuple[str, ...], remote: RemoteTool, skipped: list[str],
             exact: bool = False) -> bool:
    """Whether the declared ``want`` differs from the account's ``have`` at ``path`` (what cannot be compared is
    appended to ``skipped``, dotted, and counts as no difference). Under an :data:`EXACT` path every member
    counts; elsewhere only the declared ones (the server fills in defaults)."""
    if is_secret_path(path):
        return _secret_differs(want, path, remote, skipped)
    exact = exact or path in EXACT
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping) or (exact and set(map(str, want)) != set(map(str, have))):
            return True
        found = [_differs(v, have.get(str(k)), (*path, str(k)), remote, skipped, exact) for k, v in want.items()]
        return any(found)
    if isinstance(want, list | tuple):
        if not isinstance(have, list | tuple):
            return True
        if path in UNORDERED:
            return sorted(map(repr, want)) != sorted(map(repr, have))
        return len(want) != len(have) or any(_differs(w, h, (*path, str(i)), remote, skipped, exact)
                                             for i, (w, h) in enumerate(zip(want, have, strict=True)))
    if isinstance(want, bool) or isinstance(have, bool):
        return want is not have
    return want != have


def _secret_differs(want: Any, path: tuple[str, ...], remote: RemoteTool, skipped: list[str]) -> bool:
    dotted = ".".join(path)
    if not isinstance(want, str) or "${" in want:  # an unset ${VAR}: its value is unknown here
        skipped.append(dotted)
        return False
    match = remote.secret_matches(dotted, want)
    if match is None:
        skipped.append(dotted)
        return False
    return not match


def shown(value: Any, prefix: tuple[str, ...] = ()) -> Any:
    """A value as a plan shows it: every secret under it as ``********``."""
    if prefix and is_secret_path(prefix):
        return MASK if value is not None else None
    if isinstance(value, Mapping):
        return {str(k): shown(v, (*prefix, str(k))) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(v, prefix) for v in value]
    return value


class Tools:
    key = "tools"
    noun = "tool"
    api = API
    legacy = API
    id_field = API.id_field
    name_field = API.name_field
    references: tuple = ()  # refers to no other kind (personas refer to it)
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()  # nothing but --replace
    replace_deletes_first = True  # names are unique per account: a successor cannot coexist with the old tool
    asynchronous = False
    blue_green = False  # no rename(): a successor cannot hold the old one's (unique) name; a rename is an update
    masked_secrets = True  # secrets come back masked: cannot be compared, --resend sends them
    max_attached = MAX_ATTACHED
    listing = ListingStyle(first_page=API.page_base, filters=dict(API.list_params))

    # ------------------------------------------------------------------ identity and attributes

    def identity(self, desired: DesiredTool) -> tuple[str, str]:
        return ("id", desired.tool_id) if desired.tool_id else ("name", desired.name)

    def name_of(self, desired: DesiredTool) -> str:
        return desired.name

    def document(self, desired: DesiredTool) -> dict[str, Any]:
        """The declared object as the API takes it (the create body; secrets in clear: sent, never shown)."""
        return desired.create_payload()

    @staticmethod
    def in_scope(name: str | None, prefix: str | None) -> bool:
        """Whether a tool named ``name`` is inside the scope ``settings.scope.name_prefix``: a tool name cannot
        hold the ``-`` of a prefix such as ``acme-``, so the prefix is read with ``_`` in its place."""
        from reconciler.kinds.tools.rules import scope_prefix

        wanted = scope_prefix(prefix)
        return wanted is None or (isinstance(name, str) and name.startswith(wanted))

    def remote_name(self, remote: RemoteTool) -> str | None:
        return remote.name

    def remote_id(self, remote: RemoteTool) -> str:
        return remote.tool_id

    def parse(self, item: Mapping[str, Any]) -> RemoteTool:
        return RemoteTool.from_api(item)

    def managed(self, remote: RemoteTool) -> bool:
        """System tools (``end_call``) are Tavus's: never planned, adopted or deleted."""
        return not remote.is_system

    def desired_attributes(self, desired: DesiredTool) -> dict[str, object]:
        """What a create sends, as shown in plans: secrets as ``********``."""
        return desired.shown()

    def remote_attributes(self, remote: RemoteTool) -> dict[str, object]:
        return {k: v for k, v in remote.document.items() if k not in SERVER_FIELDS}

    def export_entry(self, remote: RemoteTool) -> tuple[dict[str, Any], list[str]]:
        """The file entry adopting ``remote`` (pinned by ``tool_id``) and the warnings for the user: each secret
        the API answered masked is written as a ``${VAR}`` to set (its value cannot be read back)."""
        entry: dict[str, Any] = {"name": remote.name, "tool_id": remote.tool_id}
        doc = {k: copy.deepcopy(v) for k, v in remote.document.items() if k not in SERVER_FIELDS and k != "name"}
        notes = []
        for path in list(secret_paths(doc)):
            var = re.sub(r"[^A-Z0-9]+", "_", f"{remote.name}_{path[-1]}".upper()).strip("_")
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = f"${{{var}}}"
            notes.append(f"tool {remote.name}: {'.'.join(path)} cannot be read back (the API masks it): exported as "
                         f"${{{var}}}; set it, then `apply --resend {remote.name}` if it changed")
        entry.update(doc)
        return entry, notes

    # ------------------------------------------------------------------ diff

    def replace_reason(self, desired: DesiredTool, remote: RemoteTool, force_replace: Collection[str]) -> str | None:
        if desired.name in force_replace:
            return "replacement requested with --replace"
        return None

    def in_place_changes(self, desired: DesiredTool, remote: RemoteTool,
                         body: Mapping[str, Any] | None = None) -> dict[str, tuple[object, object]]:
        """Field -> (the account's value (masked), the declared value) for every declared top-level field that
        differs; a pinned tool's name too. The declared value is the one sent: show it through :meth:`shown`."""
        changes: dict[str, tuple[object, object]] = {}
        if desired.tool_id and remote.name != desired.name:
            changes["name"] = (remote.name, desired.name)
        for key, want in desired.attributes.items():
            if _differs(want, remote.document.get(key), (key,), remote, []):
                changes[key] = (remote.document.get(key), want)
        return changes

    def uncomparable(self, desired: DesiredTool, remote: RemoteTool) -> tuple[str, ...]:
        """The declared secrets that cannot be compared (masked or not returned), dotted, for the plan's note
        "could not be compared (--resend NAME sends them)"."""
        skipped: list[str] = []
        for key, want in desired.attributes.items():
            _differs(want, remote.document.get(key), (key,), remote, skipped)
        return tuple(sorted(set(skipped)))

    def resend_changes(self, desired: DesiredTool, remote: RemoteTool) -> dict[str, tuple[object, object]]:
        """``--resend``: the top-level fields holding what could not be compared, to send whole as declared."""
        fields = {dotted.split(".")[0] for dotted in self.uncomparable(desired, remote)}
        return {k: (remote.document.get(k), desired.attributes[k]) for k in sorted(fields)
                if k in desired.attributes}

    @staticmethod
    def shown(changes: Mapping[str, tuple[object, object]]) -> dict[str, tuple[object, object]]:
        """Changes as a plan shows them: secrets masked on both sides."""
        return {k: (shown(old, (k,)), shown(new, (k,))) for k, (old, new) in changes.items()}

    @staticmethod
    def patch_body(changes: Mapping[str, tuple[object, object]]) -> dict[str, Any]:
        """The plain-JSON body of ``PATCH /v2/tools/{id}``: only the changed fields, as declared."""
        return {k: (list(new) if isinstance(new, tuple) else new) for k, (_, new) in changes.items()}

    # ------------------------------------------------------------------ the API calls (the one client)

    def list(self, client, *, ids: Sequence[str] | None = None) -> list[RemoteTool]:
        items = [t for t in client.list_objects(LISTING) if self.managed(t)]
        if ids is not None:
            wanted = set(ids)
            items = [t for t in items if t.tool_id in wanted]
        return items

    def get(self, client, object_id: str) -> RemoteTool:
        return client.get_object(LISTING, object_id)

    def create(self, client, body: Mapping[str, Any] | DesiredTool, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str:
        """POST once (``body``: :meth:`document`, or the desired entry; ``name``: a replace's marked successor). A
        lost answer is settled by the client against the account (``known_ids``: what existed before)."""
        if isinstance(body, DesiredTool):
            payload = body.create_payload(name)
        else:
            payload = {**body, **({"name": name} if name else {})}
        return client.create_object(LISTING, payload, known_ids=known_ids)

    def update(self, client, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None:
        if changes:
            client.patch_object(LISTING, object_id, self.patch_body(changes))

    def delete(self, client, object_id: str) -> None:
        client.delete_object(LISTING, object_id)


TOOLS = Tools()


# ---------------------------------------------------------------------- attachment to a persona


def attachment_changes(current: Collection[str], wanted: Sequence[str]) -> tuple[list[str], list[str]]:
    """(tool ids to attach, tool ids to detach) to go from ``current`` to ``wanted``; ValueError over the limit."""
    unique = list(dict.fromkeys(wanted))
    if len(unique) > MAX_ATTACHED:
        raise ValueError(f"a persona can have at most {MAX_ATTACHED} tools attached (got {len(unique)})")
    have = set(current)
    return [t for t in unique if t not in have], sorted(have - set(unique))


def attached(client, persona_id: str) -> list[RemoteTool]:
    """``GET /v2/pals/{id}/tools``: the standalone tools attached to a persona (``{"data": [tool...]}``)."""
    body = client._call("GET", API.attached_path(persona_id))
    items = body.get("data") if isinstance(body, Mapping) else body
    out = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, Mapping):
            try:
                out.append(RemoteTool.from_api(item))
            except (KeyError, TypeError):
                continue
    return out


def attach(client, persona_id: str, tool_ids: Sequence[str]) -> None:
    """``POST /v2/pals/{id}/tools {"tool_ids": [...]}`` (idempotent: an attached tool stays attached, so a retry
    after a lost answer is safe). Nothing is sent for an empty list."""
    ids = list(dict.fromkeys(tool_ids))
    if not ids:
        return
    if len(ids) > MAX_ATTACHED:
        raise ValueError(f"a persona can have at most {MAX_ATTACHED} tools attached (got {len(ids)})")
    client._call("POST", API.attached_path(persona_id), json={"tool_ids": ids})


def detach(client, persona_id: str, tool_id: str) -> bool:
    """``DELETE /v2/pals/{id}/tools/{tool_id}`` (the tool is kept). False when it was not attached (400 "Tool
    not attached to this PAL", or a 404), e.g. a retry of a detach whose answer was lost."""
    from reconciler.errors import BadRequestError, NotFoundError

    try:
        client._call("DELETE", API.attached_path(persona_id, tool_id))
    except NotFoundError:
        return False
    except BadRequestError as e:
        if "not attached" in str(e).lower():
            return False
        raise
    return True
