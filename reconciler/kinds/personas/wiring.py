"""What a persona is wired to (issue 27): documents, guardrails, objectives, a pronunciation dictionary, tools.

Each is a separate Tavus object the persona cites by id. A file cites the objects it declares BY NAME, and the
plan resolves the ids (as ``default_replica`` -> ``default_replica_id``); an object the file does not manage is
cited by id with the API's own field. One :class:`Wire` per reference, as data:

- ``documents: [names]`` -> ``document_ids`` (kind documents);
- ``guardrails: [names]`` -> ``guardrail_ids`` (kind guardrails);
- ``objectives: name`` -> ``objectives_id`` (kind objectives);
- ``layers.tts.pronunciation_dictionary: name`` -> ``layers.tts.pronunciation_dictionary_id``
  (kind pronunciation_dictionaries);
- ``tools: [names]`` -> ``tool_ids`` (kind tools; sent on create; an update attaches and detaches them with
  their own calls, ``POST/DELETE /v2/pals/{id}/tools``, not in the persona's PATCH).

A list may mix both forms (the ids are sent after the resolved names' ids); a single reference is one form or
the other, never both. Pure: the rules report located errors through the validation context; the planner
resolves names through :func:`resolved_document`.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.engine.yamlpos import short


@dataclass(frozen=True)
class Wire:
    kind: str  # the referenced kind's key (its section of the file)
    by_name: tuple[str, ...]  # where the file writes declared names
    by_id: tuple[str, ...]  # the API's field of ids (the file may write it too, for unmanaged objects)
    many: bool
    attached: bool = False  # tools: attached with their own calls, not through the persona's PATCH

    @property
    def name_key(self) -> str:
        return ".".join(self.by_name)

    @property
    def id_key(self) -> str:
        return ".".join(self.by_id)


WIRES: tuple[Wire, ...] = (
    Wire("documents", ("documents",), ("document_ids",), True),
    Wire("guardrails", ("guardrails",), ("guardrail_ids",), True),
    Wire("objectives", ("objectives",), ("objectives_id",), False),
    Wire("pronunciation_dictionaries", ("layers", "tts", "pronunciation_dictionary"),
         ("layers", "tts", "pronunciation_dictionary_id"), False),
    Wire("tools", ("tools",), ("tool_ids",), True, attached=True),  # tool_ids on create; attach/detach after
)
NAME_KEYS = frozenset(w.by_name for w in WIRES)


def references() -> tuple[Any, ...]:
    """The engine's :class:`~reconciler.engine.kind.Reference` of every wire whose kind is registered (the
    reference graph refuses a reference to a kind the registry does not hold)."""
    from reconciler.engine.kind import Reference
    from reconciler.kinds import REGISTRY

    registered = {module.split(".")[2] for module, _attr in REGISTRY}
    return tuple(Reference(w.name_key, w.kind, w.id_key, many=w.many) for w in WIRES if w.kind in registered)


def wire(kind: str) -> Wire:
    for w in WIRES:
        if w.kind == kind:
            return w
    raise KeyError(kind)


def at(doc: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    """(present, value) of ``path`` in nested mappings."""
    for key in path:
        if not isinstance(doc, Mapping) or key not in doc:
            return False, None
        doc = doc[key]
    return True, doc


def without_names(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A persona's declared attributes without the by-name keys (never sent: the plan resolves them); a parent
    left empty by the removal (``layers.tts``, then ``layers``) is dropped, so nothing undeclared is compared."""
    out = copy.deepcopy(dict(attributes))
    for w in WIRES:
        chain = [out]
        for key in w.by_name[:-1]:
            nxt = chain[-1].get(key)
            if not isinstance(nxt, dict):
                break
            chain.append(nxt)
        else:
            if chain[-1].pop(w.by_name[-1], _MISSING) is _MISSING:
                continue
            for depth in range(len(chain) - 1, 0, -1):  # drop the parents the removal emptied
                if chain[depth]:
                    break
                del chain[depth - 1][w.by_name[depth - 1]]
    return out


_MISSING = object()


