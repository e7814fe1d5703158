"""How plans and status show a tool (the engine's view hooks): every secret as ``********``, whatever the row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.tools.kind import shown


def _rows(doc: Any, before: bool) -> list[tuple[str, object, object]]:
    if not isinstance(doc, Mapping):
        return []
    out = []
    for key, value in doc.items():
        value = shown(value, (str(key),))
        out.append((str(key), value, None) if before else (str(key), None, value))
    return out


def plan_rows(change: Any) -> list[tuple[str, object, object]]:
    """(attribute, before, after) rows of a create (the document sent), an update (the fields sent) or a delete
    (the account's tool), secrets masked."""
    diff = getattr(change, "diff", ()) or ()
    if diff:
        return [(attr, shown(old, tuple(attr.split("."))), shown(new, tuple(attr.split("."))))
                for attr, old, new in diff]
    after = getattr(change, "after", None)
    if after:
        return _rows(after, before=False)
    return _rows(getattr(change, "before", None), before=True)


def status_row(remote: Any) -> dict[str, object]:
    delivery = remote.document.get("delivery") if isinstance(remote.document, Mapping) else None
    api = delivery.get("api") if isinstance(delivery, Mapping) else None
    channel = "api" if isinstance(api, Mapping) else "app_message"
    return {"tool_id": remote.tool_id, "name": remote.name, "origin": remote.origin, "delivery": channel}
