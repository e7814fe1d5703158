"""Pronunciation dictionaries, a resource kind (see ``reconciler.kinds``), cited by a persona's
``layers.tts.pronunciation_dictionary_id``.

Identity: ``name`` inside the scope, or a pinned ``pronunciation_dictionary_id``. Diff: the rules (compared as a
set keyed by ``text``, with the server's defaults filled in) and a pinned dictionary's name are updated in place
with ONE JSON Patch (``replace /rules`` with the whole declared list: Tavus has no per-rule operation; 304 is
"no change", 422 a refused patch). Nothing forces a replace but ``--replace``. Rules a listing did not carry
cannot be compared (:meth:`Dictionaries.uncomparable`). A delete unlinks the dictionary from every persona
(Tavus does so): the engine re-points declared personas first and never deletes one a declared persona cites.
Pure except the API calls, which go through the one client.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.api.listing import Listing
from reconciler.engine.kind import Listing as ListingStyle
from reconciler.kinds.pronunciation_dictionaries.models import DesiredDictionary, RemoteDictionary, rule_key


@dataclass(frozen=True)
class ApiTable:
    """How the API serves pronunciation dictionaries: the one table of this kind's paths, fields, listing."""

    path: str = "/v2/pronunciation-dictionaries"
    id_field: str = "pronunciation_dictionary_id"
    id_aliases: tuple[str, ...] = ("dictionary_id", "uuid", "id")
    name_field: str = "name"
    page_base: int = 0  # "Zero-based page number", like documents
    default_limit: int = 10
    max_limit: int = 100  # "Range: 1-100"
    list_params: Mapping[str, str] = field(default_factory=dict)
    patch_style: str = "json-patch"  # RFC 6902 (304 on no change, 422 on a bad patch)
    patchable: tuple[str, ...] = ("name", "rules")
    gone_statuses: tuple[int, ...] = (404, 400)
    persona_field: tuple[str, ...] = ("layers", "tts", "pronunciation_dictionary_id")  # where a persona cites it


API = ApiTable()
# the one client's description of the collection (reconciler.api.listing)
LISTING = Listing(path=API.path, noun="pronunciation dictionary", id_field=API.id_field, name_field=API.name_field,
                  first_page=API.page_base, params=dict(API.list_params), id_aliases=API.id_aliases,
                  parse_item=RemoteDictionary.from_api, key_of=lambda d: d.dictionary_id,
                  gone_words=("not found",))


class RulesChange(str):
    """One side of a rules change as plans show it (``"2 rule(s): +1 -0 ~1 (Acme, Tavus)"``: a dictionary may hold
    10,000 rules), carrying the rules themselves for the PATCH (:meth:`Dictionaries.patch_ops`)."""

    def __new__(cls, shown: str, rules: list[dict[str, Any]]) -> RulesChange:
        self = super().__new__(cls, shown)
        self.rules = rules
        return self