def _put(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        nxt = doc.get(key)
        if not isinstance(nxt, dict):
            nxt = doc[key] = {}
        doc = nxt
    doc[path[-1]] = value


# ------------------------------------------------------------------ validation


class WiringRules:
    """The persona side of every reference, for one persona entry. ``declared`` maps a kind's key to the names
    its section declares (``None``: the file has no such section). Returns {kind: names} of what it cites."""

    def __init__(self, sem: Any, declared: Mapping[str, Collection[str] | None]):
        self.sem, self.doc, self.diags = sem, sem.doc, sem.diags
        self.declared = declared

    def run(self, base: tuple, entry: Mapping[str, Any], label: str) -> dict[str, tuple[str, ...]]:
        cited: dict[str, tuple[str, ...]] = {}
        for w in WIRES:
            names = self._one(base, entry, label, w)
            if names:
                cited[w.kind] = names
        return cited

    def _one(self, base: tuple, entry: Mapping[str, Any], label: str, w: Wire) -> tuple[str, ...]:
        doc, diags = self.doc, self.diags
        has_name, value = at(entry, w.by_name)
        has_id, _ = at(entry, w.by_id)
        if not has_name:
            return ()
        npath = base + w.by_name
        if has_id and not w.many:
            diags.error(doc.key_at(base + w.by_id), f"{label}: declare either {w.name_key} (one of this file's "
                                                    f"{w.kind}, by name) or {w.id_key} (the id of one this file "
                                                    "does not declare), not both")
            return ()
        items = [(npath, value)] if not w.many else [(npath + (j,), v) for j, v in enumerate(value or ())] \
            if isinstance(value, list) else []
        out: list[str] = []
        for path, name in items:
            if path in doc.missing:
                self.sem._unset_identity(path, f"{label}: {w.name_key}")
                continue
            if not isinstance(name, str) or not name:
                continue  # the schema reported it
            if name in out:
                diags.warning(doc.at(path), f"{label}: {w.name_key} lists {short(name)} twice")
                continue
            if self._undeclared(path, label, w, name):
                continue
            out.append(name)
        return tuple(out)

    def _undeclared(self, path: tuple, label: str, w: Wire, name: str) -> bool:
        names = self.declared.get(w.kind)
        if names is not None and name in names:
            return False
        close = difflib.get_close_matches(name, list(names or ()), n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        else:
            hint = f"declare it under {w.kind}:, or cite an object this file does not declare by id with {w.id_key}"
        self.diags.error(self.doc.at(path), f"{label}: {w.name_key} {short(name)} is not declared under {w.kind}: "
                                            f"in this file ({hint})")
        return True


# ------------------------------------------------------------------ resolution


def resolved_document(attributes: Mapping[str, Any], cited: Mapping[str, tuple[str, ...]],
                      ids: Callable[[str, str], str | None], remote: Mapping[str, Any] | None = None,
                      ) -> tuple[dict[str, Any], dict[str, tuple[str, ...]]]:
    """The persona's API document: ``attributes`` without the by-name keys, each cited name replaced by its
    id (``ids(kind, name)``; None: created by this same apply, known after it) at the API field. A list keeps
    the remote's order when it holds the same ids (the order means nothing: no flapping). Returns (document,
    {kind: names whose ids are known only after apply}). Tools are ``tool_ids`` too: sent on create, and on
    an update turned into attach/detach calls (:func:`split_attached`)."""
    doc = without_names(attributes)
    later: dict[str, tuple[str, ...]] = {}
    for w in WIRES:
        names = cited.get(w.kind)
        if not names:
            continue
        known, pending = [], []
        for name in names:
            oid = ids(w.kind, name)
            (known if oid else pending).append(oid or name)
        if pending:
            later[w.kind] = tuple(pending)
        if not w.many:
            if known:
                _put(doc, w.by_id, known[0])
            continue
        _, extra = at(doc, w.by_id)
        value = list(dict.fromkeys([*known, *(v for v in (extra or ()) if isinstance(v, str))]))
        has_remote, theirs = at(remote or {}, w.by_id)
        if not pending and has_remote and isinstance(theirs, list) and sorted(theirs) == sorted(value):
            value = list(theirs)
        _put(doc, w.by_id, value)
    return doc, later


def cited_ids(document: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """{kind: ids} a persona's API document (remote or resolved) cites, for every wire with a field."""
    out: dict[str, tuple[str, ...]] = {}
    for w in WIRES:
        present, value = at(document, w.by_id)
        if not present:
            continue
        if isinstance(value, list):
            out[w.kind] = tuple(v for v in value if isinstance(v, str))
        elif isinstance(value, str) and value:
            out[w.kind] = (value,)
    return out


# ------------------------------------------------------------------ planning and apply


def placeholder(kind: str, name: str) -> str:
    """How a reference to an object created by this same apply is shown (and carried) until its id is known."""
    return f"(known after apply: {wire(kind).name_key.rpartition('.')[2].rstrip('s')} {name})"


def resolve_names(persona: str, cited: Mapping[str, tuple[str, ...]], ids: Mapping[tuple[str, str], str],
                  creating: Collection[tuple[str, str]], errors: list[str]) -> dict[tuple[str, str], str | None]:
    """(kind, name) -> the id of every object the persona cites by name: the declared object's id on the account
    (``ids``: what the generic plan matched; a replace keeps citing the old object until the swap re-points
    it), or None when this plan creates it (bound at apply time). A name neither on the account nor created is
    a plan error."""
    out: dict[tuple[str, str], str | None] = {}
    for kind, names in cited.items():
        for name in names:
            if (kind, name) in ids:
                out[(kind, name)] = ids[(kind, name)]
            elif (kind, name) in creating:
                out[(kind, name)] = None
            else:
                errors.append(f"persona {persona}: {wire(kind).name_key} {name!r} does not exist and is not created "
                              f"by this plan (declare it under {kind}:, or add it to --target)")
    return out


def lookup(ids: Mapping[tuple[str, str], str | None]) -> Callable[[str, str], str | None]:
    return lambda kind, name: ids.get((kind, name))


def bound_document(attributes: Mapping[str, Any], cited: Mapping[str, tuple[str, ...]],
                   ids: Mapping[tuple[str, str], str | None], remote: Mapping[str, Any] | None = None
                   ) -> dict[str, Any]:
    """:func:`resolved_document` with every name this plan creates carried as its :func:`placeholder`."""
    def known(kind: str, name: str) -> str:
        return ids.get((kind, name)) or placeholder(kind, name)

    doc, _later = resolved_document(attributes, cited, known, remote)
    return doc


def bind_created(value: Any, created: Mapping[tuple[str, str], str]) -> Any:
    """``value`` (a patch value, a create body) with every placeholder of an object this apply created replaced
    by its id (deep). Raises KeyError naming a placeholder whose object was not created."""
    table = {placeholder(kind, name): oid for (kind, name), oid in created.items() if _wired(kind)}
    return _substitute(value, table)


def pending_placeholders(value: Any) -> list[str]:
    """The placeholders still in ``value`` (after :func:`bind_created`: objects that were not created)."""
    if isinstance(value, str):
        return [value] if value.startswith("(known after apply: ") else []
    if isinstance(value, Mapping):
        return [p for v in value.values() for p in pending_placeholders(v)]
    if isinstance(value, list | tuple):
        return [p for v in value for p in pending_placeholders(v)]
    return []


def _wired(kind: str) -> bool:
    return any(w.kind == kind for w in WIRES)


def _substitute(value: Any, table: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, Mapping):
        return {k: _substitute(v, table) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_substitute(v, table) for v in value]
    return value


def cited_by(documents: Collection[Mapping[str, Any]]) -> dict[str, set[str]]:
    """kind -> every id the given persona documents cite (what must not be deleted)."""
    out: dict[str, set[str]] = {}
    for doc in documents:
        for kind, ids in cited_ids(doc).items():
            out.setdefault(kind, set()).update(ids)
    return out


def repoint(client: Any, personas: Any, reference: Any, old_id: str, new_id: str,
            listed: Sequence[Any] | None = None) -> list[str]:
    """Every user persona citing ``old_id`` through ``reference`` (an engine Reference) moved to ``new_id``: one
    JSON Patch each (the id field replaced whole, order kept). Returns a line per persona re-pointed. The
    default_replica reference is the replicas' own re-point (reconciler.engine.executor); not done here."""
    from reconciler.engine import jsonpatch

    if not _wired(reference.kind):
        return []
    lines = []
    for p in client.list_personas() if listed is None else listed:  # listed: taken before a delete-first replace
        if p.persona_type == "system":
            continue
        ids = reference.ids(p.document)
        if old_id not in ids:
            continue
        value = [new_id if i == old_id else i for i in ids] if reference.many else new_id
        op = {"op": "replace", "path": jsonpatch.pointer(reference.id_field.split(".")), "value": value}
        personas.update(client, p.persona_id, [op])
        lines.append(f"persona {p.name} ({p.persona_id}): {reference.id_field} re-pointed from {old_id} to {new_id}")
    return lines


def split_attached(ops: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str] | None]:
    """(the operations of the persona's PATCH, the tool ids it must end with, or None when its tools do not
    change): a change of ``tool_ids`` is attach/detach calls, not a PATCH (TOOLS.md)."""
    from reconciler.engine import jsonpatch

    path = jsonpatch.pointer(wire("tools").by_id)
    rest = [dict(op) for op in ops if op.get("path") != path]
    tools = [op for op in ops if op.get("path") == path]
    if not tools:
        return rest, None
    last = tools[-1]
    value = last.get("value") if last.get("op") != "remove" else []
    return rest, [v for v in value or () if isinstance(v, str)]


def reattach(client: Any, persona_id: str, wanted: Sequence[str]) -> list[str]:
    """Attach and detach the persona's tools so that exactly ``wanted`` are attached (one POST for all to add,
    one DELETE per tool to remove; the attachment endpoint is the authority on what is attached now)."""
    from reconciler.kinds.tools.kind import attach, attached, attachment_changes, detach

    current = [t.tool_id for t in attached(client, persona_id)]
    to_attach, to_detach = attachment_changes(current, wanted)
    attach(client, persona_id, to_attach)
    for tool_id in to_detach:
        detach(client, persona_id, tool_id)
    return [*(f"attached tool {t}" for t in to_attach), *(f"detached tool {t}" for t in to_detach)]


def attachments(client: Any, documents: Sequence[Mapping[str, Any]]) -> Callable[[Mapping[str, Any]], tuple[
        list[str], str]]:
    """For ``smoke`` (issue 27): a check of one persona document -> (problems, summary) over everything it is
    wired to: each cited object exists on the account and, for a kind with readiness (documents), is ready.
    Each cited kind is listed once for all the personas (``documents``: their API documents)."""
    from reconciler.engine.kind import WithReadiness, has
    from reconciler.kinds import kind, registered

    keys = {k.key for k in registered()}
    wanted = {key for doc in documents for key in cited_ids(doc) if key in keys}
    listed = {key: {kind(key).remote_id(r): r for r in kind(key).list(client)} for key in sorted(wanted)}

    def check(doc: Mapping[str, Any]) -> tuple[list[str], str]:
        problems, counts = [], []
        for key, ids in cited_ids(doc).items():
            if key not in listed or not ids:
                continue
            k = kind(key)
            counts.append(f"{len(ids)} {k.noun}(s)")
            for oid in ids:
                r = listed[key].get(oid)
                if r is None:
                    problems.append(f"its {k.noun} {oid} does not exist")
                elif has(k, WithReadiness) and k.not_ready(r):
                    problems.append(k.not_ready(r))
        return problems, ", ".join(counts)

    return check


# a persona's default replica when the same apply creates it: one of the change's refs, bound from the replicas
# the run made (``report.created``), not from the generic kinds' objects
REPLICA_REF = ("default_replica", "replicas")


def replica_ref(name: str) -> tuple[str, str, str, None]:
    """The ref of a change whose default_replica ``name`` is created by this same apply."""
    return (*REPLICA_REF, name, None)


def created_replica(change: Any) -> str | None:
    """The declared name of the replica this apply creates whose id becomes the persona's default_replica_id."""
    return next((name for f, k, name, _i in change.refs if (f, k) == REPLICA_REF), None)


def wired_refs(change: Any) -> tuple[tuple[str, str, str, str | None], ...]:
    """The change's references to the generic kinds (documents, guardrails...): every ref but the replica's."""
    return tuple(r for r in change.refs if (r[0], r[1]) != REPLICA_REF)
