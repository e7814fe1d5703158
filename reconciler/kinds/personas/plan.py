"""The planner's persona part (issue 17): pure, asked by ``engine.planner.compute_plan`` through the kind's
``WithPlanner`` hooks (issue 26), after the replicas and the generic kinds it references.

Per declared persona (in file order): absent -> create; one match -> update in place when the declared,
comparable attributes differ (one JSON Patch), else nothing; several -> an error (pin one with persona_id).
``default_replica`` (a replica declared in the file) resolves to that replica's id; when the replica is created
by this same apply its id is known only after it exists, so the persona's create/update names it in
a ``wiring.replica_ref`` and runs after the replicas. A referenced replica that is absent and not being created is a
plan error. Undeclared in-scope user personas are unmanaged, deleted with prune, or released by ``removed:``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from reconciler.engine.models import Action, Change, Config
from reconciler.kinds.personas import wiring
from reconciler.kinds.personas.kind import PERSONAS, _patched
from reconciler.kinds.personas.resolve import match_personas, undeclared_personas
from reconciler.kinds.replicas.resolve import resolve


def check_resend(draft) -> None:
    """``--resend`` names no generic kind declares (``draft.resend``): without personas in the file, an error."""
    config, rest = draft.config, draft.resend
    if rest and not config.personas and not draft.generic_names:
        draft.errors.append(f"--resend: {config.path} declares no personas")
    elif rest and not config.personas:
        draft.errors += [f"--resend {n}: nothing of that name is declared in {config.path}" for n in sorted(rest)]


def holds(draft) -> dict[str, str]:
    """Every id a persona holds (see :func:`_held_by_personas`): the listed personas, or, when the file declares
    none, the ones listed with the generic kinds for what they hold."""
    listed = draft.listings.get("personas")
    return _held_by_personas(draft.config, listed if listed is not None else draft.objects.get("personas"))


def plan_after(draft) -> None:
    """Once the replicas and the generic kinds are planned: the declared personas (managed once the file declares
    one, or they were listed), the pruned replicas a persona still uses kept, the deletes last, and the generic
    kinds' deletes of what a persona still cites dropped (:func:`keep_cited`)."""
    config, listed = draft.config, draft.listings.get("personas")
    if listed is None and not config.personas:
        return
    personas = listed or ()
    replicas = draft.listings.get("replicas", ())
    by_id = {r.replica_id: r for r in replicas}
    persona_changes, unmanaged, forgotten, uncompared = plan_personas(
        config, replicas, personas, draft.changes, wanted=draft.wanted, prune=draft.prune, errors=draft.errors,
        missing=draft.missing, resend=draft.resend, warnings=draft.warnings, discard_drafts=draft.discard_drafts,
        objects=draft.generic)
    deletes = [c for c in draft.changes if c.action is Action.DELETE]
    kept = _referenced(config, personas, persona_changes, deletes, by_id, draft.warnings)
    draft.fields.setdefault("unmanaged", []).extend(by_id[c.object_id] for c in kept if c.object_id in by_id)
    deletes = [c for c in deletes if c not in kept]
    draft.changes[:] = [c for c in draft.changes if c.action is not Action.DELETE] + persona_changes + deletes
    draft.fields.update(unmanaged_personas=unmanaged, forgotten_personas=forgotten)
    draft.uncompared += uncompared
    if draft.generic is not None:
        draft.generic = keep_cited(draft.generic, config, personas, draft.changes, draft.warnings, draft.objects)


