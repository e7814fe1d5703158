"""The generic engine over the Kind protocol (``reconciler.engine.kind``): plan, apply, wait, prune for ANY kind.

It names no kind. Per kind, in the reference graph's create order (``reconciler.engine.graph``):
- plan: each declared entry is matched by identity (pinned id, or name among the managed objects in scope);
  its references are resolved to ids (a name created by this same plan is bound at apply time; a name
  neither present nor created is a plan error; the ``*_id`` form passes through); absent -> create, one
  match -> a replace (:class:`~reconciler.engine.kind.WithReplace`) or an update in place
  (:class:`~reconciler.engine.kind.WithInPlaceUpdate`) or nothing; several -> an error. Undeclared managed
  objects are unmanaged, or deleted with prune -- never while an object that stays references them.
- apply: creates and updates in create order, each create re-checked against a fresh listing first (never
  a duplicate: an object of that name that appeared since the plan stops the create), then the
  concurrent-duplicate rule (the oldest survives, we only ever delete our own); deletes in reverse order.
- wait: every created object of a kind with :class:`~reconciler.engine.kind.WithReadiness` is polled until
  ready, failed or the deadline (clock and sleep injected: tests never sleep).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine import bluegreen, graph
from reconciler.engine.kind import (
    WithInPlaceUpdate,
    WithMaskedSecrets,
    WithReadiness,
    WithReplace,
    WithScopeSpelling,
    has,
)
from reconciler.engine.models import Action, Change
from reconciler.engine.status import Phase
from reconciler.errors import NotFoundError, ReconcilerError


@dataclass(frozen=True)
class ObjectPlan:
    changes: tuple[Change, ...] = ()
    unmanaged: tuple[tuple[str, Any], ...] = ()  # (kind key, remote object) in scope, not declared, not pruned
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # for the kinds on a kind-specific path that reference these kinds (a persona's documents): (kind key,
    # declared name) -> the existing object's id, and the (kind key, declared name)s this plan creates
    ids: Mapping[tuple[str, str], str] = field(default_factory=dict)
    creating: frozenset[tuple[str, str]] = frozenset()
    uncompared: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, declared attributes that came back masked)


@dataclass
class _Planning:
    kinds: Sequence[Any]
    remote: Mapping[str, Sequence[Any]]
    in_scope: Callable[[str], bool]
    prefix: str | None  # settings.scope.name_prefix, for a kind that reads the scope its own way
    force_replace: frozenset[str]
    resend: frozenset[str] = frozenset()  # --resend NAME: what could not be compared is sent as declared
    removed: frozenset[str] = frozenset()  # removed: names released from management (never deleted, not listed)
    held: Mapping[str, str] = field(default_factory=dict)  # id -> who outside these kinds references it
    name_prefix: str | None = None  # settings.scope.name_prefix, for kinds that spell it their way
    changes: list[Change] = field(default_factory=list)
    uncompared: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, declared name) -> existing id
    creating: set[tuple[str, str]] = field(default_factory=set)  # (kind, declared name) created by this plan
    # blue/green kinds (reconciler.engine.bluegreen): kind -> declared name -> (old id, marked successor)
    successors: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=dict)
    index: dict[str, tuple[dict, dict]] = field(default_factory=dict)  # kind -> (by id, by name): see _index


def plan_objects(kinds: Sequence[Any], desired: Mapping[str, Sequence[Any]], remote: Mapping[str, Sequence[Any]],
                 *, prune: bool = False, in_scope: Callable[[str], bool] = lambda name: True, prefix: str | None = None,
                 force_replace: Collection[str] = (), resend: Collection[str] = (),
                 removed: Collection[str] = (), held: Mapping[str, str] | None = None,
                 name_prefix: str | None = None) -> ObjectPlan:
    """Diff ``desired`` (kind key -> declared entries) against ``remote`` (kind key -> listed objects).
    ``prefix`` (or ``name_prefix``): the file's scope prefix, for the kinds that read it their own way (a kind's
    ``in_scope(name, prefix)``, or :class:`~reconciler.engine.kind.WithScopeSpelling`); ``in_scope`` judges every
    other kind's names."""
    try:
        order = graph.create_order(kinds)
    except ReconcilerError as e:
        return ObjectPlan(errors=(str(e),))
    prefix = prefix if prefix is not None else name_prefix
    p = _Planning(order, remote, in_scope, prefix, frozenset(force_replace), frozenset(resend), frozenset(removed),
                  dict(held or {}), prefix)
    p.successors = {k.key: bluegreen.successors(k, remote.get(k.key, ())) for k in order if bluegreen.blue_green(k)}
    for k in order:
        for d in desired.get(k.key, ()):
            _plan_entry(p, k, d)
    unmanaged = _plan_undeclared(p, desired, prune)
    return ObjectPlan(tuple(p.changes), tuple(unmanaged), tuple(p.errors), tuple(p.warnings), dict(p.ids),
                      frozenset(p.creating), tuple(p.uncompared))


