"""``status`` and ``output``: what the account holds for the file, as rows (text/JSON) or as a name -> id map."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.engine.models import Config
from reconciler.exitcodes import OK
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.workflows.common import Console, Outcome, PlanOptions, make_plan
from reconciler.workflows.inventory import all_inventories


def status(config: Config, client, console: Console, *, fmt: str = "text") -> Outcome:
    from reconciler.engine.planner import generic_kinds
    from reconciler.kinds.replicas.resolve import status_rows
    from reconciler.views import render
    from reconciler.workflows import objects_io

    remote, personas, objects = all_inventories(client, config)
    rows = status_rows(config, remote)
    prows = persona_status_rows(config, personas) if personas is not None else []
    rollout = rollout_status(config, remote, personas, rows)
    orows = objects_io.status_rows(config, generic_kinds(), objects)
    if fmt == "json":
        console.out(render.status_json(rows, prows, orows), nl=False)
    else:
        if rows or config.manages_replicas:  # a file without a replicas: section shows no empty replica table
            console.out(render.status_text(rows, color=console.color, rollout=rollout), nl=False)
        if prows:
            from reconciler.api.redact import escape_control, redact_text

            console.out("\nPERSONAS")
            for r in prows:
                where = r["persona_id"] or "absent" if r["managed"] else f"{r['persona_id']} (unmanaged)"
                replica = f"  default_replica_id {r['default_replica_id']}" if r["default_replica_id"] else ""
                console.out(escape_control(redact_text(f"  {r['name']}  {where}{replica}") or ""))
        console.out(objects_io.status_text(orows, generic_kinds()), nl=False)
    return Outcome(OK)


def rollout_status(config: Config, remote: Sequence[RemoteReplica], personas, rows: list[dict]) -> str | None:
    """The rollout's progress (issue 19), from the pure planner on the account just listed: a ``rollout`` field
    on the rows of each replica a replace is under way or due for, and the summary line (None: no replace)."""
    from reconciler.views import rollout_view

    result = make_plan(config, remote, PlanOptions(), personas)
    if result.rollout is None:
        return None
    fields = rollout_view.status_fields(result.rollout)
    for row in rows:
        if row.get("managed") and row.get("replica_id") in fields:
            row["rollout"] = fields[row["replica_id"]]
    return rollout_view.progress(result.rollout, rollout_view.failed_successors(result.changes)).summary


def persona_status_rows(config: Config, personas) -> list[dict]:
    """Status rows of kind persona: each declared persona (one per match), then the unmanaged in scope."""
    from reconciler.kinds.personas.resolve import match_personas, undeclared_personas

    matched = match_personas(config, personas)
    rows = []
    for d in config.personas:
        found = matched.get(d.name, ())
        rows += [{"kind": "persona", "name": d.name, "persona_id": p.persona_id, "phase": "present",
                  "default_replica_id": p.default_replica_id, "managed": True} for p in found] or [
            {"kind": "persona", "name": d.name, "persona_id": None, "phase": "absent", "default_replica_id": None,
             "managed": True}]
    unmanaged, _released = undeclared_personas(config, personas, matched)
    rows += [{"kind": "persona", "name": p.name, "persona_id": p.persona_id, "phase": "present",
              "default_replica_id": p.default_replica_id, "managed": False} for p in unmanaged]
    return rows


def _object_outputs(config: Config, listed):
    """name -> (noun, id) of the generic kinds' ready objects (documents...), and notes on the others."""
    from reconciler.engine.planner import generic_kinds
    from reconciler.workflows import objects_io

    if not config.objects:
        return {}, []
    return objects_io.ready_ids(config, generic_kinds(), listed)


def output(config: Config, client, console: Console, *, fmt: str = "text", allow_partial: bool = False) -> Outcome:
    from reconciler.errors import UsageError
    from reconciler.kinds.replicas.resolve import ready_outputs
    from reconciler.workflows.export import format_outputs

    remote, personas, objects = all_inventories(client, config)
    ready, notes = ready_outputs(config, remote)
    persona_ids: dict[str, str] = {}
    if personas is not None:
        from reconciler.kinds.personas.resolve import persona_outputs

        persona_ids, persona_notes = persona_outputs(config, personas)
        notes += persona_notes
    objects, object_notes = _object_outputs(config, objects)
    notes += object_notes
    if notes and not allow_partial:
        for note in notes:
            console.err(f"error: {note}")
        raise UsageError(f"{len(notes)} declared replica(s) have no ready replica_id, so nothing was printed; "
                         "run `tavus-reconciler wait` first, or pass --allow-partial to print the ready ones")
    for note in notes:
        console.err(f"note: {note}")
    try:
        if fmt == "env":
            from reconciler.workflows.export import env_name

            text = format_outputs(ready, fmt) + "".join(
                f"{env_name(n).replace('TAVUS_REPLICA_', 'TAVUS_PERSONA_', 1)}={persona_ids[n]}\n"
                for n in sorted(persona_ids)) + "".join(
                f"{env_name(n).replace('TAVUS_REPLICA_', env_name(noun).replace('REPLICA_', '', 1) + '_', 1)}={oid}\n"
                for n, (noun, oid) in sorted(objects.items()))
        else:  # a persona shares the map; one named like a replica is listed as persona:NAME
            both = {**ready, **{(f"persona:{n}" if n in ready else n): pid for n, pid in persona_ids.items()}}
            text = format_outputs({**both, **{(f"{noun}:{n}" if n in both else n): oid
                                              for n, (noun, oid) in objects.items()}}, fmt)
        console.out(text, nl=False)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return Outcome(OK)
