"""How a blue/green replace is written into the account, so any run can read it back from the account alone.

A replace creates its successor under a *marked* name that encodes the replica it replaces:
``<declared-name>~next~<old replica_id>``. The old replica keeps its name and keeps serving until the
successor has finished training; then the old one is deleted and the successor renamed to the declared name.
Every intermediate state is therefore unambiguous:

=====================================================  ==========================================
account                                                phase
=====================================================  ==========================================
``a`` (old) only                                       ``create`` (nothing started yet)
``a`` (old) + ``a~next~old`` training                  ``training``
``a`` (old) + ``a~next~old`` completed                 ``swap`` (delete old, rename successor)
``a~next~old`` completed, no ``a``                     ``rename`` (the delete happened)
``a`` (the former successor) only                      done
=====================================================  ==========================================

This module is the one place that knows the scheme.
"""

from __future__ import annotations

MARK = "~next~"


def successor_name(name: str, old_id: str) -> str:
    """The name a replace gives the successor of replica ``old_id`` declared as ``name``."""
    return f"{name}{MARK}{old_id}"


def parse_successor(name: str) -> tuple[str, str] | None:
    """``(declared name, old replica_id)`` for a successor's marked name, None for any other name."""
    base, mark, old_id = name.rpartition(MARK)
    if not mark or not base or not old_id or any(c.isspace() or c == "~" for c in old_id):
        return None
    return base, old_id
