"""Resource kinds: what the planner, executor, waiter, renderers and workflows need to know about one kind
of Tavus object, behind one interface. Replicas are the first kind (``reconciler.kinds.replicas.kind``).

A kind says:
- ``key``: its list in the file (``replicas:``), and the JSON Schema section that validates it;
- its desired model (an entry of the file, resolved) and remote model (what the API answers), both
  frozen dataclasses in ``reconciler.engine.models``;
- its identity: the declared name inside the file's scope, or a pinned id (``identity``);
- how it diffs: ``replace_reason`` (an attribute whose change forces a replace, like a replica's
  ``model_name``), ``in_place_changes`` (attributes updated in place: none for replicas, which Tavus
  cannot patch; a persona's prompt and layers are updated with JSON Patch) and the create-only inputs that
  are never compared (a replica's training URLs);
- its API calls (``list``, ``get``, ``create``, ``update``, ``rename``, ``delete``) on the one client.

A new kind is one folder ``reconciler/kinds/<key>/`` and one line in :data:`REGISTRY`; the order of work
(replicas before the personas that reference them) is the reference graph (``reconciler.engine.graph``),
read from each kind's ``references`` (``reconciler.engine.kind.Reference``). The generic protocol the engine
asks is ``reconciler.engine.kind.Kind``; see ENGINE.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Vocabulary:
    """How the API names one kind: its collection path and every id, name, type and filter field (issue 25).

    Tavus now calls replicas *faces* (``/v2/faces``, ``face_id``...) and personas *PALs* (``/v2/pals``,
    ``pal_id``...); the old names remain aliases and this project speaks them. Each kind holds ONE of these
    (``Replicas.api``, ``Personas.api``) and the client takes every path and field of the kind from it, so a
    switch to the new names is that one value per kind. The models speak the legacy names internally: the
    client renames at the boundary (:meth:`outgoing`, :meth:`incoming`)."""

    path: str  # the collection: "/v2/replicas"
    id_field: str  # "replica_id"
    name_field: str  # "replica_name"
    type_field: str  # "replica_type": an item's field, and the list filter
    ids_filter: str | None = None  # the list filter by ids ("replica_ids"), where the API has one

    def renames(self, legacy: Vocabulary) -> dict[str, str]:
        """legacy field name -> this vocabulary's, for the fields that differ."""
        pairs = ((legacy.id_field, self.id_field), (legacy.name_field, self.name_field),
                 (legacy.type_field, self.type_field), (legacy.ids_filter, self.ids_filter))
        return {old: new for old, new in pairs if old and new and old != new}

    def outgoing(self, body: Mapping[str, Any], legacy: Vocabulary) -> dict[str, Any]:
        """A body built with the legacy names, in this vocabulary."""
        names = self.renames(legacy)
        return {names.get(k, k): v for k, v in body.items()}

    def incoming(self, item: Mapping[str, Any], legacy: Vocabulary) -> Mapping[str, Any]:
        """An API item in this vocabulary, with the legacy names the models read."""
        names = {new: old for old, new in self.renames(legacy).items()}
        if not names or not any(k in names for k in item):
            return item
        return {names.get(k, k): v for k, v in item.items()}


class Kind(Protocol):
    key: str  # the file's list, the schema section, the plan's JSON key
    noun: str  # one object, for messages: "replica"
    id_field: str  # the API's id field: "replica_id"
    name_field: str  # the API's name field: "replica_name"
    create_only: tuple[str, ...]  # inputs read once at create time, never compared afterwards
    replace_on: tuple[str, ...]  # declared attributes whose change forces a replace

    def identity(self, desired: Any) -> tuple[str, str]:
        """``("id", pinned_id)`` or ``("name", declared_name)``."""

    def desired_attributes(self, desired: Any) -> dict[str, object]:
        """What a create sends, as shown in plans (renderers redact URLs and secrets)."""

    def remote_attributes(self, remote: Any) -> dict[str, object]:
        """What the account holds, as shown in plans."""

    def replace_reason(self, desired: Any, remote: Any, force_replace: Collection[str]) -> str | None:
        """Why ``remote`` must be replaced to become ``desired``, or None to keep it."""

    def in_place_changes(self, desired: Any, remote: Any) -> Mapping[str, tuple[object, object]]:
        """Attribute -> (remote value, declared value) for what an update in place would change."""

    # the API calls, on the one client (reconciler.api.client.TavusClient)
    def list(self, client: Any, *, ids: Sequence[str] | None = None) -> list[Any]: ...
    def get(self, client: Any, object_id: str) -> Any: ...
    def create(self, client: Any, desired: Any, *, name: str | None = None,
               known_ids: Collection[str] = ()) -> str: ...
    def update(self, client: Any, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None: ...
    def rename(self, client: Any, object_id: str, name: str) -> None: ...
    def delete(self, client: Any, object_id: str) -> None: ...


# THE registry: one line per kind (module path, attribute). The order of work is not this list's order but
# the reference graph the kinds declare (reconciler.engine.graph.create_order).
REGISTRY: tuple[tuple[str, str], ...] = (
    ("reconciler.kinds.replicas.kind", "REPLICAS"),
    ("reconciler.kinds.personas.kind", "PERSONAS"),
    ("reconciler.kinds.documents.kind", "DOCUMENTS"),
    ("reconciler.kinds.guardrails.kind", "GUARDRAILS"),
    ("reconciler.kinds.objectives.kind", "OBJECTIVES"),
    ("reconciler.kinds.pronunciation_dictionaries.kind", "DICTIONARIES"),
    ("reconciler.kinds.tools.kind", "TOOLS"),
)

# The file that declares the account: its schema's published name (``schemas/``; editors point at it) and what
# a message calls it. The file began as a list of replicas and kept the name; the engine speaks of it only
# through these two values.
DOCUMENT_SCHEMA_FILE = "replicas.schema.json"
DOCUMENT_NOUN = "replicas file"
# the kind of a change that does not say (``Change.kind``): the first kind, older than the others
DEFAULT_KIND = "replicas"


def registered() -> tuple[Kind, ...]:
    """Every registered kind, in the registry's order (the schema's sections, the plan's JSON keys)."""
    import importlib

    return tuple(getattr(importlib.import_module(m), a) for m, a in REGISTRY)


def kinds() -> tuple[Kind, ...]:
    """Every registered kind, in the order an apply creates them (referenced kinds first)."""
    from reconciler.engine.graph import create_order

    return tuple(create_order(registered()))


def kind(key: str) -> Kind:
    for k in kinds():
        if k.key == key:
            return k
    raise KeyError(key)