class Dictionaries:
    key = "pronunciation_dictionaries"
    noun = "pronunciation dictionary"
    api = API
    legacy = API
    id_field = API.id_field
    name_field = API.name_field
    references: tuple = ()  # refers to no other kind (personas refer to it)
    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()
    asynchronous = False
    blue_green = False  # no readiness to wait for: a --replace creates the new one, then deletes the old one
    replace_deletes_first = False
    masked_secrets = False
    listing = ListingStyle(first_page=API.page_base, filters=dict(API.list_params))

    # ------------------------------------------------------------------ identity and attributes

    def identity(self, desired: DesiredDictionary) -> tuple[str, str]:
        return ("id", desired.dictionary_id) if desired.dictionary_id else ("name", desired.name)

    def name_of(self, desired: DesiredDictionary) -> str:
        return desired.name

    def document(self, desired: DesiredDictionary) -> dict[str, Any]:
        """The declared object as the API takes it (the create body; secrets in clear: sent, never shown)."""
        return desired.create_payload()

    def remote_name(self, remote: RemoteDictionary) -> str | None:
        return remote.name

    def remote_id(self, remote: RemoteDictionary) -> str:
        return remote.dictionary_id

    def managed(self, remote: RemoteDictionary) -> bool:
        return True  # Tavus has no stock dictionaries

    def parse(self, item: Mapping[str, Any]) -> RemoteDictionary:
        return RemoteDictionary.from_api(item)

    def desired_attributes(self, desired: DesiredDictionary) -> dict[str, object]:
        """What a create sends, as shown in plans (the rule count, not 10,000 rules)."""
        shown: dict[str, object] = {"name": desired.name, "rules": f"{len(desired.rules)} rule(s)"}
        shown.update(dict(desired.extra))
        return shown

    def remote_attributes(self, remote: RemoteDictionary) -> dict[str, object]:
        count = len(remote.rules) if remote.rules is not None else remote.rules_count
        return {"name": remote.name, "rules": f"{count} rule(s)" if count is not None else None}

    def export_entry(self, remote: RemoteDictionary) -> tuple[dict[str, Any], list[str]]:
        """The file entry adopting ``remote`` (pinned by id), its rules as the account holds them."""
        entry: dict[str, Any] = {"name": remote.name, "pronunciation_dictionary_id": remote.dictionary_id}
        if remote.rules is not None:
            entry["rules"] = [{k: v for k, v in r.items() if v is not None} for r in remote.rules]
            return entry, []
        return entry, [f"pronunciation dictionary {remote.name}: the listing carried no rules; add them"]

    # ------------------------------------------------------------------ diff

    def replace_reason(self, desired: DesiredDictionary, remote: RemoteDictionary,
                       force_replace: Collection[str]) -> str | None:
        return "replacement requested with --replace" if desired.name in force_replace else None

    def in_place_changes(self, desired: DesiredDictionary, remote: RemoteDictionary,
                         body: Mapping[str, Any] | None = None) -> dict[str, tuple[object, object]]:
        """``name`` (a pinned dictionary) and ``rules`` -> (the account's, the declared) when they differ. Rules
        are shown as a count and a summary (:class:`RulesChange`), sent whole (:meth:`patch_ops`)."""
        changes: dict[str, tuple[object, object]] = {}
        if desired.dictionary_id and remote.name != desired.name:
            changes["name"] = (remote.name, desired.name)
        if remote.rules is not None:
            keys = desired.declared_keys()
            if rule_key(desired.rules, keys) != rule_key(remote.rules, keys):
                old, new = list(remote.rules), desired.rule_list()
                changes["rules"] = (RulesChange(f"{len(old)} rule(s)", old),
                                    RulesChange(f"{len(new)} rule(s): {rules_summary(old, new, keys)}", new))
        return changes

    def uncomparable(self, desired: DesiredDictionary, remote: RemoteDictionary) -> tuple[str, ...]:
        return ("rules",) if remote.rules is None else ()

    @staticmethod
    def patch_ops(changes: Mapping[str, tuple[object, object]]) -> list[dict[str, Any]]:
        """The JSON Patch of ``PATCH /v2/pronunciation-dictionaries/{id}``: ``replace`` of each changed field (the
        rules as the whole declared array)."""
        unknown = set(changes) - set(API.patchable)
        if unknown:
            raise ValueError(f"pronunciation dictionaries cannot be updated in place: {', '.join(sorted(unknown))}")
        return [{"op": "replace", "path": f"/{k}", "value": new.rules if isinstance(new, RulesChange) else new}
                for k, (_, new) in sorted(changes.items())]

    # ------------------------------------------------------------------ the API calls (the one client)

    def list(self, client, *, ids: Sequence[str] | None = None) -> list[RemoteDictionary]:
        items = client.list_objects(LISTING)
        if ids is not None:
            wanted = set(ids)
            items = [d for d in items if d.dictionary_id in wanted]
        return items

    def get(self, client, object_id: str) -> RemoteDictionary:
        return client.get_object(LISTING, object_id)

    def create(self, client, body: Mapping[str, Any] | DesiredDictionary, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str:
        """POST once (``body``: :meth:`document`, or the desired entry; ``name``: a replace's marked successor). A
        lost answer is settled by the client against the account (``known_ids``: what existed before)."""
        if isinstance(body, DesiredDictionary):
            payload = body.create_payload(name)
        else:
            payload = {**body, **({"name": name} if name else {})}
        return client.create_object(LISTING, payload, known_ids=known_ids)

    def update(self, client, object_id: str, changes: Mapping[str, tuple[object, object]]) -> bool:
        """One PATCH; False on 304 (nothing changed) or when there is nothing to send."""
        if not changes:
            return False
        return bool(client.patch_object(LISTING, object_id, self.patch_ops(changes)))

    def delete(self, client, object_id: str) -> None:
        client.delete_object(LISTING, object_id)


def rules_summary(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]],
                  keys: frozenset[str] | None = None, most: int = 5) -> str:
    """A plan's one line for a rules change: ``+2 -1 ~1 (Tavus, Acme, ...)``, the texts added, removed or changed."""
    before = {str(r.get("text")): r for r in old}
    after = {str(r.get("text")): r for r in new}
    added = [t for t in after if t not in before]
    removed = [t for t in before if t not in after]
    changed = [t for t in after if t in before and rule_key([after[t]], keys) != rule_key([before[t]], keys)]
    names = [*added, *removed, *changed]
    more = f", ... {len(names) - most} more" if len(names) > most else ""
    return f"+{len(added)} -{len(removed)} ~{len(changed)} ({', '.join(names[:most])}{more})"


DICTIONARIES = Dictionaries()
