"""The semantic rules of ``objectives:`` (after the schema fragment ``schema.json`` has judged the shapes), one
per function; builds :class:`DesiredObjectives`. The shared identity rules come from
:class:`reconciler.kinds.guardrails.rules.EntryRules`.

Certain (errors): objective names unique in the set; every ``next_*`` link names an objective of the set (with a
did-you-mean); one objective uses one of the two ``next_required_objective(s)`` spellings, not both; URLs are
URLs. Uncertain (warnings, sent as is): a ``confirmation_mode`` or ``modality`` this version does not know, an
objective field it does not document, links that loop while ``allow_loops`` is not true (whether Tavus refuses a
loop is what ``plan --check`` asks it).
"""

from __future__ import annotations

from typing import Any

from reconciler.engine.yamlpos import short
from reconciler.kinds.guardrails.rules import EntryRules, item_schema, plain, removed_names, suggest
from reconciler.kinds.objectives.models import (
    CONFIRMATION_MODES,
    MODALITIES,
    NEXT_MANY,
    NEXT_ONE,
    DesiredObjectives,
    find_loop,
)


def parse(entries: list, ctx: Any) -> tuple[DesiredObjectives, ...]:
    """The loader's hook: the ``objectives:`` entries, checked, as DesiredObjectives."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    return ObjectivesRules(ctx).run(entries, getattr(ctx.settings, "name_prefix", None),
                                    removed_names(root.get("removed")))


class ObjectivesRules(EntryRules):
    key = "objectives"
    noun = "objectives set"
    id_key = "objectives_id"
    package = "reconciler.kinds.objectives"
    own = frozenset({"name", "protect", "data", "allow_loops"})

    def build(self, base: tuple, entry: dict, label: str, pinned: str | None,
              missing: tuple[str, ...]) -> DesiredObjectives | None:
        data = entry.get("data")
        if not isinstance(data, list):
            return None  # the schema reported it
        names = self.rule_objective_names(base, data, label)
        for j, objective in enumerate(data):
            if isinstance(objective, dict):
                self.rule_objective(base + ("data", j), objective, label, names)
        loops = entry.get("allow_loops")
        self.rule_loops(base, data, label, loops)
        return DesiredObjectives(name=entry["name"], data=tuple(plain(o) for o in data if isinstance(o, dict)),
                                 allow_loops=loops if isinstance(loops, bool) else None,
                                 extra=self.attributes(entry), objectives_id=pinned,
                                 protect=entry.get("protect") is True, missing_vars=missing)

    def rule_objective_names(self, base: tuple, data: list, label: str) -> dict[str, int]:
        """Each objective_name once in the set. Returns name -> index."""
        names: dict[str, int] = {}
        for j, objective in enumerate(data):
            name = objective.get("objective_name") if isinstance(objective, dict) else None
            if not isinstance(name, str) or not name:
                continue
            if any(c.isspace() for c in name):
                self.diags.error(self.doc.at(base + ("data", j, "objective_name")),
                                 f"{label}: objective_name {short(name)} must not contain spaces (documented), e.g. "
                                 f"{'_'.join(name.split())!r}")
            if name in names:
                self.diags.error(self.doc.at(base + ("data", j, "objective_name")),
                                 f"{label}: objective {short(name)} is declared twice in the set (first at "
                                 f"data[{names[name]}]): objective names are unique in a set")
            else:
                names[name] = j
        return names

    def rule_objective(self, path: tuple, objective: dict, label: str, names: dict[str, int]) -> None:
        where = f"{label}: data[{path[-1]}]"
        self.rule_links(path, objective, where, names)
        self.rule_choice(path, objective, where, "confirmation_mode", CONFIRMATION_MODES)
        self.rule_choice(path, objective, where, "modality", MODALITIES)
        self.rule_url(path + ("callback_url",), objective.get("callback_url"), where, "callback_url")
        known = list(item_schema(self.package)["properties"]["data"]["items"]["properties"])
        for key in objective:
            if isinstance(key, str) and key not in known:
                close = suggest(key, known)
                hint = f" (did you mean {close!r}?)" if close else ""
                self.warn_once(f"objectives.data:{key}", self.doc.key_at(path + (key,)),
                                   f"objectives: objective field {short(key)} is not one this version documents"
                                   f"{hint}; it is sent to the API as written")

    def rule_links(self, path: tuple, objective: dict, where: str, names: dict[str, int]) -> None:
        """next_required_objective XOR next_required_objectives; every link names an objective of the set."""
        if NEXT_ONE in objective and NEXT_MANY in objective:
            self.diags.error(self.doc.key_at(path + (NEXT_MANY,)),
                             f"{where}: declare either {NEXT_ONE} (one name) or {NEXT_MANY} (a list), not both")
        links: list[tuple[tuple, Any]] = []
        if isinstance(objective.get(NEXT_ONE), str):
            links.append((path + (NEXT_ONE,), objective[NEXT_ONE]))
        if isinstance(objective.get(NEXT_MANY), list):
            links.extend((path + (NEXT_MANY, k), v) for k, v in enumerate(objective[NEXT_MANY]))
        cond = objective.get("next_conditional_objectives")
        if isinstance(cond, dict):
            links.extend((path + ("next_conditional_objectives", k), k) for k in cond)
        for at, target in links:
            if not isinstance(target, str) or not target or target in names or at in self.doc.missing:
                continue
            close = suggest(target, names)
            hint = f"did you mean {close!r}?" if close else f"the set declares: {', '.join(names) or 'none'}"
            pos = self.doc.key_at(at) if at[-2] == "next_conditional_objectives" else self.doc.at(at)
            self.diags.error(pos, f"{where}: {short(target)} is not an objective of this set ({hint})")

    def rule_choice(self, path: tuple, objective: dict, where: str, key: str, known: tuple[str, ...]) -> None:
        value = objective.get(key)
        if isinstance(value, str) and value not in known and path + (key,) not in self.doc.missing:
            close = suggest(value, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.diags.warning(self.doc.at(path + (key,)), f"{where}: {key} {short(value)} is not one this version "
                                                           f"knows ({', '.join(known)}){hint}; it is sent as is")

    def rule_loops(self, base: tuple, data: list, label: str, allow_loops: Any) -> None:
        if allow_loops is True:
            return
        loop = find_loop([o for o in data if isinstance(o, dict)])
        if loop:
            self.diags.warning(self.doc.at(base + ("data",)),
                               f"{label}: the objectives loop ({' -> '.join(loop)}) and allow_loops is not true: "
                               "Tavus may refuse the set (plan --check asks it); set allow_loops: true if the loop "
                               "is meant")
