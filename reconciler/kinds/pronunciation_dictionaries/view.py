"""How plans and status show a pronunciation dictionary (the engine's view hooks): rules as a one-line summary
(a dictionary may hold 10,000), never the whole list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.pronunciation_dictionaries.kind import rules_summary


def _count(rules: Any) -> str:
    return f"{len(rules)} rule(s)" if isinstance(rules, list | tuple) else str(rules)


def plan_rows(change: Any) -> list[tuple[str, object, object]]:
    """(attribute, before, after) rows: a create's name and rule count, an update's rename and rules summary
    (``+2 -1 ~1 (Tavus, Acme, ...)``), a delete's name and rule count."""
    diff = getattr(change, "diff", ()) or ()
    if diff:
        out = []
        for attr, old, new in diff:
            if attr == "rules" and isinstance(old, list | tuple) and isinstance(new, list | tuple):
                out.append(("rules", _count(old), f"{_count(new)}: {rules_summary(old, new)}"))
            else:
                out.append((attr, old, new))
        return out
    after = getattr(change, "after", None)
    if isinstance(after, Mapping) and after:
        return [(k, None, _count(v) if k == "rules" else v) for k, v in after.items()]
    before = getattr(change, "before", None)
    return [(k, v, None) for k, v in before.items()] if isinstance(before, Mapping) else []


def status_row(remote: Any) -> dict[str, object]:
    count = len(remote.rules) if remote.rules is not None else remote.rules_count
    return {"pronunciation_dictionary_id": remote.dictionary_id, "name": remote.name, "rules": count}