def plan_personas(config: Config, replicas: Sequence, personas: Sequence, replica_changes: Sequence[Change], *,
                  wanted: Callable[[str], bool], prune: bool, errors: list[str], missing: set[str],
                  resend: Collection[str] = (), warnings: list[str] | None = None,
                  discard_drafts: Collection[str] = (), objects=None):
    """-> (changes, unmanaged personas, forgotten personas, uncompared rows). ``resend``: declared persona names
    whose attributes that cannot be compared are sent anyway (``--resend``), as part of their one PATCH.
    ``discard_drafts``: declared persona names whose update overwrites an unpublished editor draft (issue 25).
    ``objects``: the generic engine's plan of the other kinds (``reconciler.engine.objects.ObjectPlan``: ``ids``
    and ``creating``), for the references a persona makes to them."""
    resend = frozenset(resend)
    discard = frozenset(discard_drafts) | frozenset(config.settings.discard_editor_drafts)
    _unknown_names(config, resend, discard, errors)
    changes: list[Change] = []
    uncompared: list[tuple[str, tuple[str, ...]]] = []
    replica_res = resolve(config, replicas)
    creating = {c.name for c in replica_changes if c.action is Action.CREATE}
    matched = match_personas(config, personas)
    for d in config.personas:
        if not wanted(d.name):
            continue
        bound = _default_replica(d, replica_res, creating, errors)
        wired = _references(d, objects, errors)  # issue 27: documents, guardrails, objectives...
        if bound is None or wired is None:
            continue
        replica_id, ref = bound
        ids, refs = wired
        remote = _one_match(d, matched.get(d.name, ()), errors)
        if remote is None:
            if not matched.get(d.name) and not d.persona_id:
                changes.append(Change(Action.CREATE, d.name, "not found remotely", kind="personas", desired=d,
                                      after=PERSONAS.desired_attributes(d, replica_id, ids),
                                      refs=_with_replica(refs, ref)))
                missing.update(d.missing_vars)
            continue
        if remote.persona_type == "system":  # a pinned Tavus stock persona: a read-only reference, as stock replicas
            _check_stock(d, remote, replica_id, ref, errors, ids)
            continue
        change = _update(d, remote, (replica_id, ids, refs), ref, resend, discard, warnings, uncompared)
        if change is not None:
            changes.append(change)
            missing.update(d.missing_vars)
    unmanaged, released = undeclared_personas(config, personas, matched)
    unmanaged = [p for p in unmanaged if wanted(p.name or "")]
    forgotten = [p for p in released if wanted(p.name or "")]
    if prune:
        changes += [Change(Action.DELETE, p.name or "", f"persona not declared in {config.path}; prune is on",
                           kind="personas", object_id=p.persona_id, before=PERSONAS.remote_attributes(p))
                    for p in unmanaged]
        unmanaged = []
    return changes, unmanaged, forgotten, uncompared


def _with_replica(refs: tuple, ref: str | None) -> tuple:
    """``refs`` and, when the persona's default replica is created by this same apply, its ref."""
    return (*refs, wiring.replica_ref(ref)) if ref else refs


def _unknown_names(config: Config, resend: frozenset[str], discard: frozenset[str], errors: list[str]) -> None:
    declared = {d.name for d in config.personas}
    for name in sorted(resend - declared):
        errors.append(f"--resend {name}: no persona of that name is declared in {config.path}")
    for name in sorted(discard - declared):
        errors.append(f"--discard-editor-drafts {name}: no persona of that name is declared in {config.path}")


def _default_replica(d, replica_res, creating, errors: list[str]) -> tuple[str | None, str | None] | None:
    """(default_replica_id, the replica created by this apply it names) or None after an error."""
    replica_id, ref = d.default_replica_id, None
    if not d.default_replica:
        return replica_id, ref
    res = replica_res.get(d.default_replica)
    if d.default_replica in creating:
        return replica_id, d.default_replica
    if res is not None and res.serving is not None:  # a replace in its rename phase: the successor
        return res.serving.replica_id, ref
    if res is not None and res.matches:
        errors.append(f"persona {d.name}: default_replica {d.default_replica!r} is ambiguous ({res.ids})")
    else:
        errors.append(f"persona {d.name}: default_replica {d.default_replica!r} does not exist and is not "
                      "created by this plan (add it to --target, or apply the replica first)")
    return None


def _references(d, objects, errors: list[str]):
    """(ids, refs) of what ``d`` cites by name (issue 27, ``wiring.resolve_names``: through the generic plan's
    ``ids`` and ``creating``), or None after an error."""
    before = len(errors)
    ids = wiring.resolve_names(d.name, d.cited, dict(getattr(objects, "ids", {}) or {}),
                               frozenset(getattr(objects, "creating", ()) or ()), errors)
    if len(errors) > before:
        return None
    return ids, tuple((wiring.wire(kind).name_key, kind, name, oid) for (kind, name), oid in ids.items())


def _one_match(d, found, errors: list[str]):
    """The one remote persona of ``d``, or None (absent: a create unless pinned; or an error)."""
    if d.persona_id and not found:
        errors.append(f"pinned persona {d.persona_id} not found (declared as {d.name!r}): it will not be "
                      "created; remove persona_id to create a new one")
        return None
    if len(found) > 1:
        ids = ", ".join(sorted(p.persona_id for p in found))
        errors.append(f"{len(found)} remote personas are named {d.name!r} ({ids}): pin the one to keep with "
                      "persona_id, or delete the others")
        return None
    return found[0] if found else None


def _check_stock(d, remote, replica_id, ref, errors: list[str], ids=None) -> None:
    ops, _rows, _skipped = PERSONAS.in_place_changes(d, remote, replica_id, ids)
    if ops or ref is not None or (d.persona_id and remote.name != d.name):
        errors.append(f"persona {d.name} pins the Tavus stock persona {remote.persona_id}: stock personas "
                      "are read-only, so it is never updated; remove the attributes that differ from it, "
                      "or remove persona_id to manage a persona of your own")


