"""The account's objects of the kinds the generic engine plans (issue 26): one listing per kind, concurrently.

A kind is listed when the file declares it (a file that declares no object of a kind does not manage it and
costs no request for it). Replicas and personas are still listed by ``workflow.inventories``.
"""

from __future__ import annotations

from typing import Any


def object_inventory(client, config) -> dict[str, list[Any]]:
    """kind key -> the listed objects, for every generic kind the file declares."""
    from reconciler.engine.planner import generic_kinds

    todo = [k for k in generic_kinds() if k.key in config.objects]
    if not todo:
        return {}
    if len(todo) == 1:
        return {todo[0].key: todo[0].list(client)}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="inventory") as pool:
        futures = {k.key: pool.submit(k.list, client) for k in todo}
        return {key: f.result() for key, f in futures.items()}  # the first error (in kind order) is raised


def known_ids(kinds_objects: dict[str, list[Any]]) -> dict[str, set[str]]:
    """kind key -> the ids listed (the executor's re-check baseline)."""
    from reconciler.kinds import kind

    return {key: {kind(key).remote_id(o) for o in objs} for key, objs in kinds_objects.items()}
