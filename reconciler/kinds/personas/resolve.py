"""The personas' resolver: each declared persona -> the remote persona(s) that are it. Pure (no I/O, clock, env).

Identity is the declared name inside the file's scope, or the pinned ``persona_id``; stock (``system``) personas
are never in scope. ``plan``, ``export``, ``output`` and the inventory all ask it here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from reconciler.engine.models import Config


def match_personas(config: Config, remote: Sequence) -> dict[str, tuple]:
    """Declared persona name -> the remote personas that are it: the pinned one (persona_id), else the in-scope
    user personas of that name no entry pins. Stock (``system``) personas are never in scope."""
    pinned = {p.persona_id for p in config.personas if p.persona_id}
    by_id = {p.persona_id: p for p in remote}
    by_name: dict[str, list] = defaultdict(list)
    for p in by_id.values():
        if p.persona_type != "system" and p.persona_id not in pinned and config.settings.in_scope(p.name or ""):
            by_name[p.name or ""].append(p)
    return {d.name: ((by_id[d.persona_id],) if d.persona_id in by_id else ()) if d.persona_id
            else tuple(by_name.get(d.name, ())) for d in config.personas}


def undeclared_personas(config: Config, remote: Sequence, matched: Mapping[str, tuple]) -> tuple[list, list]:
    """In-scope user personas no entry claims, sorted by name: (unmanaged, released by ``removed:``)."""
    claimed = {p.persona_id for ps in matched.values() for p in ps} | {
        d.persona_id for d in config.personas if d.persona_id}
    removed_names, removed_ids = frozenset(config.removed_names), frozenset(config.removed_ids)
    unmanaged, released = [], []
    for p in sorted(remote, key=lambda p: (p.name or "", p.persona_id)):
        if p.persona_id in claimed or p.persona_type == "system" or not config.settings.in_scope(p.name or ""):
            continue
        (released if (p.name or "") in removed_names or p.persona_id in removed_ids else unmanaged).append(p)
    return unmanaged, released


def persona_outputs(config: Config, remote: Sequence) -> tuple[dict[str, str], list[str]]:
    """Declared persona name -> persona_id; notes on the absent or ambiguous ones."""
    found: dict[str, str] = {}
    notes: list[str] = []
    for name, ps in match_personas(config, remote).items():
        if len(ps) == 1:
            found[name] = ps[0].persona_id
        elif ps:
            notes.append(f"{name}: ambiguous ({', '.join(p.persona_id for p in ps)} share the name)")
        else:
            notes.append(f"{name}: persona not created yet")
    return found, notes