def _update(d, remote, bound, ref, resend, discard, warnings, uncompared) -> Change | None:
    """The in-place update of ``remote`` to ``d`` (one JSON Patch: its references too), or None when nothing
    differs. ``bound``: (default_replica_id, the cited objects' ids, their refs)."""
    replica_id, ids, refs = bound
    ops, rows, skipped = PERSONAS.in_place_changes(d, remote, replica_id, ids)
    reason, resent = "declared attributes differ", ()
    if skipped and d.name in resend:  # sent as declared, without comparing: the user asked for it
        more, more_rows, resent = PERSONAS.resend_changes(d, remote, replica_id, ops, ids)
        reason = (f"{reason}; " if ops else "") + "--resend: attributes the API does not return are sent"
        ops, rows, skipped = [*ops, *more], [*rows, *more_rows], []
    elif d.name in resend and warnings is not None:
        warnings.append(f"--resend {d.name}: every declared attribute was compared; nothing more to send")
    if skipped:
        uncompared.append((d.name, tuple(skipped)))
    if ref is not None:  # the replica is created first; its id replaces whatever is there now
        rows.append(("default_replica_id", remote.default_replica_id, f"(known after apply: {ref})"))
    if d.persona_id and remote.name != d.name:
        ops.append({"op": "replace", "path": "/persona_name", "value": d.name})
        rows.insert(0, ("persona_name", remote.name, d.name))
    if not ops and ref is None:
        return None
    return Change(Action.UPDATE, d.name, reason, kind="personas", object_id=remote.persona_id, desired=d,
                  patch=tuple(ops), diff=tuple(rows), uncomparable=tuple(skipped),
                  resent=tuple(resent), discard_drafts=d.name in discard, refs=_with_replica(refs, ref))


def keep_cited(generic, config: Config, personas: Sequence, persona_changes: Sequence[Change], warnings: list[str],
               objects: Mapping[str, Sequence] | None = None):
    """The generic kinds' plan without the deletes of objects a persona still cites once this plan has run (its
    remote document, or the document its update leaves): never a delete of what a persona references; those
    objects stay unmanaged, with a warning. Personas this plan deletes cite nothing."""
    from dataclasses import replace

    updates = {c.object_id: c for c in persona_changes if c.kind == "personas" and c.action is Action.UPDATE}
    gone = {c.object_id for c in persona_changes if c.kind == "personas" and c.action is Action.DELETE}
    docs = [_patched(p.document, updates[p.persona_id].patch) if p.persona_id in updates else p.document
            for p in personas if p.persona_id not in gone]
    docs += [dict(c.after or {}) for c in persona_changes if c.kind == "personas" and c.action is Action.CREATE]
    cited = wiring.cited_by(docs)
    kept, unmanaged = [], list(generic.unmanaged)
    for c in generic.changes:
        if c.action is Action.DELETE and c.object_id in cited.get(c.kind, ()):
            warnings.append(f"{c.name} ({c.object_id}) is not declared, but a persona references it: kept, not "
                            "pruned (remove it from the persona first)")
            from reconciler.kinds import kind

            k = kind(c.kind)
            unmanaged += [(c.kind, r) for r in (objects or {}).get(c.kind, ()) if k.remote_id(r) == c.object_id]
            continue
        kept.append(c)
    return replace(generic, changes=tuple(kept), unmanaged=tuple(unmanaged))


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


def _referenced(config: Config, personas: Sequence, persona_changes: Sequence[Change], deletes: Sequence[Change],
                by_id, warnings: list[str]) -> list[Change]:
    """The pruned replicas a persona still references by ``default_replica_id`` (a declared persona's explicit
    id, or any user persona this plan does not delete): never deleted (issue 24 #8); the plan says why."""
    gone = {c.object_id for c in persona_changes if c.action is Action.DELETE}
    users: dict[str, str] = {}
    for p in personas:
        if p.persona_type != "system" and p.persona_id not in gone and p.default_replica_id:
            users.setdefault(p.default_replica_id, f"persona {p.name or p.persona_id} ({p.persona_id})")
    for d in config.personas:
        if d.default_replica_id:
            users.setdefault(d.default_replica_id, f"declared persona {d.name}")
    kept = [c for c in deletes if not c.successor_id and c.object_id in users]
    for c in kept:
        warnings.append(f"{c.name} ({c.object_id}) is not declared, but {users[c.object_id]} uses it as its "
                        "default_replica_id: kept, not pruned (re-point the persona first)")
    return kept
