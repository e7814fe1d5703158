"""``plan --check``: ask the API to validate, without saving, every object the plan would create or change, for
the kinds that can be checked (an ability the engine discovers: :class:`WithCheck`; objectives sets have it,
through ``POST /v2/objectives/validate``). Without ``--check`` nothing here runs: no such request is sent.

An object the API refuses is a plan error naming the kind, the object and the API's reason; a check that
cannot be made (the API unreachable...) is an error too: ``--check`` promises an answer, and a plan that could
not keep it must not look checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from reconciler.engine.kind import has
from reconciler.errors import ReconcilerError

CHECKED_ACTIONS = ("create", "update", "replace")


@runtime_checkable
class WithCheck(Protocol):
    """The API can validate a declared object without saving it."""

    def check(self, client: Any, desired: Any) -> str | None:
        """None when the API accepts ``desired``; else its reason, in one line."""


def _action(change: Any) -> str:
    action = getattr(change, "action", "")
    return str(getattr(action, "value", action))


def check_changes(kinds: Iterable[Any], changes: Sequence[Any], client: Any
                  ) -> tuple[list[str], list[tuple[str, str]]]:
    """(errors, (kind key, name) of every object checked), for the changes that create, update or replace an
    object of a checkable kind (one request each, in the plan's order)."""
    by_key = {k.key: k for k in kinds}
    errors: list[str] = []
    checked: list[tuple[str, str]] = []
    for c in changes:
        k = by_key.get(getattr(c, "kind", ""))
        desired = getattr(c, "desired", None)
        if k is None or desired is None or _action(c) not in CHECKED_ACTIONS or not has(k, WithCheck):
            continue
        try:
            reason = k.check(client, desired)
        except ReconcilerError as e:
            errors.append(f"{k.noun} {c.name}: could not be checked (--check): {e}")
            continue
        checked.append((k.key, c.name))
        if reason is not None:
            errors.append(f"{k.noun} {c.name}: the API refuses it (--check): {reason}")
    return errors, checked


def checked(plan: Any, client: Any, kinds: Iterable[Any] | None = None) -> Any:
    """``plan`` with the API's verdicts: its refusals added to the errors, ``checked`` set (``plan --check``)."""
    if kinds is None:
        from reconciler.kinds import kinds as registered

        kinds = registered()
    errors, done = check_changes(kinds, plan.changes, client)
    return dataclasses.replace(plan, errors=tuple(plan.errors) + tuple(errors), checked=tuple(done))
