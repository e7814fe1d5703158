"""The replicas' part of the plan (issue 26: the kind-specific path, asked by ``engine.planner`` through the
kind's ``WithPlanner`` hooks). Pure: no I/O, no clock, no env.

Identity is the replica name inside the file's scope (``settings.scope.name_prefix``), or the pinned
``replica_id``, as worked out by the replicas' resolver (``reconciler.kinds.replicas.resolve``). Stock
(``system``) replicas are never in scope. Training inputs (URLs, callback) are create-time inputs: a changed URL
never replaces a replica, only a failed training, a changed ``model_name`` or an explicit ``--replace`` does. A
replace is blue/green and its state is read from the account alone (``reconciler.engine.successor``): two
unmarked replicas under one declared name are always an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.engine.models import Action, Change
from reconciler.engine.status import Phase
from reconciler.engine.successor import MARK, parse_successor
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.kinds.replicas.resolve import is_user, resolve, undeclared


def desired_attributes(d: DesiredReplica) -> dict[str, object]:
    """What a create sends, as shown in plans (renderers redact the URLs)."""
    return REPLICAS.desired_attributes(d)


def remote_attributes(r: RemoteReplica) -> dict[str, object]:
    return REPLICAS.remote_attributes(r)


def listed_names(remote: Sequence[RemoteReplica]) -> set[str]:
    """The names ``--target`` may give of what the account holds: every user replica's."""
    return {r.name for r in remote if is_user(r)}


def plan_replicas(draft) -> None:
    """The declared replicas (file order), then the undeclared in-scope ones (unmanaged, pruned or released by
    ``removed:``), into ``draft`` (``reconciler.engine.planner.Draft``): its changes, errors, warnings and missing
    variables, and the plan's ``pending``, ``ready``, ``unmanaged`` and ``forgotten``."""
    config, wanted = draft.config, draft.wanted
    remote = draft.listings.get(REPLICAS.key, ())
    pinned = {d.replica_id for d in config.replicas if d.replica_id}
    by_id = {r.replica_id: r for r in remote if r.replica_id in pinned}  # only the pins are looked up by id
    resolutions = resolve(config, remote)
    pending: list[RemoteReplica] = []
    ready: list[RemoteReplica] = []

    def track(r: RemoteReplica) -> None:
        if r.phase is Phase.READY:
            ready.append(r)
        elif r.phase.training:  # training, or a preview whose fine-tune runs (issue 25)
            pending.append(r)

    for d in config.replicas:
        if wanted(d.name):
            _plan_entry(d, resolutions[d.name], by_id, draft.force_replace, draft.changes, draft.errors,
                        draft.warnings, draft.missing, track)

    undeclared_now, released = undeclared(config, remote, resolutions)
    forgotten = [r for r in released if wanted(r.name)]  # released from management: never deleted, not drift
    unmanaged = [r for r in undeclared_now if wanted(r.name)]
    if draft.prune:
        draft.changes += [Change(Action.DELETE, r.name, f"not declared in {config.path}; prune is on",
                                 object_id=r.replica_id, before=remote_attributes(r)) for r in unmanaged]
        unmanaged = []
    draft.fields.update(pending=pending, ready=ready, unmanaged=unmanaged, forgotten=forgotten)


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
        changes.append(Change(Action.REPLACE, d.name, reason, object_id=r.replica_id, before=remote_attributes(r),
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
                              object_id=s.replica_id, before=remote_attributes(s), successor_id=s.replica_id))
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
                          object_id=old_id, before=remote_attributes(old) if old is not None else None,
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
                              object_id=r.replica_id, before={k: v[0] for k, v in renamed.items()},
                              after={k: v[1] for k, v in renamed.items()}))
    track(r)
