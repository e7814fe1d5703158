"""Carrying out the personas' changes (issue 26: the kind-specific path, asked by ``engine.executor`` through
the kind's ``WithExecutor`` hooks), after the replicas and the generic kinds they reference.

Creates and updates (re-checked against a fresh listing first: a persona a concurrent apply made is adopted,
never created twice; then the concurrent-duplicate rule, ``engine.executor.keep_oldest``); deletes last. An
update refused because of an unpublished editor draft is held: the run goes on with its other changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.engine.executor import Survivors, keep_oldest
from reconciler.engine.models import Action, Change
from reconciler.engine.outcome import Outcome
from reconciler.errors import EditorDraftError, ReconcilerError
from reconciler.kinds.personas import wiring
from reconciler.kinds.personas.kind import PERSONAS


def work(changes: Sequence[Change], successors: bool) -> tuple[list[Change], list[Change], list[Change]]:
    """(nothing first; the creates and updates; last: the deletes)."""
    return ([], [c for c in changes if c.action is not Action.DELETE],
            [c for c in changes if c.action is Action.DELETE])


def step(run, change: Change) -> tuple[str, str | None]:
    return run_persona(change, run.client, run.known(PERSONAS), run.report.created, run.report.created_objects)


def failure(change: Change, error: ReconcilerError) -> Outcome | None:
    """A persona's unpublished editor draft: say how to go on; the rest of the run goes on (unless the update
    re-points the persona's default replica)."""
    if not isinstance(error, EditorDraftError):
        return None
    repoints = (any(op.get("path") == "/default_replica_id" for op in change.patch)
                or bool(wiring.created_replica(change)))
    return Outcome(change, False, editor_draft_line(change.name), held=not repoints)


def run_persona(change: Change, client, known: frozenset[str], created: Mapping[str, str],
                objects: Mapping[tuple[str, str], str] | None = None) -> tuple[str, str | None]:
    """One persona change: create (never a duplicate: the client settles a lost answer against the account),
    update (one PATCH; 304 is success) or delete. ``created``: name -> id of the replicas this run created (a
    persona's default replica made by the same apply, ``wiring.created_replica``);
    ``objects``: (kind, name) -> id of what the generic kinds' stage created (a persona's documents...)."""
    replica_id, ref = None, wiring.created_replica(change)
    if ref:
        replica_id = created.get(ref)
        if replica_id is None:
            raise ReconcilerError(f"its default_replica {ref} was not created; not run")
    elif change.desired is not None:
        replica_id = _planned_replica_id(change)
    ids = {(kind, name): oid or (objects or {}).get((kind, name))
           for _f, kind, name, oid in wiring.wired_refs(change)}
    unmade = sorted(f"{kind} {name}" for (kind, name), oid in ids.items() if not oid)
    if unmade:
        raise ReconcilerError(f"its {', '.join(unmade)} was not created; not run")
    if change.action is Action.CREATE:
        new_id = PERSONAS.create(client, change.desired, replica_id=replica_id, known_ids=known, ids=ids)
        return f"created persona {new_id}", new_id
    if change.action is Action.UPDATE:
        ops = [wiring.bind_created(dict(op), objects or {}) for op in change.patch
               if not (ref and op["path"] == "/default_replica_id")]
        if ref:
            ops.append({"op": "add", "path": "/default_replica_id", "value": replica_id})
        discarded: list[str] = []
        changed = PERSONAS.update(client, change.object_id, ops, force=change.discard_drafts, discarded=discarded)
        note = ("; discarded the unpublished changes left in the Tavus editor (discarded_maker_changes)"
                if discarded else "")
        return (f"updated persona {change.object_id}" if changed else
                f"persona {change.object_id} already up to date") + note, None
    if PERSONAS.delete(client, change.object_id):
        return f"deleted persona {change.object_id}", None
    return f"persona {change.object_id} was already gone", None


def editor_draft_line(name: str) -> str:
    """The one line for a persona update refused because of an unpublished editor draft (409 maker_changes)."""
    return (f"{name} has unpublished changes in the Tavus editor; re-run with --discard-editor-drafts {name} to "
            "overwrite them, or publish them and update the file")


def recheck(run, changes: list[Change]) -> list[Change]:
    """List the personas once more right before creating: one that appeared since the plan under a name about
    to be created was made by a concurrent apply; it is adopted, never created twice (the next plan updates
    it if it differs)."""
    creates = {c.name for c in changes if c.action is Action.CREATE}
    if not creates:
        return changes
    known, record = run.known(PERSONAS), run.record
    try:
        appeared = {p.name: p for p in run.client.list_personas() if p.persona_id not in known and p.name in creates}
    except ReconcilerError as e:
        for c in changes:
            if c.action is Action.CREATE:
                record(Outcome(c, False, f"could not re-check the personas before creating: {e}"))
        return [c for c in changes if c.action is not Action.CREATE]
    for c in changes:
        if c.action is Action.CREATE and c.name in appeared:
            record(Outcome(c, True, f"another apply created persona {appeared[c.name].persona_id} since the plan "
                                    "was made; not creating a duplicate"))
    return [c for c in changes if not (c.action is Action.CREATE and c.name in appeared)]


def _planned_replica_id(change: Change) -> str | None:
    """The default_replica_id the plan resolved (explicit, or the declared replica's id when the plan ran)."""
    if change.desired.default_replica_id:
        return change.desired.default_replica_id
    for op in change.patch:
        if op.get("path") == "/default_replica_id":
            return op.get("value")
    after = change.after or {}
    value = after.get("default_replica_id")
    return value if isinstance(value, str) and not value.startswith("(") else None


def settle(run, outcomes: list[Outcome]) -> None:
    """:func:`~reconciler.engine.executor.keep_oldest` (stock personas never count)."""
    client = run.client
    kind = Survivors("persona ", lambda: client.list_personas(), lambda pid: client.get_persona(pid),
                     lambda pid: client.delete_persona(pid), lambda p: p.persona_id,
                     lambda name, pid: Change(Action.DELETE, name, "duplicate of a concurrent apply's create",
                                              kind="personas", object_id=pid),
                     eligible=lambda p: p.persona_type != "system")
    ours = {o.change.name: o for o in outcomes if o.ok and o.new_id and o.change.kind == "personas"
            and o.change.action is Action.CREATE and o.detail.startswith("created persona")}
    keep_oldest(kind, ours, run.known(PERSONAS), run.record)
