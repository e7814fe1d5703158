"""Personas, the second resource kind (see ``reconciler.kinds``), applied after the replicas they reference.

Identity: ``persona_name`` inside the scope, or a pinned ``persona_id``. Personas are updated in place: the
diff is field-level and nested, of ONLY the attributes the file declares (``reconciler.engine.jsonpatch.diff``), and
is sent as one JSON Patch. Attributes the API may not return (``RemotePersona.readable`` false: an uncertain
field the server left out, a layer ``api_key`` echoed masked or not at all) cannot be compared: they are left
out of the diff, listed in the plan as "could not be compared", and sent on create. So the plan never flaps
on them; a change to one of them in the file is not detected (the plan says so on every run, and names
``--resend PERSONA``, which sends them as declared: :meth:`Personas.resend_changes`).
Pure except the API calls, which go through the one client.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from reconciler.engine import jsonpatch
from reconciler.engine.kind import Reference
from reconciler.kinds import Vocabulary
from reconciler.kinds.personas import wiring
from reconciler.kinds.personas.models import MASK, SECRET_PATHS, DesiredPersona, RemotePersona

# the one table of the persona kind's API names (issue 25): legacy (spoken) and the newer "PAL" names
LEGACY = Vocabulary("/v2/personas", "persona_id", "persona_name", "persona_type")
PALS = Vocabulary("/v2/pals", "pal_id", "pal_name", "pal_type")

_SECRET_DOTTED = frozenset(".".join(p) for p in SECRET_PATHS)


def is_secret(dotted: str) -> bool:
    return dotted in _SECRET_DOTTED


def dotted(pointer: str) -> str:
    return ".".join(jsonpatch.unescape(t) for t in pointer.lstrip("/").split("/"))


def _comparable(remote: RemotePersona, desired: Mapping[str, Any], prefix: tuple[str, ...],
                skipped: list[str], values: list | None = None) -> dict[str, Any]:
    """``desired`` without what cannot be read back (recorded in ``skipped``, dotted; and in ``values`` as
    (key path, declared value), for ``--resend``)."""
    out: dict[str, Any] = {}
    for key, want in desired.items():
        path = (*prefix, str(key))
        name = ".".join(path)
        if is_secret(name) and isinstance(want, str):
            match = None if "${" in want else remote.secret_matches(name, want)  # unset ${VAR}: unknown value
            if match is None:
                skipped.append(name)
                if values is not None:
                    values.append((path, want))
            elif match is False:
                out[key] = want  # echoed in clear and different: a real change (masked when shown)
            continue
        if not remote.readable(name):
            skipped.append(name)
            if values is not None:
                values.append((path, want))
            continue
        if isinstance(want, Mapping) and want and not isinstance(_at_path(remote.document, path), Mapping):
            # issue 24 #4: a declared object the server did not return (``layers.llm``, all of ``layers``) may be
            # hidden, not absent: ``add`` would replace it whole and erase what the file does not declare (the
            # customer's LLM api_key). It cannot be compared; --resend sends it.
            skipped.append(name)
            if values is not None:
                values.append((path, want))
            continue
        if isinstance(want, Mapping):
            sub = _comparable(remote, want, path, skipped, values)
            if sub or not want:
                out[key] = sub
            continue
        out[key] = want
    return out


def _at_path(doc: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(doc, Mapping) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _old(doc: Mapping[str, Any], pointer: str) -> object:
    cur: Any = doc
    for token in pointer.lstrip("/").split("/"):
        token = jsonpatch.unescape(token)
        if not isinstance(cur, Mapping) or token not in cur:
            return None
        cur = cur[token]
    return cur


def _patched(doc: Mapping[str, Any], ops: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of ``doc`` with the add/replace/remove operations that :func:`jsonpatch.diff` and ``--resend``
    produce applied (to know which parents exist when later operations run)."""
    import copy

    out = copy.deepcopy(dict(doc))
    for op in ops:
        tokens = [jsonpatch.unescape(t) for t in op["path"].lstrip("/").split("/")]
        cur: Any = out
        for token in tokens[:-1]:
            nxt = cur.get(token) if isinstance(cur, dict) else None
            if not isinstance(nxt, dict):
                nxt = cur[token] = {}
            cur = nxt
        if op["op"] == "remove":
            cur.pop(tokens[-1], None)
        else:
            cur[tokens[-1]] = copy.deepcopy(op.get("value"))
    return out