def _in_scope(p: _Planning, k, name: str) -> bool:
    """Whether ``name`` is in the file's scope; a kind whose names cannot hold the prefix as written (tool names
    have no ``-``) reads it its own way (``in_scope(name, prefix)``)."""
    own = getattr(k, "in_scope", None)
    if callable(own):
        return own(name, p.prefix)
    if p.prefix is not None and has(k, WithScopeSpelling):
        return name.startswith(k.scope_prefix(p.prefix))
    return p.in_scope(name)


def _match(p: _Planning, k, d) -> list[Any]:
    how, value = k.identity(d)
    by_id, by_name = _index(p, k)
    if how == "id":
        return list(by_id.get(value, ()))
    return list(by_name.get(value, ())) if _in_scope(p, k, value) else []


def _index(p: _Planning, k) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """The kind's listed objects by id and (the managed ones) by name, in listing order: built once per plan
    (a scan per declared entry was quadratic: 13 s for 1,000 objects of each kind)."""
    if k.key not in p.index:
        by_id: dict[str, list[Any]] = {}
        by_name: dict[str, list[Any]] = {}
        for r in p.remote.get(k.key, ()):
            by_id.setdefault(k.remote_id(r), []).append(r)
            if k.managed(r):
                by_name.setdefault(k.remote_name(r), []).append(r)
        p.index[k.key] = (by_id, by_name)
    return p.index[k.key]


def _resolve_refs(p: _Planning, k, d) -> tuple[tuple[str, str, str, str | None], ...] | None:
    """The entry's references as (field, kind, name, id or None: created by this plan); None after an error."""
    refs = []
    document = k.document(d)
    for ref in k.references:
        for name in ref.names(document):
            key = (ref.kind, name)
            if key in p.ids:
                refs.append((ref.field, ref.kind, name, p.ids[key]))
            elif key in p.creating:
                refs.append((ref.field, ref.kind, name, None))
            else:
                p.errors.append(f"{k.noun} {k.name_of(d)}: {ref.field} {name!r} does not exist and is not created "
                                "by this plan (add it to the file, or apply it first)")
                return None
    return tuple(refs)


def bind(k, document: Mapping[str, Any], refs: Sequence[tuple[str, str, str, str | None]],
         created: Mapping[tuple[str, str], str] | None = None) -> dict[str, Any]:
    """``document`` with every reference's names replaced by ids (``created``: what this apply made)."""
    out = dict(document)
    for ref in k.references:
        names = ref.names(document)
        if not names:
            continue
        found = {(f, kk, n): i for f, kk, n, i in refs}
        ids = [found.get((ref.field, ref.kind, n)) or (created or {}).get((ref.kind, n)) or f"(known after apply: {n})"
               for n in names]
        out = ref.bind(out, ids)
    return out


def _plan_entry(p: _Planning, k, d) -> None:
    name = k.name_of(d)
    matches = _match(p, k, d)
    refs = _resolve_refs(p, k, d)
    if refs is None:
        return
    how, value = k.identity(d)
    if len(matches) <= 1 and _in_flight(p, k, d, matches, refs):
        return
    if len(matches) > 1:
        ids = ", ".join(sorted(k.remote_id(r) for r in matches))
        p.errors.append(f"{len(matches)} remote {k.key} are named {name!r} ({ids}): pin the one to keep, or "
                        "delete the others")
        return
    if not matches and how == "id":
        p.errors.append(f"pinned {k.noun} {value} not found (declared as {name!r}): it will not be created")
        return
    if not matches:
        p.creating.add((k.key, name))
        p.changes.append(Change(Action.CREATE, name, "not found remotely", kind=k.key, desired=d, refs=refs,
                                after=bind(k, k.desired_attributes(d), refs)))
        return
    r = matches[0]
    p.ids[(k.key, name)] = k.remote_id(r)
    _plan_existing(p, k, d, r, refs)


