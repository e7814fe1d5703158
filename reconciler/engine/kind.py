"""The Kind protocol: what the generic engine asks of one kind of Tavus object, and nothing more (issue 26).

The model is a Terraform plugin-framework resource: one required interface (:class:`Kind`) and optional
abilities the engine DISCOVERS (:func:`has`), as the framework discovers ``ResourceWithModifyPlan`` and
friends: never ``if kind.key == ...``. A kind lives in ``reconciler/kinds/<key>/`` and is one line in the
registry (``reconciler.kinds.kinds``).

References between kinds are data (:class:`Reference`): the planner orders its work by them
(``reconciler.engine.graph``), resolves declared names to ids, refuses a dangling name, keeps (never
prunes) a referenced object and re-points references before a referenced object is replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from reconciler.engine.status import Phase

_MISSING = object()


@dataclass(frozen=True)
class Reference:
    """One reference of a kind to another kind, declared as data.

    ``field``: the dotted path, in a declared entry's document (:meth:`Kind.document`), of the NAME (or, with
    ``many``, the list of names) of objects of ``kind`` the file declares: ``"default_replica"``,
    ``"documents"``, ``"layers.tts.pronunciation_dictionary"``.
    ``id_field``: the dotted path of the id (list of ids) the API takes: ``"default_replica_id"``,
    ``"document_ids"``, ``"layers.tts.pronunciation_dictionary_id"``. An entry may set ``id_field`` itself
    (the ``*_id`` form): an object the file does not manage, sent as is, never resolved, never pruned.
    ``kind``: the referenced kind's key. ``many``: a list of names -> a list of ids.
    """

    field: str
    kind: str
    id_field: str
    many: bool = False

    def names(self, document: Mapping[str, Any]) -> list[str]:
        """The declared names this reference holds in ``document`` (empty when it is not set)."""
        value = get_path(document, self.field)
        return _as_list(value, self.many)

    def ids(self, document: Mapping[str, Any]) -> list[str]:
        """The ids given directly (the ``*_id`` form) in ``document`` or in a remote object's document."""
        return _as_list(get_path(document, self.id_field), self.many)

    def bind(self, document: Mapping[str, Any], ids: Sequence[str]) -> dict[str, Any]:
        """``document`` with ``id_field`` set to ``ids`` (one id unless ``many``) and ``field`` removed: the body
        the API takes. The input is not modified."""
        value: Any = list(ids) if self.many else (ids[0] if ids else None)
        out = without_path(document, self.field)
        return set_path(out, self.id_field, value)


def _as_list(value: Any, many: bool) -> list[str]:
    if value is None or value is _MISSING:
        return []
    if many:
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    return [str(value)]


