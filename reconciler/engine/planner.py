"""The planner: desired state + remote inventory -> Plan. A pure function: no I/O, no clock, no env.

It names no kind. The kinds on a kind-specific path plan themselves through their
:class:`~reconciler.engine.kind.WithPlanner` hooks, asked in the reference graph's create order (a kind before the
kinds that reference it): ``plan_before`` ahead of the generic kinds, ``plan_after`` once the generic kinds'
plan (``reconciler.engine.objects``) is known, whose ids and creates they may reference. Every other kind is
planned by ``objects.plan_objects``: its creates and updates run first, its deletes last.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.kind import WithPlanner, has
from reconciler.engine.models import Action, Change, Config, Plan
from reconciler.engine.rollout import RolloutSettings, schedule


@dataclass
class Draft:
    """The plan being made, shared with the kinds that plan themselves (:class:`~reconciler.engine.kind.WithPlanner`),
    which add to it in their create order."""

    config: Config
    listings: Mapping[str, Sequence[Any]]  # kind key -> listing, of the kinds that plan themselves (absent: not listed)
    objects: Mapping[str, Sequence[Any]]  # kind key -> listing, for the generic kinds (and what holds them)
    wanted: Callable[[str], bool]  # --target
    prune: bool
    force_replace: frozenset[str]
    resend: frozenset[str]  # --resend names no generic kind declares
    discard_drafts: frozenset[str]
    generic_names: frozenset[str]  # the generic kinds' declared names
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    uncompared: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    generic: Any = None  # objects.ObjectPlan once the generic kinds are planned (None: none declared or listed)
    fields: dict[str, list] = field(default_factory=dict)  # the Plan's fields a kind fills (Plan.pending...)


def planners() -> list:
    """The registered kinds that plan themselves, in create order."""
    from reconciler.kinds import kinds

    return [k for k in kinds() if has(k, WithPlanner)]


def compute_plan(
    config: Config,
    remote: Sequence,
    *,
    targets: Collection[str] = (),
    force_replace: Collection[str] = (),
    prune: bool = False,
    rollout: RolloutSettings | None = None,
    resend: Collection[str] = (),
    discard_drafts: Collection[str] = (),
    objects: Mapping[str, Sequence] | None = None,
    **listed: Sequence | None,
) -> Plan:
    """Diff ``config`` against the account.

    ``remote``: the listing of the first kind that plans itself (the registry's first kind); ``listed``: kind key
    -> the listing of each other such kind (by keyword; None or absent: not listed). ``objects``: kind key -> the
    listed remote objects of the kinds the generic engine plans (``config.objects`` holds their declared entries).
    ``targets`` limits the plan to those names (declared or remote); ``force_replace`` names declared objects to
    recreate; ``prune`` (or ``settings.prune``) turns undeclared in-scope objects into deletes; ``resend`` names
    declared objects whose attributes that cannot be compared are sent anyway.
    Refusals (ambiguous names, protected objects, missing pins) are returned in ``Plan.errors``.
    """
    own = planners()
    if unknown := sorted(set(listed) - {k.key for k in own[1:]}):
        raise TypeError(f"compute_plan() got unexpected keyword arguments: {', '.join(unknown)}")
    listings = {k.key: v for k, v in zip(own, (remote, *(listed.get(k.key) for k in own[1:])), strict=True)
                if v is not None}
    generic_names = frozenset(getattr(d, "name", "") for entries in config.objects.values() for d in entries)
    targets = frozenset(targets)
    draft = Draft(config, listings, objects or {}, (lambda name: name in targets) if targets else (lambda name: True),
                  prune or config.settings.prune, frozenset(force_replace), frozenset(resend) - generic_names,
                  frozenset(discard_drafts), generic_names)
    _name_errors(draft, own, targets)
    for k in own:
        k.plan_before(draft)
    held: dict[str, str] = {}
    for k in own:
        for oid, who in k.holds(draft).items():
            held.setdefault(oid, who)
    draft.generic = _plan_generic(config, objects, prune=draft.prune, wanted=draft.wanted,
                                  force_replace=draft.force_replace, resend=frozenset(resend) & generic_names,
                                  held=held)
    for k in own:
        k.plan_after(draft)
    return _assemble(draft, rollout)


def _assemble(draft: Draft, rollout: RolloutSettings | None) -> Plan:
    """The Plan: the generic kinds' creates and updates first (what others reference), their deletes last."""
    changes, generic = draft.changes, draft.generic
    released = frozenset(draft.config.removed_names)  # `removed:` releases objects of every kind, by name (issue 27)
    if generic is not None:
        draft.uncompared += generic.uncompared
        changes = [c for c in generic.changes if c.action is not Action.DELETE] + changes + [
            c for c in generic.changes if c.action is Action.DELETE]
        draft.errors += generic.errors
        draft.warnings += generic.warnings
    # the rolling rollout schedules the replaces of the kinds on their own path; the generic kinds' replaces are
    # blue/green within their own apply (reconciler.engine.bluegreen)
    replaces = [c for c in draft.changes if c.action is Action.REPLACE]
    return Plan(
        changes=tuple(changes),
        rollout=schedule(replaces, rollout or draft.config.settings.rollout) if replaces else None,
        errors=tuple(draft.errors),
        warnings=tuple(draft.warnings),
        missing_vars=tuple(sorted(draft.missing)),
        uncompared=tuple(draft.uncompared),
        unmanaged_objects=tuple(o for o in generic.unmanaged if _name(o[1]) not in released) if generic else (),
        forgotten_objects=tuple(o for o in generic.unmanaged if _name(o[1]) in released) if generic else (),
        **{key: tuple(value) for key, value in draft.fields.items()},
    )


def _name_errors(draft: Draft, own: Sequence, targets: frozenset[str]) -> None:
    """``--replace`` and ``--target`` names nothing declares (or, for a target, the account holds): a typo would
    plan nothing and say "No changes", so each is an error."""
    config = draft.config
    replaceable = [k for k in own if getattr(k, "replace_by_name", False)]
    declared = {k: k.declared_names(config) for k in own}
    by_name = set().union(*(declared[k] for k in replaceable))
    for name in sorted(draft.force_replace - by_name - draft.generic_names):
        draft.errors.append(f"--replace {name}: no {' or '.join(k.noun for k in replaceable)} of that name is declared "
                      f"in {config.path}")
    if not targets:  # (the names the account holds are a set as large as the account: only for --target)
        return
    named = set().union(*declared.values())
    known = named | _object_names(config, draft.objects, {k.key for k in own}) | set().union(
        *(k.listed_names(draft.listings[k.key]) for k in own if k.key in draft.listings))
    for name in sorted(targets - known):
        draft.errors.append(_no_such_target(name, sorted(named), config.path, [k.noun for k in own]))


def _released(plan, removed: Collection[str], remote: Mapping[str, Sequence]):
    """The generic plan without a delete of an object listed under ``removed:`` (released, never deleted): it is
    kept with the unmanaged ones, which the plan then shows as forgotten."""
    if not removed:
        return plan
    from dataclasses import replace

    removed = frozenset(removed)
    gone = [c for c in plan.changes if c.action is Action.DELETE and c.name in removed]
    kept = {(c.kind, c.object_id) for c in gone}
    from reconciler.kinds import kind

    extra = [(key, r) for key, items in remote.items() for r in items if (key, kind(key).remote_id(r)) in kept]
    return replace(plan, changes=tuple(c for c in plan.changes if c not in gone),
                   unmanaged=(*plan.unmanaged, *extra))


def _name(remote) -> str:
    return getattr(remote, "name", "") or ""


def _object_names(config: Config, objects: Mapping[str, Sequence] | None, planned: Collection[str]) -> set[str]:
    """The generic kinds' declared and listed names (a listing under a key of a kind that plans itself is there
    only for what its objects hold)."""
    declared = {getattr(d, "name", "") for entries in config.objects.values() for d in entries}
    return declared | {getattr(r, "name", "") or "" for key, items in (objects or {}).items() if key not in planned
                       for r in items}


def generic_kinds() -> list:
    """The registered kinds the generic engine plans (every kind without a kind-specific path)."""
    from reconciler.kinds import kinds

    return [k for k in kinds() if not getattr(k, "legacy_path", False)]


def _plan_generic(config: Config, objects: Mapping[str, Sequence] | None, *, prune: bool, wanted,
                  force_replace: Collection[str], resend: Collection[str] = (), held=None):
    """The generic engine's part of the plan, or None when no such kind is declared or listed."""
    if not config.objects and not objects:
        return None
    from reconciler.engine.objects import ObjectPlan, plan_objects

    desired = {key: list(entries) for key, entries in config.objects.items()}  # all: references resolve
    remote = {key: list(items) for key, items in (objects or {}).items()}
    plan = plan_objects(generic_kinds(), desired, remote, prune=prune, in_scope=config.settings.in_scope,
                        prefix=config.settings.name_prefix, force_replace=force_replace, resend=resend,
                        held=held)
    plan = _released(plan, config.removed_names, remote)
    return ObjectPlan(tuple(c for c in plan.changes if wanted(c.name)), tuple(
        (k, r) for k, r in plan.unmanaged if wanted(getattr(r, "name", "") or "")), plan.errors, plan.warnings,
        plan.ids, frozenset(c for c in plan.creating if wanted(c[1])),  # --target: only what it makes
        tuple((n, a) for n, a in plan.uncompared if wanted(n)))


def _no_such_target(name: str, declared: list[str], path: str, nouns: Sequence[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, declared, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else (
        f"; declared: {', '.join(declared[:8])}{', ...' if len(declared) > 8 else ''}" if declared else "")
    return (f"--target {name}: no {' or '.join(nouns)} of that name is declared in {path} or found on the "
            f"account{hint}")