def _in_flight(p: _Planning, k, d, matches: list[Any], refs) -> bool:
    """A blue/green replace already in flight (its marked successor is on the account): planned from there."""
    change = bluegreen.in_flight(k, d, matches[0] if matches else None, p.successors.get(k.key, {}), refs)
    if change is None:
        return False
    p.ids[(k.key, change.name)] = change.successor_id if change.phase == "rename" else change.object_id
    p.changes.append(change)
    return True


def _plan_existing(p: _Planning, k, d, r, refs) -> None:
    name, rid = k.name_of(d), k.remote_id(r)
    reason = k.replace_reason(d, r, p.force_replace) if has(k, WithReplace) else None
    if reason is not None:
        p.creating.add((k.key, name))
        p.changes.append(Change(Action.REPLACE, name, reason, kind=k.key, desired=d, refs=refs, object_id=rid,
                                before=k.remote_attributes(r), after=bind(k, k.desired_attributes(d), refs)))
        return
    if not has(k, WithInPlaceUpdate):
        return
    changes = dict(k.in_place_changes(d, r, bind(k, k.document(d), refs)))
    reason, skipped, resent = "declared attributes differ", _masked(p, k, d, r), ()
    if skipped and name in p.resend:  # sent as declared, without comparing: the user asked for it
        changes.update({a: v for a, v in k.resend_changes(d, r).items() if a not in changes})
        reason = (f"{reason}; " if changes else "") + "--resend: attributes the API does not return are sent"
        resent, skipped = skipped, ()
    if skipped:
        p.uncompared.append((name, skipped))
    if changes:
        p.changes.append(Change(Action.UPDATE, name, reason, kind=k.key, desired=d, refs=refs, object_id=rid,
                                diff=tuple((a, old, new) for a, (old, new) in changes.items()),
                                uncomparable=skipped, resent=resent))


def _masked(p: _Planning, k, d, r) -> tuple[str, ...]:
    """The declared attributes of ``d`` that came back masked (:class:`WithMaskedSecrets`): not compared."""
    return tuple(k.uncomparable(d, r)) if has(k, WithMaskedSecrets) else ()


def _referenced_ids(p: _Planning, deleting: set[str]) -> dict[str, str]:
    """id -> who references it, among the objects that stay (remote ones not deleted, and declared ones), and the
    objects outside these kinds (``held``: the personas, declared or on the account)."""
    users: dict[str, str] = dict(p.held)
    for k in p.kinds:
        for r in p.remote.get(k.key, ()):
            if k.remote_id(r) in deleting:
                continue
            attrs = k.remote_attributes(r)
            for ref in k.references:
                for i in ref.ids(attrs):
                    users.setdefault(i, f"{k.noun} {k.remote_name(r)} ({k.remote_id(r)})")
    for _f, _k, name, i in (ref for c in p.changes for ref in c.refs):
        if i:
            users.setdefault(i, f"a declared object's reference to {name}")
    return users


def _plan_undeclared(p: _Planning, desired: Mapping[str, Sequence[Any]], prune: bool) -> list[tuple[str, Any]]:
    unmanaged: list[tuple[str, Any]] = []
    deletes: list[tuple[Any, Any]] = []
    for k in p.kinds:
        claimed = {i for (kk, _n), i in p.ids.items() if kk == k.key} | {
            k.remote_id(succ) for _old, succ in p.successors.get(k.key, {}).values()}
        for r in p.remote.get(k.key, ()):
            if k.managed(r) and _in_scope(p, k, k.remote_name(r)) and k.remote_id(r) not in claimed:
                released = k.remote_name(r) in p.removed  # `removed:`: never deleted (the plan shows it forgotten)
                (deletes if prune and not released else unmanaged).append((k, r))
    users = _referenced_ids(p, {k.remote_id(r) for k, r in deletes})
    for k, r in deletes:
        rid = k.remote_id(r)
        if rid in users:
            p.warnings.append(f"{k.remote_name(r)} ({rid}) is not declared, but {users[rid]} references it: kept, "
                              "not pruned (re-point the reference first)")
            unmanaged.append((k.key, r))
            continue
        p.changes.append(Change(Action.DELETE, k.remote_name(r), "not declared; prune is on", kind=k.key,
                                object_id=rid, before=k.remote_attributes(r)))
    return [(getattr(k, "key", k), r) for k, r in unmanaged]


# ---------------------------------------------------------------- apply


@dataclass
class ObjectReport:
    outcomes: list[tuple[Change, bool, str]] = field(default_factory=list)
    created: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, declared name) -> new id

    @property
    def ok(self) -> bool:
        return all(ok for _c, ok, _d in self.outcomes)