def _mask_secrets(path: str, value: object) -> object:
    """A shown value with every layer api_key replaced by MASK (the value itself, or inside a subtree)."""
    if is_secret(path):
        return MASK if value is not None else None
    if isinstance(value, Mapping):
        return {k: _mask_secrets(f"{path}.{k}" if path else str(k), v) for k, v in value.items()}
    return value


CONFERENCING = ("layers", "conferencing")


def split_conferencing(ops: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every other operation, the operations on ``/layers/conferencing``): Tavus documents that the
    conferencing layer is patched in a request of its own. An operation that sets ``/layers`` whole with a
    ``conferencing`` member inside is split in two (the layers without it, then the member)."""
    main: list[dict[str, Any]] = []
    conf: list[dict[str, Any]] = []
    for op in ops:
        tokens = [jsonpatch.unescape(t) for t in str(op.get("path", "")).lstrip("/").split("/")]
        if tuple(tokens[:2]) == CONFERENCING:
            conf.append(dict(op))
        elif tokens == ["layers"] and op.get("op") in ("add", "replace") and isinstance(op.get("value"), Mapping) \
                and "conferencing" in op["value"]:
            value = dict(op["value"])
            conf.append({"op": "add", "path": "/layers/conferencing", "value": value.pop("conferencing")})
            main.append({**op, "value": value})
        else:
            main.append(dict(op))
    return main, conf


class Personas:
    key = "personas"
    noun = "persona"
    # a persona's default_replica (a declared replica's name) -> the API's default_replica_id (issue 26: data the
    # engine's reference graph reads; the *_id form, default_replica_id, names a replica the file does not manage)
    legacy_path = True  # still planned/applied by its kind-specific path (planner.py/executor.py), not objects.py
    # what this kind adds to the engine's Config and Plan (reconciler.engine.models): the declared personas;
    # RemotePersona rows in scope but undeclared (not pruned), and listed under `removed:` (released)
    config_fields = {"personas": ()}
    plan_fields = {"unmanaged_personas": (), "forgotten_personas": ()}
    @property
    def references(self) -> tuple[Reference, ...]:
        """default_replica, and (issue 27) every wired kind that is registered: documents, guardrails, objectives,
        pronunciation dictionaries, tools (``reconciler.kinds.personas.wiring``)."""
        return (Reference("default_replica", "replicas", "default_replica_id"), *wiring.references())
    legacy = LEGACY  # the names the models speak internally
    api = LEGACY  # the names spoken on the wire

    @property
    def id_field(self) -> str:
        return self.api.id_field

    @property
    def name_field(self) -> str:
        return self.api.name_field

    create_only: tuple[str, ...] = ()
    replace_on: tuple[str, ...] = ()

    @staticmethod
    def fingerprint_items(config, listing: Sequence[RemotePersona]) -> list:
        """What a saved plan's decisions depend on: every user persona's whole (secret-masked) document."""
        return sorted((p.persona_id, json.dumps(p.document, sort_keys=True, default=str))
                      for p in listing if p.persona_type != "system")

    @staticmethod
    def mass_count(config, listing: Sequence[RemotePersona]) -> int:
        """The user personas in the file's scope."""
        return sum(1 for p in listing if getattr(p, "persona_type", "user") != "system"
                   and config.settings.in_scope(p.name or ""))

    @staticmethod
    def input_entries(config) -> list | None:
        """The declared personas' resolved attributes (layer api_keys included: only the saved plan's digest
        holds them); None when the file declares none."""
        if not config.personas:
            return None
        return [{f.name: getattr(p, f.name) for f in dataclasses.fields(p)} for p in config.personas]

    def identity(self, desired: DesiredPersona) -> tuple[str, str]:
        return ("id", desired.persona_id) if desired.persona_id else ("name", desired.name)

    def document(self, desired: DesiredPersona, replica_id: str | None, ids: Mapping | None = None,
                 remote: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The declared persona as API fields (without persona_name); default_replica_id when known; every name
        it cites (documents, guardrails, ...) as the id ``ids`` maps it to, or the placeholder of an object this
        apply creates (``wiring.bound_document``; ``remote``: keep its order of the same ids)."""
        doc = wiring.bound_document(desired.attributes, desired.cited, ids or {}, remote)
        if replica_id:
            doc["default_replica_id"] = replica_id
        return doc

    def create_payload(self, desired: DesiredPersona, replica_id: str | None, ids: Mapping | None = None
                       ) -> dict[str, Any]:
        return {"persona_name": desired.name, **jsonpatch.encode_value(self.document(desired, replica_id, ids))}

    def desired_attributes(self, desired: DesiredPersona, replica_id: str | None = None, ids: Mapping | None = None
                           ) -> dict[str, object]:
        """As shown in plans: secrets masked."""
        shown = {"persona_name": desired.name, **self.document(desired, replica_id, ids)}
        if desired.default_replica and not replica_id:
            shown["default_replica_id"] = f"(known after apply: {desired.default_replica})"
        return {k: _mask_secrets(k, jsonpatch.encode_value(v)) for k, v in shown.items()}

    def remote_attributes(self, remote: RemotePersona) -> dict[str, object]:
        return {"persona_name": remote.name, "default_replica_id": remote.default_replica_id}

    def replace_reason(self, desired: Any, remote: Any, force_replace: Collection[str]) -> str | None:
        return None  # personas are always updated in place

    def in_place_changes(self, desired: DesiredPersona, remote: RemotePersona, replica_id: str | None,
                         ids: Mapping | None = None
                         ) -> tuple[list[dict[str, Any]], list[tuple[str, object, object]], list[str]]:
        """(JSON Patch ops, shown diff rows (dotted path, old, new; secrets masked), attributes not compared)."""
        skipped: list[str] = []
        want = _comparable(remote, self.document(desired, replica_id, ids, remote.document), (), skipped)
        ops = jsonpatch.diff(remote.document, want)
        rows = []
        for op in ops:
            path = dotted(op["path"])
            old = _old(remote.document, op["path"])
            new = op.get("value") if op["op"] != "remove" else None
            rows.append((path, _mask_secrets(path, old), _mask_secrets(path, new)))
        return ops, rows, sorted(skipped)

    def resend_changes(self, desired: DesiredPersona, remote: RemotePersona, replica_id: str | None,
                       ops: Sequence[Mapping[str, Any]], ids: Mapping | None = None
                       ) -> tuple[list[dict[str, Any]], list[tuple[str, object, object]], list[str]]:
        """``--resend``: the declared attributes that could not be compared, as patch operations to run after
        ``ops`` (the compared changes): (operations, shown rows (secrets masked), dotted attributes).

        Always ``add``: on an object member RFC 6902 ``add`` sets the value whether or not the member exists,
        and whether it exists is exactly what could not be read back (``replace`` would fail on an absent
        one). A parent missing from the persona (after ``ops``) is added whole, with the declared value inside."""
        skipped: list[str] = []
        values: list[tuple[tuple[str, ...], Any]] = []
        _comparable(remote, self.document(desired, replica_id, ids, remote.document), (), skipped, values)
        state = _patched(remote.document, ops)
        out: list[dict[str, Any]] = []
        rows: list[tuple[str, object, object]] = []
        for path, want in values:
            cur, depth = state, 0
            while depth < len(path) - 1 and isinstance(cur.get(path[depth]), Mapping):
                cur = cur[path[depth]]
                depth += 1
            value: Any = want
            for key in reversed(path[depth + 1:]):
                value = {key: value}
            op = {"op": "add", "path": jsonpatch.pointer(path[:depth + 1]), "value": jsonpatch.encode_value(value)}
            out.append(op)
            state = _patched(state, [op])
            name = ".".join(path)
            rows.append((name, None, _mask_secrets(name, jsonpatch.encode_value(want))))
        return out, rows, [".".join(p) for p, _ in values]

    # the API calls
    def list(self, client, *, ids: Sequence[str] | None = None) -> list[RemotePersona]:
        found = client.list_personas()
        return found if ids is None else [p for p in found if p.persona_id in set(ids)]

    def get(self, client, object_id: str) -> RemotePersona:
        return client.get_persona(object_id)

    def create(self, client, desired: DesiredPersona, *, replica_id: str | None = None,
               known_ids: Collection[str] = (), ids: Mapping | None = None) -> str:
        """POST once; a lost answer is settled by the client against the account (never re-sent blindly).
        ``ids``: (kind, name) -> id of every object the persona cites by name (issue 27)."""
        return client.create_persona(self.create_payload(desired, replica_id, ids), known_ids=known_ids)

    def update(self, client, object_id: str, ops: Sequence[Mapping[str, Any]], *, force: bool = False,
               discarded: list[str] | None = None) -> bool:
        """One PATCH with every op (304 "no changes" is success: False); what touches ``layers.conferencing``
        goes in a PATCH of its own, after the rest, as documented. ``force``: ``?force=true`` (discards an
        unpublished editor draft; the client appends the id to ``discarded`` when the answer says it did).
        A change of ``tool_ids`` (issue 27) is not patched: the tools are attached and detached after the PATCH."""
        ops, tools = wiring.split_attached(ops)
        main, conferencing = split_conferencing(ops)
        changed = False
        for part in (main, conferencing):
            if part:
                kwargs = {"force": True, "discarded": discarded} if force else {}
                changed = client.update_persona(object_id, part, **kwargs) or changed
        if tools is not None:
            changed = bool(wiring.reattach(client, object_id, tools)) or changed
        return changed

    def delete(self, client, object_id: str) -> bool:
        return client.delete_persona(object_id)

    def snapshot(self, client) -> list:
        """The personas as they are now: what a replace that deletes first re-points afterwards (the delete
        itself unlinks the old object from them, e.g. a tool's attachment)."""
        return list(client.list_personas())

    def repoint(self, client, reference, old_id: str, new_id: str, snapshot=None) -> list[str]:
        """Before ``old_id`` (an object this persona kind references, e.g. a document) is deleted by a blue/green
        replace: move every user persona's ``reference`` from it to ``new_id`` (one PATCH each). Raises when the
        personas cannot be listed or one cannot be re-pointed (the old object is then kept)."""
        return wiring.repoint(client, self, reference, old_id, new_id, listed=snapshot)

    # the planner's hooks (reconciler.engine.kind.WithPlanner): reconciler.kinds.personas.plan
    def declared_names(self, config) -> set[str]:
        return {d.name for d in config.personas}

    def listed_names(self, listing: Sequence[RemotePersona]) -> set[str]:
        return {p.name for p in listing if getattr(p, "name", None)}

    def plan_before(self, draft) -> None:
        from reconciler.kinds.personas.plan import check_resend

        check_resend(draft)

    def holds(self, draft) -> Mapping[str, str]:
        from reconciler.kinds.personas.plan import holds

        return holds(draft)

    def plan_after(self, draft) -> None:
        from reconciler.kinds.personas.plan import plan_after

        plan_after(draft)

    # the executor's hooks (reconciler.engine.kind.WithExecutor): reconciler.kinds.personas.apply
    records_created = False  # report.created names the replicas a run made (what personas' ref_replica reads)

    def work(self, changes, successors: bool):
        from reconciler.kinds.personas.apply import work

        return work(changes, successors)

    def recheck(self, run, main):
        from reconciler.kinds.personas.apply import recheck

        return recheck(run, main)

    def step(self, run, change):
        from reconciler.kinds.personas.apply import step

        return step(run, change)

    def failure(self, change, error):
        from reconciler.kinds.personas.apply import failure

        return failure(change, error)

    def settle(self, run, outcomes) -> None:
        from reconciler.kinds.personas.apply import settle

        settle(run, outcomes)


PERSONAS = Personas()
