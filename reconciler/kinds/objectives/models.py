"""Objectives sets: one entry of the file's ``objectives:`` (:class:`DesiredObjectives`) and a set as the API
reports it (:class:`RemoteObjectives`). Pure: no I/O.

API facts (``/v2/objectives``): a set is ``{name?, data: [objective...], allow_loops}``, id ``objectives_id``; an
objective is ``{objective_name, objective_prompt, confirmation_mode auto|manual, output_variables, modality,
next_conditional_objectives, next_required_objective(s), callback_url, tool_call}``; at most 50 objectives a set,
prompts at most 10,000 characters. The docs' example says ``next_required_objectives`` (a list) where the
official CLI says ``next_required_objective`` (a string): both are accepted, on both sides, and compared as one
(:func:`normal_objective`). The docs' answers vary in shape too (a Get wraps the set in ``{"data": {...}}``; one
example flattens a one-objective set into the item): :meth:`RemoteObjectives.from_api` reads them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.jsonpatch import same

MAX_OBJECTIVES = 50
MAX_PROMPT = 10_000
CONFIRMATION_MODES = ("auto", "manual")
MODALITIES = ("verbal", "visual")
NEXT_ONE, NEXT_MANY = "next_required_objective", "next_required_objectives"
OBJECTIVE_FIELDS = ("objective_name", "objective_prompt", "confirmation_mode", "output_variables", "modality",
                    "next_conditional_objectives", NEXT_ONE, NEXT_MANY, "callback_url", "tool_call")
ID_FIELDS = ("objectives_id", "uuid", "id")
_SERVER_FIELDS = frozenset({*ID_FIELDS, "created_at", "updated_at", "status"})


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def required_next(objective: Mapping[str, Any]) -> list[str]:
    """The objectives required next, whichever of the two documented forms the objective uses."""
    out: list[str] = []
    one, many = objective.get(NEXT_ONE), objective.get(NEXT_MANY)
    if isinstance(one, str) and one:
        out.append(one)
    if isinstance(many, list):
        out.extend(v for v in many if isinstance(v, str) and v and v not in out)
    elif isinstance(many, str) and many and many not in out:
        out.append(many)
    return out


def normal_objective(objective: Mapping[str, Any]) -> dict[str, Any]:
    """One objective in a canonical form: the two ``next_required_*`` spellings become one list under
    ``next_required_objectives`` (absent when empty)."""
    out = {str(k): _plain(v) for k, v in objective.items() if k not in (NEXT_ONE, NEXT_MANY)}
    nxt = required_next(objective)
    if nxt:
        out[NEXT_MANY] = nxt
    return out


def successors(objective: Mapping[str, Any]) -> list[str]:
    """Every objective name this one may lead to (required and conditional)."""
    out = required_next(objective)
    cond = objective.get("next_conditional_objectives")
    if isinstance(cond, Mapping):
        out.extend(str(k) for k in cond if str(k) not in out)
    return out


def find_loop(data: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """A cycle among the objectives' next links (``[a, b, a]``), or None."""
    graph = {o.get("objective_name"): successors(o) for o in data if isinstance(o, Mapping)}
    state: dict[Any, int] = {}  # 1: on the path, 2: done
    path: list[Any] = []

    def visit(node: Any) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return [str(n) for n in path[path.index(nxt):]] + [str(nxt)]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in graph:
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def same_data(declared: Sequence[Mapping[str, Any]], remote: Any) -> bool:
    """Whether the remote objectives equal the declared ones in every DECLARED field, in order (fields the
    server adds, such as a default ``confirmation_mode``, are not differences)."""
    if not isinstance(remote, list) or len(remote) != len(declared):
        return False
    for want, have in zip(declared, remote, strict=True):
        if not isinstance(have, Mapping):
            return False
        want_n, have_n = normal_objective(want), normal_objective(have)
        if any(k not in have_n or not same(have_n[k], v) for k, v in want_n.items()):
            return False
    return True


@dataclass(frozen=True)
class DesiredObjectives:
    """One entry of ``objectives:`` (resolved: ``${VAR}``s interpolated)."""

    name: str                               # the set's name: the identity within settings.scope
    data: tuple[Mapping[str, Any], ...]     # the objectives, as declared (either next_required_* spelling)
    allow_loops: bool | None = None         # None: not declared (the server's default, never compared)
    extra: Mapping[str, Any] = field(default_factory=dict)  # newer set-level fields, passed through
    objectives_id: str | None = None        # pinned/adopted (export writes it)
    protect: bool = False
    missing_vars: tuple[str, ...] = ()

    def create_payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "data": [_plain(o) for o in self.data]}
        if self.allow_loops is not None:
            body["allow_loops"] = self.allow_loops
        body.update({k: _plain(v) for k, v in self.extra.items()})
        return body


@dataclass(frozen=True)
class RemoteObjectives:
    """An objectives set as the API reports it. Only the id is required; ``document`` is the set without its
    server fields (the remote side of the diff)."""

    objectives_id: str
    name: str | None = None
    data: tuple[Mapping[str, Any], ...] = ()
    allow_loops: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> RemoteObjectives:
        """Tolerant of every documented shape; KeyError/TypeError only when no id can be found."""
        if not isinstance(item, Mapping):
            raise TypeError(type(item).__name__)
        inner = item.get("data")
        if isinstance(inner, Mapping) and not any(k in item for k in ID_FIELDS):
            item = {**inner, **{k: v for k, v in item.items() if k != "data"}}  # Get: {"data": {...}}
        oid = next((item[k] for k in ID_FIELDS if isinstance(item.get(k), str) and item[k]), None)
        if oid is None:
            raise KeyError("objectives_id")
        data = item.get("data")
        if isinstance(data, list):
            objectives = [dict(o) for o in data if isinstance(o, Mapping)]
            name = _str(item.get("name")) or _str(item.get("objectives_name")) or _str(item.get("objective_name"))
            doc = {str(k): _plain(v) for k, v in item.items() if k not in _SERVER_FIELDS}
        else:  # flattened: the item is its one objective
            objectives = [{k: _plain(v) for k, v in item.items() if k in OBJECTIVE_FIELDS}]
            name = _str(item.get("name")) or _str(item.get("objectives_name"))
            doc = {"data": objectives, **({"name": name} if name else {})}
            if "allow_loops" in item:
                doc["allow_loops"] = item["allow_loops"]
        loops = item.get("allow_loops")
        return cls(objectives_id=oid, name=name, data=tuple(objectives),
                   allow_loops=loops if isinstance(loops, bool) else None, created_at=_str(item.get("created_at")),
                   updated_at=_str(item.get("updated_at")), document=doc)

    @property
    def key(self) -> str:
        return self.objectives_id