def apply_objects(plan: ObjectPlan, kinds: Sequence[Any], client, *,
                  known_ids: Mapping[str, Collection[str]]) -> ObjectReport:
    """Carry out ``plan``: one stage per kind (creates/updates in create order, deletes reversed). A failed
    stage stops the later ones. ``known_ids``: kind key -> the ids the plan saw (the re-check's baseline)."""
    by_key = {k.key: k for k in kinds}
    report = ObjectReport()
    for stage in graph.stages(plan.changes, kinds, lambda c: c.action is Action.DELETE):
        k = by_key[stage[0].kind]
        known = frozenset(known_ids.get(k.key, ()))
        todo = _recheck(k, stage, client, known, report)
        for c in todo:
            _run(k, c, client, known, report)
        _keep_oldest(k, todo, client, known, report)
        if not report.ok:
            break
    return report


def _recheck(k, stage: Sequence[Change], client, known: frozenset[str], report: ObjectReport) -> list[Change]:
    """Before creating: list again; a name that appeared since the plan is not created (never a duplicate)."""
    creates = [c for c in stage if c.action is Action.CREATE]
    if not creates:
        return list(stage)
    try:
        now = {k.remote_name(r) for r in k.list(client) if k.managed(r) and k.remote_id(r) not in known}
    except ReconcilerError as e:
        for c in creates:
            report.outcomes.append((c, False, f"not created: the re-check before creating failed: {e}"))
        return [c for c in stage if c.action is not Action.CREATE]
    todo = []
    for c in stage:
        if c.action is Action.CREATE and c.name in now:
            report.outcomes.append((c, False, f"not created: a {k.noun} named {c.name!r} appeared since the plan; "
                                              "run plan again"))
        else:
            todo.append(c)
    return todo


def _run(k, c: Change, client, known: frozenset[str], report: ObjectReport) -> None:
    try:
        if c.action is Action.CREATE:
            body = bind(k, k.document(c.desired), c.refs, report.created)
            new_id = k.create(client, body, known_ids=known)
            report.created[(k.key, c.name)] = new_id
            report.outcomes.append((c, True, f"created {new_id}"))
        elif c.action is Action.UPDATE:
            k.update(client, c.object_id, _bound_changes(k, c, report.created))
            report.outcomes.append((c, True, f"updated {c.object_id}"))
        elif c.action is Action.DELETE:
            _delete(k, c, client, report)
        elif c.action is Action.REPLACE and bluegreen.blue_green(k):
            _replace_blue_green(k, c, client, known, report)
        elif c.action is Action.REPLACE:
            _replace(k, c, client, known, report)
        else:
            report.outcomes.append((c, False, f"{c.action.value} of {k.key} is not supported by the generic engine"))
    except ReconcilerError as e:
        report.outcomes.append((c, False, str(e)))


def _replace(k, c: Change, client, known: frozenset[str], report: ObjectReport) -> None:
    """A replace that is not blue/green: a new object and the old one deleted (its identity re-read first).
    Delete first for a kind whose names are unique (``replace_deletes_first``: a successor could not coexist),
    create first otherwise (the old one serves until the new one exists)."""

    def create() -> str:
        body = bind(k, k.document(c.desired), c.refs, report.created)
        new_id = k.create(client, body, known_ids=known | {c.object_id})
        report.created[(k.key, c.name)] = new_id
        return new_id

    def delete_old() -> str | None:
        try:
            now = k.get(client, c.object_id)
        except NotFoundError:
            return None
        if k.remote_name(now) != c.name:
            return f"not replaced: {c.object_id} is now named {k.remote_name(now)!r}"
        with contextlib.suppress(NotFoundError):  # gone meanwhile: as good
            k.delete(client, c.object_id)
        return None

    first = getattr(k, "replace_deletes_first", False)
    held = bluegreen.capture_referrers(k, client) if first else None  # the delete unlinks them: who cited it
    refused = delete_old() if first else None
    if refused is None:
        new_id = create()
        moved = bluegreen.repoint_referrers(k, client, c.object_id or "", new_id, snapshots=held)
        refused = None if first else delete_old()
        done = "; ".join([f"replaced {c.object_id} with {new_id}", *moved])
    report.outcomes.append((c, refused is None, refused or done))