def get_path(document: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` ("layers.tts.voice") in nested mappings, or None."""
    node: Any = document
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def set_path(document: Mapping[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``document`` with ``dotted`` set to ``value`` (intermediate mappings created, copied)."""
    head, _, rest = dotted.partition(".")
    out = dict(document)
    if not rest:
        out[head] = value
        return out
    child = out.get(head)
    out[head] = set_path(child if isinstance(child, Mapping) else {}, rest, value)
    return out


def without_path(document: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    """A copy of ``document`` without ``dotted`` (a no-op when it is absent)."""
    head, _, rest = dotted.partition(".")
    out = dict(document)
    if head not in out:
        return out
    if not rest:
        del out[head]
    elif isinstance(out[head], Mapping):
        out[head] = without_path(out[head], rest)
    return out


@dataclass(frozen=True)
class Listing:
    """How a kind's collection is listed (the one client pages it): the first page's number (Tavus pages
    replicas from 1, documents from 0) and fixed extra filters (guardrails: ``{"legacy": "false"}``)."""

    first_page: int = 1
    filters: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Kind(Protocol):
    """Required of every kind. ``desired`` and ``remote`` are the kind's own models (kinds/<key>/models.py)."""

    key: str  # the file's list, the schema fragment's section, the plan's JSON key: "replicas"
    noun: str  # one object, in messages: "replica"
    references: tuple[Reference, ...]  # () when it references nothing

    def identity(self, desired: Any) -> tuple[str, str]:
        """``("id", pinned_id)`` or ``("name", declared_name)``."""

    def name_of(self, desired: Any) -> str:
        """The declared name."""

    def document(self, desired: Any) -> Mapping[str, Any]:
        """The declared attributes as one nested mapping, reference NAMES included (see :class:`Reference`)."""

    def remote_id(self, remote: Any) -> str: ...
    def remote_name(self, remote: Any) -> str: ...

    def managed(self, remote: Any) -> bool:
        """True for an object this file may manage (a user object; never a Tavus stock one)."""

    def desired_attributes(self, desired: Any) -> dict[str, object]:
        """What a create sends, as plans show it (renderers redact URLs and secrets)."""

    def remote_attributes(self, remote: Any) -> dict[str, object]:
        """What the account holds, as plans show it."""

    # the API calls: on the one client (reconciler.api.client), never HTTP here
    def list(self, client: Any) -> list[Any]: ...
    def get(self, client: Any, object_id: str) -> Any: ...
    def create(self, client: Any, body: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        """POST ``body`` (the document with references bound to ids); the client settles a lost answer."""

    def delete(self, client: Any, object_id: str) -> None: ...


@runtime_checkable
class WithInPlaceUpdate(Protocol):
    """The kind can change an existing object (a persona's JSON Patch; a replica's rename only)."""

    def in_place_changes(self, desired: Any, remote: Any, body: Mapping[str, Any]
                         ) -> Mapping[str, tuple[object, object]]:
        """Dotted attribute -> (remote value, declared value); ``body`` is the bound document."""

    def update(self, client: Any, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None: ...


@runtime_checkable
class WithReplace(Protocol):
    """Some attribute change forces a replace (Terraform's RequiresReplace)."""

    def replace_reason(self, desired: Any, remote: Any, force_replace: Collection[str]) -> str | None: ...


@runtime_checkable
class WithBlueGreen(Protocol):
    """A replace is blue/green: the successor is created under a marked name (reconciler.engine.successor),
    the old object serves until the successor is ready, references are re-pointed, then the old one is
    deleted and the successor renamed. Needs :class:`WithReadiness`."""

    def rename(self, client: Any, object_id: str, name: str) -> None: ...


@runtime_checkable
class WithReadiness(Protocol):
    """Asynchronous: an object has a phase (replicas train, documents process); the waiter polls it."""

    def phase(self, remote: Any) -> Phase: ...
    def not_ready(self, remote: Any) -> str | None:
        """Why ``remote`` cannot serve yet, in one line; None when ready."""


@runtime_checkable
class WithRowState(Protocol):
    """How a waiter's row shows an object's state, when the generic rule (phase, ``status``,
    ``progress_percent``, ``failure``) is not enough (a replica's watermarked preview)."""

    def take(self, row: Any, remote: Any) -> None:
        """Set ``row``'s status, phase, progress and error_message from ``remote``."""


@runtime_checkable
class WithSavedPlan(Protocol):
    """What a saved plan (reconciler.engine.planfile) records of the kind, where the default (its managed
    objects' ids and names; its declared entries' documents) is not enough."""

    def fingerprint_items(self, config: Any, listing: Sequence[Any]) -> Any:
        """JSON-able: what of ``listing`` the plan's decisions depend on (never what moves all the time)."""

    def input_entries(self, config: Any) -> Any:
        """JSON-able: the declared entries, ``${VAR}``s resolved (hashed, never saved); None: none declared."""


@runtime_checkable
class WithMassCount(Protocol):
    """How many objects of ``listing`` the file manages, for the mass-change guard (reconciler.engine.policy),
    where the default (its managed objects in scope) is not enough (a replace's marked successor is not one)."""

    def mass_count(self, config: Any, listing: Sequence[Any]) -> int: ...


@runtime_checkable
class WithMaskedSecrets(Protocol):
    """Some declared attributes come back masked or not at all: not compared, listed as "could not be
    compared", sent on create, and on update only with ``--resend NAME``."""

    def uncomparable(self, desired: Any, remote: Any) -> tuple[str, ...]: ...


@runtime_checkable
class WithListing(Protocol):
    """A listing other than the default (pages from 1, no extra filters)."""

    listing: Listing


@runtime_checkable
class WithScopeSpelling(Protocol):
    """The kind's names cannot hold every character of ``settings.scope.name_prefix`` (a guardrail's name is
    letters, digits and ``_``): how the file's prefix is spelled in this kind's names (``acme-`` -> ``acme_``).
    The scope of this kind's objects is then "the name starts with that spelling"."""

    def scope_prefix(self, prefix: str) -> str: ...


def in_scope(kind: Any, name: str | None, prefix: str | None) -> bool:
    """Whether ``kind``'s object named ``name`` is inside the file's scope (``prefix``: settings.scope.name_prefix,
    None: the whole account): through the kind's own ``in_scope(name, prefix)``, or its spelling of the prefix
    (:class:`WithScopeSpelling`), else the name starts with the prefix as written."""
    own = getattr(kind, "in_scope", None)
    if callable(own):
        return bool(own(name, prefix))
    if prefix is None:
        return True
    wanted = kind.scope_prefix(prefix) if has(kind, WithScopeSpelling) else prefix
    return (name or "").startswith(wanted)


@runtime_checkable
class WithExecutor(Protocol):
    """The kind carries out its own changes (a kind-specific path, issue 26). The executor
    (``reconciler.engine.executor``) asks every such kind in create order; ``run`` is its run: ``client``,
    ``known(kind)`` (the ids the plan saw), ``listed`` (a listing the caller just made), ``record``, ``report``.
    A kind with ``records_created = False`` keeps its creates out of ``report.created`` (name -> id)."""

    def work(self, changes: Sequence[Any], successors: bool) -> tuple[list[Any], list[Any], list[Any]]:
        """This kind's changes of a plan as (first, main, last): ``first`` run before the creates and updates of
        ``main``, ``last`` (deletes) in reverse create order once everything else succeeded. ``successors``: the
        run starts the successors of blue/green replaces (their creates belong to ``main``)."""

    def recheck(self, run: Any, main: list[Any]) -> list[Any]:
        """Right before ``main`` runs: what a concurrent apply created since the plan is adopted (recorded), never
        created twice; returns what is left to run."""

    def step(self, run: Any, change: Any) -> Any:
        """Carry out one change: ``(detail, new id or None)``, or an ``Outcome``; raises ``ReconcilerError``."""

    def failure(self, change: Any, error: Exception) -> Any:
        """An ``Outcome`` for an error this kind explains its own way, or None."""

    def settle(self, run: Any, outcomes: list[Any]) -> None:
        """After ``main``: the concurrent-duplicate rule (``executor.keep_oldest``) over what it created."""


_MEMBERS: dict[type, frozenset[str]] = {}
_BY_CLASS: dict[tuple[type, type], bool] = {}


def _members(ability: type) -> frozenset[str]:
    """The names a protocol asks for (its methods and annotated attributes), as ``isinstance`` checks them."""
    found = _MEMBERS.get(ability)
    if found is None:
        names: set[str] = set()
        for cls in ability.__mro__:
            if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
                continue
            names |= set(vars(cls).get("__annotations__", {})) | set(vars(cls))
        found = _MEMBERS[ability] = frozenset(n for n in names if not n.startswith("_"))
    return found


@runtime_checkable
class WithPlanner(Protocol):
    """The kind plans itself (a kind-specific path, issue 26: until the generic engine can plan it). The planner
    (``reconciler.engine.planner``) asks every such kind in create order; ``draft`` is its ``Draft``: the file,
    the listings, the options, and the changes, errors, warnings and Plan fields made so far. A kind with
    ``replace_by_name = True`` is what ``--replace NAME`` names. Such a kind sets ``legacy_path = True``: the
    generic ``objects.py`` path then leaves it alone."""

    def declared_names(self, config: Any) -> set[str]:
        """The names the file declares of this kind (what ``--target`` may name)."""

    def listed_names(self, listing: Sequence[Any]) -> set[str]:
        """The names ``--target`` may give of the listed objects."""

    def plan_before(self, draft: Any) -> None:
        """Plan into ``draft`` before the generic kinds are planned."""

    def holds(self, draft: Any) -> Mapping[str, str]:
        """Id -> who, for every object of a generic kind this kind's objects hold: never pruned."""

    def plan_after(self, draft: Any) -> None:
        """Plan into ``draft`` once the generic kinds' plan (``draft.generic``) is known."""


def has(kind: Any, ability: type) -> bool:
    """Whether ``kind`` has the optional ``ability`` (one of the ``With...`` protocols above). A runtime
    protocol check is slow (microseconds, for every change of a large plan), so the answer is kept per (kind
    class, ability); an object whose own attributes hold one of the ability's members is checked every time."""
    own = getattr(kind, "__dict__", None)
    if own and not _members(ability).isdisjoint(own):
        return isinstance(kind, ability)
    key = (type(kind), ability)
    found = _BY_CLASS.get(key)
    if found is None:
        found = _BY_CLASS[key] = isinstance(kind, ability)
    return found


def listing(kind: Any) -> Listing:
    return kind.listing if has(kind, WithListing) else Listing()
