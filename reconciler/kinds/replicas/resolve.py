"""The replicas' resolver: each declared replica -> the remote replica(s) that are it. Pure (no I/O, clock, env).

Every command asks the same question, "which replica on the account is the one the file calls NAME?":
the planner (what to change), ``status`` (what to show), ``output`` (which id to print) and ``wait``
(which id to poll). They all ask it here, so the answer cannot drift between them.

Identity is the declared name inside the file's scope (``settings.scope.name_prefix``), or the pinned
``replica_id``. Stock (``system``) replicas are never in scope, except pinned as read-only references. A
blue/green replace in flight shows as a user replica with a marked name (``reconciler.engine.successor``): it is
the declared entry's *successor*, not a second match.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

from reconciler.engine.models import Config
from reconciler.engine.status import Phase
from reconciler.engine.successor import parse_successor
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica


class Found(enum.Enum):
    ONE = "one"  # exactly one remote object is the declared entry
    ABSENT = "absent"  # none (not created yet, or a pinned id that does not exist)
    AMBIGUOUS = "ambiguous"  # several: the planner refuses, status shows them all, output and wait name them


@dataclass(frozen=True)
class Resolution:
    """What the account holds for one declared entry."""

    declared: DesiredReplica
    matches: tuple[RemoteReplica, ...] = ()  # the remote objects holding the entry's identity
    successors: tuple[RemoteReplica, ...] = ()  # marked successors of a replace in flight (normally 0 or 1)

    @property
    def name(self) -> str:
        return self.declared.name

    @property
    def found(self) -> Found:
        return Found.ONE if len(self.matches) == 1 else Found.AMBIGUOUS if self.matches else Found.ABSENT

    @property
    def remote(self) -> RemoteReplica | None:
        """The one remote object, or None when absent or ambiguous."""
        return self.matches[0] if len(self.matches) == 1 else None

    @property
    def ids(self) -> str:
        return ", ".join(r.replica_id for r in self.matches)

    @property
    def serving(self) -> RemoteReplica | None:
        """The replica that *is* the declared entry for a reference (a persona's ``default_replica``): the one
        match, or, when a replace is in its ``rename`` phase (the old replica deleted, a run killed or a rename
        refused before the successor took the name), that one trained successor. None otherwise."""
        if self.matches:
            return self.remote
        if len(self.successors) == 1 and self.successors[0].phase is not Phase.FAILED:
            return self.successors[0]
        return None


def is_user(r: RemoteReplica) -> bool:
    return r.replica_type != "system"


def match_declared(config: Config, remote: Sequence[RemoteReplica]) -> dict[str, tuple[RemoteReplica, ...]]:
    """For each declared name, the remote replicas that are it: the pinned one (if it exists; a pinned stock
    replica is a read-only reference), else the in-scope user replicas with that name that no entry pins.
    More than one match is ambiguous; the planner refuses it.

    Only the declared names and pins are indexed (a 100,000-replica account declaring 2,000 builds 2,000
    small entries, not two 100,000-entry tables: issue 29). A remote id listed twice counts once, its last
    copy in its first place, as an index by id would keep it."""
    pinned = {d.replica_id for d in config.replicas if d.replica_id}
    wanted = {d.name for d in config.replicas if not d.replica_id}
    by_id: dict[str, RemoteReplica] = {}
    by_name: dict[str, dict[str, RemoteReplica]] = defaultdict(dict)
    in_scope = config.settings.in_scope
    for r in remote:
        rid = r.replica_id
        if rid in pinned:
            by_id[rid] = r
        elif r.name in wanted and is_user(r) and in_scope(r.name):
            by_name[r.name][rid] = r
    return {
        d.name: ((by_id[d.replica_id],) if d.replica_id in by_id else ()) if d.replica_id
        else tuple(by_name[d.name].values()) if d.name in by_name else ()
        for d in config.replicas
    }


def successors(config: Config, remote: Sequence[RemoteReplica]) -> dict[str, tuple[RemoteReplica, ...]]:
    """Declared name -> the in-scope user replicas marked as its successor (``name~next~old_id``)."""
    pinned = {d.replica_id for d in config.replicas if d.replica_id}
    declared = {d.name for d in config.replicas}
    found: dict[str, list[RemoteReplica]] = defaultdict(list)
    for r in remote:
        parsed = parse_successor(r.name) if is_user(r) else None
        if parsed and parsed[0] in declared and r.replica_id not in pinned and config.settings.in_scope(r.name):
            found[parsed[0]].append(r)
    return {name: tuple(rs) for name, rs in found.items()}


def resolve(config: Config, remote: Sequence[RemoteReplica]) -> dict[str, Resolution]:
    """Declared name -> its Resolution, in file order."""
    matched = match_declared(config, remote)
    marked = successors(config, remote)
    return {d.name: Resolution(d, matched[d.name], marked.get(d.name, ())) for d in config.replicas}


def claimed_ids(config: Config, resolutions: Mapping[str, Resolution]) -> set[str]:
    """Remote ids accounted for by a declared entry (its matches, its successors, its pin)."""
    ids = {d.replica_id for d in config.replicas if d.replica_id}
    for res in resolutions.values():
        ids.update(r.replica_id for r in (*res.matches, *res.successors))
    return ids


_ID, _NAME = attrgetter("replica_id"), attrgetter("name")


def undeclared(config: Config, remote: Sequence[RemoteReplica],
               resolutions: Mapping[str, Resolution]) -> tuple[list[RemoteReplica], list[RemoteReplica]]:
    """The in-scope user replicas no entry claims, sorted by name: (unmanaged, released by ``removed:``)."""
    claimed = claimed_ids(config, resolutions)
    removed_names, removed_ids = frozenset(config.removed_names), frozenset(config.removed_ids)
    unmanaged: list[RemoteReplica] = []
    released: list[RemoteReplica] = []
    seen: set[str] = set()
    in_scope = config.settings.in_scope
    # filtered first, then sorted by (name, id) with two stable sorts: no 100,000 key tuples (issue 29)
    candidates = [r for r in remote if r.replica_id not in claimed and is_user(r) and in_scope(r.name)]
    candidates.sort(key=_ID)
    candidates.sort(key=_NAME)
    for r in candidates:
        if r.replica_id in seen:
            continue
        seen.add(r.replica_id)
        (released if r.name in removed_names or r.replica_id in removed_ids else unmanaged).append(r)
    return unmanaged, released


# ----------------------------------------------------------------------------------------- status


ABSENT = "absent"


def _row(r: RemoteReplica | None, *, name: str, model_name: str | None, managed: bool) -> dict:
    from reconciler.api.redact import redact_text

    if r is None:
        return {"name": name, "replica_id": None, "status": ABSENT, "phase": ABSENT, "progress": None,
                "model_name": model_name, "managed": managed, "error_message": None}
    phase = r.phase
    progress = 100.0 if phase is Phase.READY else r.progress_percent
    row = {"name": r.name if not managed else name, "replica_id": r.replica_id, "status": r.status,
           "phase": phase.value, "progress": progress, "model_name": r.model_name or model_name,
           "managed": managed, "error_message": redact_text(r.failure or r.error_message)}
    if r.finetunes:  # phoenix-4.5 and later (issue 25)
        row["finetune_status"] = r.finetune_status
    return row


def status_rows(config: Config, remote: Sequence[RemoteReplica]) -> list[dict]:
    """One row per declared replica (file order; one per match when a name is ambiguous; a replace in flight
    shows its successor under its own marked name), then the unmanaged in-scope user replicas sorted by name.
    Declared rows carry the declared name (a pinned replica awaiting a rename shows under the file's name)."""
    resolutions = resolve(config, remote)
    rows: list[dict] = []
    for res in resolutions.values():
        d = res.declared
        if not res.matches and not res.successors:
            rows.append(_row(None, name=d.name, model_name=d.model_name, managed=True))
        rows += [_row(r, name=d.name, model_name=d.model_name, managed=True) for r in res.matches]
        rows += [_row(r, name=r.name, model_name=d.model_name, managed=True) for r in res.successors]
    unmanaged, _released = undeclared(config, remote, resolutions)  # released (removed:): not shown
    rows += [_row(r, name=r.name, model_name=None, managed=False) for r in unmanaged]
    return rows


# ----------------------------------------------------------------------------------------- output


def ready_outputs(config: Config, remote: Sequence[RemoteReplica]) -> tuple[dict[str, str], list[str]]:
    """Declared name -> replica_id for every declared replica that is ready; notes on the others."""
    from reconciler.api.redact import redact_text  # the server's message may quote a presigned URL

    ready: dict[str, str] = {}
    notes: list[str] = []
    for name, res in resolve(config, remote).items():
        r = res.remote
        if res.found is Found.AMBIGUOUS:
            notes.append(f"{name}: ambiguous ({res.ids} share the name)")
        elif r is None:
            notes.append(f"{name}: not created yet")
        elif r.phase is Phase.READY:
            ready[name] = r.replica_id
        elif r.phase is Phase.FAILED:
            notes.append(f"{name}: training failed ({r.replica_id}: {redact_text(r.failure) or 'no message'})")
        elif r.phase is Phase.PREVIEW:
            pct = r.progress_percent
            notes.append(f"{name}: not ready (a watermarked preview: the fine-tune is still running"
                         f"{f', {pct:.0f}%' if pct is not None else ''})")
        else:
            pct = r.progress_percent
            notes.append(f"{name}: not ready ({r.status}{f' {pct:.0f}%' if pct is not None else ''})")
    return ready, notes