def _replace_blue_green(k, c: Change, client, known: frozenset[str], report: ObjectReport) -> None:
    """One step of a blue/green replace (reconciler.engine.bluegreen): start the successor (it is then waited
    for, and swapped in, by the waiter's rows), or carry an in-flight one on by its phase."""
    if c.phase is None:
        new_id = bluegreen.start(k, c, bind(k, k.document(c.desired), c.refs, report.created), client, known)
        report.outcomes.append((c, True, f"created {new_id} as {c.name}~next~{c.object_id} (the old one serves "
                                         "until it is ready)"))
    elif c.phase == "failed":
        bluegreen.drop_failed(k, client, c.successor_id or "")
        report.outcomes.append((c, False, f"the successor {c.successor_id} failed; removed it, the old "
                                          f"{c.object_id} keeps serving"))
    elif c.phase in ("swap", "rename"):
        bluegreen.swap(k, None, client, c.name, c.object_id if c.phase == "swap" else None, c.successor_id or "",
                       note=lambda line: None)
        report.outcomes.append((c, True, f"swapped in {c.successor_id}"))
    else:
        report.outcomes.append((c, True, f"in flight: {c.successor_id} is still processing"))


def _bound_changes(k, c: Change, created: Mapping[tuple[str, str], str]) -> dict[str, tuple[object, object]]:
    """The update's rows, with references to objects created by this apply bound to their ids now."""
    bound = bind(k, k.document(c.desired), c.refs, created)
    out = {}
    for attr, old, new in c.diff:
        later = isinstance(new, str) and new.startswith("(known after apply")
        out[attr] = (old, _dotted(bound, attr) if later else new)
    return out


def _dotted(doc: Mapping[str, Any], dotted: str) -> Any:
    from reconciler.engine.kind import get_path

    return get_path(doc, dotted)


def _delete(k, c: Change, client, report: ObjectReport) -> None:
    """Re-read identity before deleting: an object renamed since the plan is not deleted."""
    try:
        now = k.get(client, c.object_id)
    except NotFoundError:
        report.outcomes.append((c, True, f"{c.object_id} was already gone"))
        return
    if k.remote_name(now) != c.name:
        report.outcomes.append((c, False, f"not deleted: {c.object_id} is now named {k.remote_name(now)!r}"))
        return
    with contextlib.suppress(NotFoundError):  # gone meanwhile: as good
        k.delete(client, c.object_id)
    report.outcomes.append((c, True, f"deleted {c.object_id}"))


def _keep_oldest(k, stage: Sequence[Change], client, known: frozenset[str], report: ObjectReport) -> None:
    """The concurrent-duplicate rule: of several objects named as one we just created, the oldest (created_at,
    then id) survives; we only ever delete our own and adopt theirs."""
    ours = {c.name: report.created[(k.key, c.name)] for c in stage
            if c.action is Action.CREATE and (k.key, c.name) in report.created}
    if not ours:
        return
    try:
        listed = [r for r in k.list(client) if k.remote_name(r) in ours and k.remote_id(r) not in known]
    except ReconcilerError as e:
        report.outcomes.extend((Change(Action.CREATE, n, "duplicate check", kind=k.key), False,
                                f"could not check for a concurrent duplicate: {e}") for n in ours)
        return
    for name, mine in ours.items():
        same = [r for r in listed if k.remote_name(r) == name]
        if len(same) < 2:
            continue
        first = min(same, key=lambda r: (getattr(r, "created_at", "") or "", k.remote_id(r)))
        if k.remote_id(first) == mine:
            continue
        undo = Change(Action.DELETE, name, "duplicate of a concurrent apply's create", kind=k.key, object_id=mine)
        k.delete(client, mine)
        report.created[(k.key, name)] = k.remote_id(first)
        report.outcomes.append((undo, True, f"another apply created {k.remote_id(first)} first; removed our "
                                            f"duplicate {mine}"))


# ---------------------------------------------------------------- wait


def wait_objects(kinds: Sequence[Any], client, created: Mapping[tuple[str, str], str], *, timeout: float,
                 interval: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> dict[tuple[str, str], Phase]:
    """Poll every created object of an asynchronous kind until ready or failed, or ``timeout`` passes.
    Returns (kind, name) -> the last phase seen (PENDING for what the deadline cut off)."""
    by_key = {k.key: k for k in kinds}
    pending = {key: i for key, i in created.items() if has(by_key.get(key[0]), WithReadiness)}
    phases: dict[tuple[str, str], Phase] = {key: Phase.PENDING for key in pending}
    deadline = clock() + timeout
    while pending:
        for key, object_id in list(pending.items()):
            k = by_key[key[0]]
            phases[key] = k.phase(k.get(client, object_id))
            if not phases[key].training:
                del pending[key]
        if not pending or clock() >= deadline:
            break
        sleep(min(interval, max(0.0, deadline - clock())))
    return phases
