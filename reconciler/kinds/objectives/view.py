"""How plans show an objectives set's change (the view hook ``plan_rows``; see ENGINE.md "Views").

An update replaces ``data`` whole in its JSON Patch, but a reader wants to see which objective changed: the
``data`` row becomes one row per objective field that differs (``data[1].objective_prompt``), an objective
added or removed at the end as one row naming it. The two ``next_required_objective(s)`` spellings compare as
one, as in the diff; fields the file does not declare are not shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.engine.jsonpatch import same
from reconciler.kinds.objectives.models import normal_objective


def _name(objective: Any) -> object:
    return objective.get("objective_name") if isinstance(objective, Mapping) else objective


def data_rows(old: Any, new: Any) -> list[tuple[str, object, object]]:
    """(attribute, before, after) rows for a change of ``data`` from ``old`` (the account) to ``new``."""
    old = old if isinstance(old, list) else []
    new = new if isinstance(new, list) else []
    rows: list[tuple[str, object, object]] = []
    for i in range(max(len(old), len(new))):
        if i >= len(new):
            rows.append((f"data[{i}]", _name(old[i]), None))
            continue
        if i >= len(old) or not isinstance(old[i], Mapping) or not isinstance(new[i], Mapping):
            rows.append((f"data[{i}]", _name(old[i]) if i < len(old) else None, _name(new[i])))
            continue
        have, want = normal_objective(old[i]), normal_objective(new[i])
        rows += [(f"data[{i}].{key}", have.get(key), value) for key, value in want.items()
                 if key not in have or not same(have[key], value)]
    return rows


def plan_rows(change: Any) -> list[tuple[str, object, object]]:
    """The rows of an update (``data`` expanded); other changes keep the generic rows."""
    rows: list[tuple[str, object, object]] = []
    for attr, old, new in getattr(change, "diff", ()) or ():
        rows += data_rows(old, new) if attr == "data" else [(attr, old, new)]
    return rows
