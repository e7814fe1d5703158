"""Typed values shared by every module: what the file declares, what the API has, what a plan changes.

These are plain frozen dataclasses with no I/O, so the planner and renderers stay pure. ``Config`` and ``Plan``
also hold the fields the kinds on their own plan path add (a kind's ``config_fields`` / ``plan_fields``: name ->
default, e.g. the replicas' entries and their plan's rows), passed as keywords and read as attributes, like
their own; this module names no kind.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.rollout import Rollout, RolloutSettings
from reconciler.kinds import DEFAULT_KIND


@functools.cache
def kind_fields(attr: str) -> Mapping[str, Any]:
    """name -> default of the fields every registered kind adds under ``attr`` (``config_fields``,
    ``plan_fields``): immutable defaults only (a tuple, a bool)."""
    from reconciler.kinds import registered

    out: dict[str, Any] = {}
    for k in registered():
        out.update(getattr(k, attr, {}))
    return out


class _WithKindFields:
    """A frozen dataclass whose ``of_kinds`` holds the fields the kinds add (``FIELDS``: the kinds' attribute
    naming them): given as keywords, read as attributes (their default when not given); any other keyword is a
    TypeError, as for a dataclass."""

    FIELDS = ""

    def __init__(self, *args: Any, **kw: Any) -> None:
        own = [f for f in dataclasses.fields(self) if f.init]  # type: ignore[arg-type]
        if len(args) > 1:
            raise TypeError(f"{type(self).__name__}() takes one positional argument (the first field)")
        if args:
            kw[own[0].name] = args[0]
        names = {f.name for f in own}
        extra = {k: kw.pop(k) for k in list(kw) if k not in names}
        known = kind_fields(self.FIELDS)
        if unknown := sorted(set(extra) - set(known)):
            raise TypeError(f"{type(self).__name__}() got unexpected keyword argument(s) {', '.join(unknown)}")
        for f in own:
            if f.name in kw:
                value = kw[f.name]
            elif f.default is not dataclasses.MISSING:
                value = f.default
            elif f.default_factory is not dataclasses.MISSING:
                value = f.default_factory()
            else:
                raise TypeError(f"{type(self).__name__}() missing required argument {f.name!r}")
            object.__setattr__(self, f.name, value)
        object.__setattr__(self, "of_kinds", {**kw.get("of_kinds", {}), **extra})

    def __getattr__(self, name: str) -> Any:  # only for what is not a field: the kinds' fields
        if not name.startswith("__"):
            of = self.__dict__.get("of_kinds") or {}
            if name in of:
                return of[name]
            known = kind_fields(self.FIELDS)
            if name in known:
                return known[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

# --------------------------------------------------------------------------- desired state (the file)


DEFAULT_MASS_PERCENT = 30.0  # octoDNS's MAX_SAFE_DELETE_PCENT / MAX_SAFE_UPDATE_PCENT (issue 28)
DEFAULT_MASS_MIN_CHANGES = 3  # a plan deleting or replacing fewer objects of one kind is never a mass change


@dataclass(frozen=True)
class MassChangeSettings:
    """``settings.mass_change`` (issue 28): the guard refuses a plan deleting or replacing more than
    ``max_percent`` of the managed objects of one kind, and at least ``min_changes`` of them."""

    max_percent: float = DEFAULT_MASS_PERCENT
    min_changes: int = DEFAULT_MASS_MIN_CHANGES


@dataclass(frozen=True)
class Settings:
    prune: bool = False
    name_prefix: str | None = None  # None: the file owns every user replica
    discard_editor_drafts: tuple[str, ...] = ()  # personas whose unpublished editor drafts an update overwrites
    rollout: RolloutSettings = field(default_factory=RolloutSettings)  # how replaces roll (issue 19)
    whole_account: bool = False  # settings.scope.whole_account: prune may delete anything undeclared (issue 28)
    mass_change: MassChangeSettings = field(default_factory=MassChangeSettings)  # issue 28

    def in_scope(self, name: str) -> bool:
        return self.name_prefix is None or name.startswith(self.name_prefix)


@dataclass(frozen=True, init=False)
class Config(_WithKindFields):
    """A loaded, valid desired-state file. The kinds on their own plan path add their entries (``config_fields``
    of kinds/<kind>/kind.py)."""

    FIELDS = "config_fields"

    path: str
    settings: Settings = field(default_factory=Settings)
    version: int = 1
    warnings: tuple[str, ...] = ()  # located, e.g. "FILE:3:5: ${ANNA_URL} is not set"
    source: str = ""  # the file's text as read (before ${VAR} resolution): embedded in saved plans
    removed_names: tuple[str, ...] = ()  # `removed:`: released from management, never deleted (forget)
    removed_ids: tuple[str, ...] = ()
    policy: tuple[Any, ...] = ()  # policy.Rule: settings.policy, then --policy FILE's (issue 28)
    policy_findings: tuple[Any, ...] = ()  # policy.Finding of the rules checked on the file alone
    # the kinds the generic engine plans (reconciler.engine.objects): kind key -> declared entries (issue 26)
    objects: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    of_kinds: Mapping[str, Any] = field(default_factory=dict)  # the kinds' own fields (read as attributes)


# --------------------------------------------------------------------------- the plan


class Action(enum.StrEnum):
    CREATE = "create"
    RENAME = "rename"
    REPLACE = "replace"
    DELETE = "delete"
    UPDATE = "update"  # in place (personas: one JSON Patch)

    @property
    def symbol(self) -> str:
        return {"create": "+", "rename": "~", "replace": "-/+", "delete": "-", "update": "~"}[self.value]


@dataclass(frozen=True)
class Change:
    """One change the plan makes.

    ``kind`` is the kind's key; ``name`` the declared name (create, rename's new name, replace) or the remote
    name (delete). ``object_id`` is the existing object the change acts on (None for create).
    ``before``/``after`` are the attributes shown in diffs (URLs are redacted by the renderers).
    ``desired`` is the declared entry a create, replace or update sends.
    A replace is blue/green: the successor is created under a marked name (``reconciler.engine.successor``) and takes
    the declared name only once ready and the old object is deleted.
    """

    action: Action
    name: str
    reason: str
    object_id: str | None = None
    before: Mapping[str, object] | None = None
    after: Mapping[str, object] | None = None
    desired: Any = None
    # replace only: how far the blue/green replace is (see reconciler.engine.successor): "create" (successor not
    # made yet), "training", "swap" (successor ready, old still there), "rename" (old gone); and the
    # successor's id once it exists (on a delete: the failed successor of a replace being removed).
    phase: str | None = None
    successor_id: str | None = None
    kind: str = DEFAULT_KIND
    # in-place updates (personas, issue 17): ``patch`` the JSON Patch an update sends (values may be secrets:
    # renderers mask them); ``diff`` (path, old, new) rows shown in plans (secrets already masked);
    # ``uncomparable`` declared attributes the API does not return (not compared; sent on create); ``resent``
    # (--resend) uncomparable attributes sent as declared (dotted); ``discard_drafts`` (issue 25,
    # --discard-editor-drafts): the update overwrites an unpublished draft left in Tavus's editor
    patch: tuple[Mapping[str, Any], ...] = ()
    diff: tuple[tuple[str, object, object], ...] = ()
    uncomparable: tuple[str, ...] = ()
    resent: tuple[str, ...] = ()
    discard_drafts: bool = False
    # the references the create/update binds (issue 26): (reference field, referenced kind, declared name, id or
    # None when the referenced object is created by this same apply)
    refs: tuple[tuple[str, str, str, str | None], ...] = ()


@dataclass(frozen=True, init=False)
class Plan(_WithKindFields):
    """The planner's output: desired + remote -> what to change, and what to report. The kinds on their own plan
    path add their rows (``plan_fields`` of kinds/<kind>/kind.py: what is training, ready, unmanaged...)."""

    FIELDS = "plan_fields"

    changes: tuple[Change, ...] = ()
    errors: tuple[str, ...] = ()  # refusals: the plan must not be applied while any exist
    warnings: tuple[str, ...] = ()
    missing_vars: tuple[str, ...] = ()  # ${VAR}s that a create needs and the environment lacks
    uncompared: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (persona, attributes the API does not return)
    rollout: Rollout | None = None  # the order, canary and batches of the replaces (None: no replace)
    unmanaged_objects: tuple[tuple[str, Any], ...] = ()  # generic kinds (issue 26): (kind key, remote object)
    forgotten_objects: tuple[tuple[str, Any], ...] = ()  # generic kinds under `removed:` (issue 27): never deleted
    checked: tuple[tuple[str, str], ...] | None = None  # plan --check: (kind, name) the API validated
    safety: Any = None  # policy.Safety: scope, policy rules and mass-change guard as plan/apply checked them
    of_kinds: Mapping[str, Any] = field(default_factory=dict)  # the kinds' own rows (read as attributes)

    @property
    def summary(self) -> dict[str, int]:
        """Changes per action; ``update`` (personas, in place) only when there is one, so replica-only plans
        keep their documented shape."""
        counts = {a.value: 0 for a in Action if a is not Action.UPDATE}
        for c in self.changes:
            counts[c.action.value] = counts.get(c.action.value, 0) + 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)
