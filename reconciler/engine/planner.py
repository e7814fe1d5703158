"""The planner: desired state + remote inventory -> Plan. A pure function: no I/O, no clock, no env.

Identity is the replica name inside the file's scope (``settings.scope.name_prefix``), or the pinned
``replica_id``, as worked out by the one resolver (``reconciler.engine.resolver``). Stock (``system``) replicas are
never in scope. Training inputs (URLs, callback) are create-time inputs: a changed URL never replaces a
replica, only a failed training, a changed ``model_name`` or an explicit ``--replace`` does. A replace is
blue/green and its state is read from the account alone (``reconciler.engine.successor``): two unmarked replicas
under one declared name are always an error.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from reconciler.engine.models import Action, Change, Config, Plan
from reconciler.engine.rollout import RolloutSettings, schedule
from reconciler.engine.status import Phase
from reconciler.engine.successor import MARK, parse_successor
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.kinds.replicas.resolve import is_user, match_declared, resolve, undeclared  # noqa: F401 - re-exported


def desired_attributes(d: DesiredReplica) -> dict[str, object]:
    """What a create sends, as shown in plans (renderers redact the URLs)."""
    return REPLICAS.desired_attributes(d)


def remote_attributes(r: RemoteReplica) -> dict[str, object]:
    return REPLICAS.remote_attributes(r)


def compute_plan(
    config: Config,
    remote: Sequence[RemoteReplica],
    *,
    targets: Collection[str] = (),
    force_replace: Collection[str] = (),
    prune: bool = False,
    personas: Sequence | None = None,
    rollout: RolloutSettings | None = None,
    resend: Collection[str] = (),
    discard_drafts: Collection[str] = (),
    objects: Mapping[str, Sequence] | None = None,
) -> Plan:
    """Diff ``config`` against ``remote``.

    ``targets`` limits the plan to those names (declared or remote); ``force_replace`` names declared
    replicas to recreate; ``prune`` (or ``settings.prune``) turns undeclared in-scope replicas into deletes;
    ``resend`` names declared personas whose attributes that cannot be compared are sent anyway.
    ``objects``: kind key -> the listed remote objects of the kinds the generic engine plans
    (``reconciler.engine.objects``; ``config.objects`` holds their declared entries).
    Refusals (ambiguous names, protected replicas, missing pins) are returned in ``Plan.errors``.
    """
    settings = config.settings
    prune = prune or settings.prune
    targets = frozenset(targets)
    force_replace = frozenset(force_replace)
    wanted = (lambda name: name in targets) if targets else (lambda name: True)

    user = [r for r in remote if is_user(r)]
    by_id = {r.replica_id: r for r in remote}
    resolutions = resolve(config, remote)

    changes: list[Change] = []
    pending: list[RemoteReplica] = []
    ready: list[RemoteReplica] = []
    errors: list[str] = []
    warnings: list[str] = []
    missing: set[str] = set()

    declared_names = {d.name for d in config.replicas}
    generic_declared = {getattr(d, "name", "") for entries in config.objects.values() for d in entries}
    for name in sorted(force_replace - declared_names - generic_declared):
        errors.append(f"--replace {name}: no replica of that name is declared in {config.path}")
    known = declared_names | {r.name for r in user} | {d.name for d in config.personas} | _object_names(
        config, objects) | {
        p.name for p in personas or () if getattr(p, "name", None)}
    for name in sorted(targets - known):  # a typo would plan nothing and say "No changes": an error
        errors.append(_no_such_target(name, sorted(declared_names | {d.name for d in config.personas}), config.path))

    def track(r: RemoteReplica) -> None:
        if r.phase is Phase.READY:
            ready.append(r)
        elif r.phase.training:  # training, or a preview whose fine-tune runs (issue 25)
            pending.append(r)

    for d in config.replicas:
        if wanted(d.name):
            _plan_entry(d, resolutions[d.name], by_id, force_replace, changes, errors, warnings, missing, track)

    undeclared_now, released = undeclared(config, remote, resolutions)
    forgotten = [r for r in released if wanted(r.name)]  # released from management: never deleted, not drift
    unmanaged = [r for r in undeclared_now if wanted(r.name)]
    if prune:
        changes += [Change(Action.DELETE, r.name, f"not declared in {config.path}; prune is on",
                           replica_id=r.replica_id, before=remote_attributes(r)) for r in unmanaged]
        unmanaged = []

    # the generic engine's kinds first: a persona may reference them (their ids, or "created by this plan")
    generic_resend, resend = _split_resend(config, resend, errors)
    generic = _plan_generic(config, objects, prune=prune, wanted=wanted, force_replace=force_replace,
                            resend=generic_resend,
                            held=_held_by_personas(config, personas if personas is not None else (objects or {}).get(
                                "personas")))
    released = frozenset(config.removed_names)  # `removed:` releases objects of every kind, by name (issue 27)
    unmanaged_personas: list = []
    forgotten_personas: list = []
    uncompared: list = []
    if personas is not None or config.personas:  # personas are managed once the file declares one
        from reconciler.kinds.personas.plan import plan_personas

        persona_changes, unmanaged_personas, forgotten_personas, uncompared = plan_personas(
            config, remote, personas or (), changes, wanted=wanted, prune=prune, errors=errors, missing=missing,
            resend=resend, warnings=warnings, discard_drafts=discard_drafts, objects=generic)
        deletes = [c for c in changes if c.action is Action.DELETE]
        kept = _referenced(config, personas or (), persona_changes, deletes, by_id, warnings)
        unmanaged += [by_id[c.replica_id] for c in kept if c.replica_id in by_id]
        deletes = [c for c in deletes if c not in kept]
        changes = [c for c in changes if c.action is not Action.DELETE] + persona_changes + deletes

    if generic is not None:
        uncompared += generic.uncompared
        generic = _keep_cited(generic, config, personas, changes, warnings, objects)
        # in the reference graph's order, as they run: what personas cite first, its deletes last
        changes = [c for c in generic.changes if c.action is not Action.DELETE] + changes + [
            c for c in generic.changes if c.action is Action.DELETE]
        errors += generic.errors
        warnings += generic.warnings
    replaces = [c for c in changes if c.action is Action.REPLACE and c.object_id is None]
    return Plan(
        changes=tuple(changes),
        rollout=schedule(replaces, rollout or settings.rollout) if replaces else None,
        pending=tuple(pending),
        ready=tuple(ready),
        unmanaged=tuple(unmanaged),
        errors=tuple(errors),
        warnings=tuple(warnings),
        missing_vars=tuple(sorted(missing)),
        forgotten=tuple(forgotten),
        unmanaged_personas=tuple(unmanaged_personas),
        uncompared=tuple(uncompared),
        forgotten_personas=tuple(forgotten_personas),
        unmanaged_objects=tuple(o for o in generic.unmanaged if _name(o[1]) not in released) if generic else (),
        forgotten_objects=tuple(o for o in generic.unmanaged if _name(o[1]) in released) if generic else (),
    )


def _held_by_personas(config: Config, personas: Sequence | None) -> dict[str, str]:
    """Every id a persona holds, declared or on the account (any string value of its document: ``tool_ids``,
    ``document_ids``, ``layers.tts.pronunciation_dictionary_id``...) -> the persona: never pruned."""
    held: dict[str, str] = {}

    def walk(value, who: str) -> None:
        if isinstance(value, str):
            held.setdefault(value, who)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v, who)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v, who)

    declared = {d.name for d in config.personas} | {d.persona_id for d in config.personas if d.persona_id}
    for d in config.personas:
        walk(dict(d.attributes), f"declared persona {d.name}")
    for r in personas or ():
        if getattr(r, "name", None) in declared or getattr(r, "persona_id", None) in declared:
            continue  # a declared persona holds what the file says after the plan (kinds/personas/plan.keep_cited)
        who = f"persona {getattr(r, 'name', '')} ({getattr(r, 'persona_id', '')})"
        walk(dict(getattr(r, "document", {}) or {}), who)
    return held


def _split_resend(config: Config, resend: Collection[str], errors: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """``--resend`` names: (the generic kinds' declared objects, the rest: personas', or unknown). Without
    personas in the file, an unknown name is an error here."""
    generic_names = {getattr(d, "name", "") for entries in config.objects.values() for d in entries}
    rest = frozenset(resend) - generic_names
    if rest and not config.personas and not generic_names:
        errors.append(f"--resend: {config.path} declares no personas")
    elif rest and not config.personas:
        errors += [f"--resend {n}: nothing of that name is declared in {config.path}" for n in sorted(rest)]
    return frozenset(resend) & generic_names, rest


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


def _keep_cited(generic, config: Config, personas, changes, warnings, objects):
    """Never prune what a persona still cites (issue 27: kinds/personas/plan.keep_cited)."""
    if personas is None and not config.personas:
        return generic
    from reconciler.kinds.personas.plan import keep_cited

    return keep_cited(generic, config, personas or (), changes, warnings, objects)


def _object_names(config: Config, objects: Mapping[str, Sequence] | None) -> set[str]:
    declared = {getattr(d, "name", "") for entries in config.objects.values() for d in entries}
    return declared | {getattr(r, "name", "") or "" for key, items in (objects or {}).items() if key != "personas"
                       for r in items}  # "personas": listed only for what they hold


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


def _no_such_target(name: str, declared: list[str], path: str) -> str:
    import difflib

    near = difflib.get_close_matches(name, declared, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(near)}?" if near else (
        f"; declared: {', '.join(declared[:8])}{', ...' if len(declared) > 8 else ''}" if declared else "")
    return f"--target {name}: no replica or persona of that name is declared in {path} or found on the account{hint}"


def _referenced(config: Config, personas: Sequence, persona_changes: Sequence[Change], deletes: Sequence[Change],
                by_id, warnings: list[str]) -> list[Change]:
    """The pruned replicas a persona still references by ``default_replica_id`` (a declared persona's explicit
    id, or any user persona this plan does not delete): never deleted (issue 24 #8); the plan says why."""
    gone = {c.persona_id for c in persona_changes if c.action is Action.DELETE}
    users: dict[str, str] = {}
    for p in personas:
        if p.persona_type != "system" and p.persona_id not in gone and p.default_replica_id:
            users.setdefault(p.default_replica_id, f"persona {p.name or p.persona_id} ({p.persona_id})")
    for d in config.personas:
        if d.default_replica_id:
            users.setdefault(d.default_replica_id, f"declared persona {d.name}")
    kept = [c for c in deletes if not c.successor_id and c.replica_id in users]
    for c in kept:
        warnings.append(f"{c.name} ({c.replica_id}) is not declared, but {users[c.replica_id]} uses it as its "
                        "default_replica_id: kept, not pruned (re-point the persona first)")
    return kept


def _plan_entry(d, res, by_id, force_replace, changes, errors, warnings, missing, track) -> None:
    """One declared entry, as the resolver found it: pinned, a replace in flight, ambiguous, absent or one."""
    matches, successors = res.matches, res.successors
    if d.replica_id:
        if successors:
            errors.append(f"{d.name} is pinned ({d.replica_id}) but a replace of it is in flight (successor "
                          f"{', '.join(r.replica_id for r in successors)}): remove replica_id to "
                          "let it finish, or delete the successor")
        _plan_pinned(d, by_id.get(d.replica_id), force_replace, changes, errors, warnings, track)
    elif MARK in d.name:
        errors.append(f"{d.name!r}: names may not contain {MARK!r} (it marks the successor of a replace)")
    elif successors:
        _plan_in_flight(d, matches, successors, changes, errors, missing, track)
    elif len(matches) > 1:
        ids = ", ".join(sorted(r.replica_id for r in matches))
        errors.append(
            f"{len(matches)} remote replicas are named {d.name!r} ({ids}): "
            "pin the one to keep with replica_id, or delete the others"
        )
    elif not matches:
        changes.append(Change(Action.CREATE, d.name, "not found remotely", after=desired_attributes(d), desired=d))
        missing.update(d.missing_vars)
    else:
        _plan_existing(d, matches[0], force_replace, changes, errors, missing, track)


def _plan_existing(d, r, force_replace, changes, errors, missing, track) -> None:
    """One remote replica holds the declared name: keep it, or replace it (blue/green, phase ``create``)."""
    reason = REPLICAS.replace_reason(d, r, force_replace)
    if reason is None:
        track(r)
    elif d.protect:
        errors.append(f"{d.name} ({r.replica_id}) is protected: refusing to replace it ({reason})")
        track(r)
    else:
        after = {**desired_attributes(d), "status": "started"}  # the successor trains from scratch
        changes.append(Change(Action.REPLACE, d.name, reason, replica_id=r.replica_id, before=remote_attributes(r),
                              after=after, desired=d, phase="create"))
        missing.update(d.missing_vars)


_IN_FLIGHT = {
    "training": "is training; the old replica keeps the name and serves until it is ready",
    "swap": "finished training: the old replica is deleted, then the successor takes the name",
    "rename": "finished training and the old replica is gone: the successor takes the name",
}


def _plan_in_flight(d, matches, successors, changes, errors, missing, track) -> None:
    """A replace of ``d`` is in flight: its marked successor exists. Carry it on from the account alone."""
    ids = ", ".join(sorted(r.replica_id for r in successors))
    if len(successors) > 1:
        errors.append(f"{len(successors)} replicas are marked as the successor of {d.name!r} ({ids}): "
                      "delete all but one, then run apply again")
        return
    s = successors[0]
    old_id = parse_successor(s.name)[1]
    old = next((r for r in matches if r.replica_id == old_id), None)
    others = sorted(r.replica_id for r in matches if r.replica_id != old_id)
    if others:
        errors.append(f"a replace of {d.name!r} is in flight (successor {s.replica_id} replaces {old_id}) but "
                      f"{', '.join(others)} is also named {d.name!r}: pin the one to keep with replica_id, "
                      "or delete the others")
        return
    if d.protect:
        errors.append(f"{d.name} is protected: refusing to finish the replace in flight (successor "
                      f"{s.replica_id}); delete {s.name!r} or remove protect")
        return
    if s.phase is Phase.FAILED:
        detail = f": {s.failure}" if s.failure else ""
        kept = f"{old_id} keeps the name" if old else f"{old_id} is gone"
        changes.append(Change(Action.DELETE, s.name, f"the successor of a replace failed training{detail}; {kept}",
                              replica_id=s.replica_id, before=remote_attributes(s), successor_id=s.replica_id))
        if old is not None:
            _plan_existing(d, old, (), changes, errors, missing, track)
        else:
            changes.append(Change(Action.CREATE, d.name, "not found remotely", after=desired_attributes(d),
                                  desired=d))
            missing.update(d.missing_vars)
        return
    phase = "training" if s.phase.training else "swap" if old is not None else "rename"
    after = {**remote_attributes(s), "replica_name": d.name}
    changes.append(Change(Action.REPLACE, d.name, f"replace in flight: successor {s.replica_id} {_IN_FLIGHT[phase]}",
                          replica_id=old_id, before=remote_attributes(old) if old is not None else None,
                          after=after, phase=phase, successor_id=s.replica_id))
    if old is not None:
        track(old)


def _plan_pinned(d, r, force_replace, changes, errors, warnings, track) -> None:
    """A declared replica with ``replica_id``: adopted, renamed in place, never recreated."""
    if r is None:
        errors.append(f"pinned replica {d.replica_id} not found (declared as {d.name!r}): "
                      "it will not be created; remove replica_id to create a new one")
        return
    if not is_user(r):  # a stock replica pinned as a read-only reference: never renamed, replaced or deleted
        if d.name in force_replace:
            errors.append(f"--replace {d.name}: {d.replica_id} is a stock replica; it cannot be recreated")
        if r.name != d.name:
            warnings.append(f"{d.name} pins the Tavus stock replica {d.replica_id} (named {r.name!r}): stock replicas "
                            "are read-only, so it is not renamed; the name in the file is only a label")
        track(r)
        return
    if d.name in force_replace:
        errors.append(f"--replace {d.name}: pinned replicas ({d.replica_id}) are never recreated; "
                      "remove replica_id to let the file recreate it")
    if r.phase is Phase.FAILED:
        message = r.failure or "no message"
        warnings.append(f"pinned replica {d.name} ({d.replica_id}) failed training: {message}")
    if d.model_name and r.model_name and r.model_name != d.model_name:
        warnings.append(f"pinned replica {d.name} ({d.replica_id}) runs {r.model_name}, the file says "
                        f"{d.model_name}: pinned replicas are never replaced")
    renamed = REPLICAS.in_place_changes(d, r)  # a pinned replica's name: its only in-place update
    if renamed:
        changes.append(Change(Action.RENAME, d.name, f"pinned replica is named {r.name!r}",
                              replica_id=r.replica_id, before={k: v[0] for k, v in renamed.items()},
                              after={k: v[1] for k, v in renamed.items()}))
    track(r)
