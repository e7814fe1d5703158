"""The account's objects of the kinds the generic engine plans (issue 26): one listing per kind, concurrently.

A kind is listed when the file declares it (a file that declares no object of a kind does not manage it and
costs no request for it). Replicas and personas are still listed by ``workflow.inventories``.
"""

from __future__ import annotations

from typing import Any

HOLDERS = "personas"  # listed with the generic kinds when the file declares none: what they hold is never pruned


def object_inventory(client, config) -> dict[str, list[Any]]:
    """kind key -> the listed objects, for every generic kind the file declares; and, when the file declares
    such kinds but no persona, the account's personas under :data:`HOLDERS` (an object a persona holds is
    never pruned; the file does not manage those personas)."""
    from reconciler.engine.planner import generic_kinds

    jobs = {k.key: (lambda k=k: k.list(client)) for k in generic_kinds() if k.key in config.objects}
    if jobs and not getattr(config, "personas", ()):
        jobs[HOLDERS] = lambda: client.list_personas()
    if not jobs:
        return {}
    if len(jobs) == 1:
        return {key: job() for key, job in jobs.items()}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="inventory") as pool:
        futures = {key: pool.submit(job) for key, job in jobs.items()}
        return {key: f.result() for key, f in futures.items()}  # the first error (in kind order) is raised


def listings(remote, personas, objects: dict[str, list[Any]]) -> dict[str, Any]:
    """kind key -> what the account listed of it, as a saved plan fingerprints it (reconciler.engine.planfile):
    the replicas, the personas (None when the file declares none: the personas listed only as
    :data:`HOLDERS` are not the file's), and every generic kind the file declares."""
    from reconciler.kinds.personas.kind import PERSONAS
    from reconciler.kinds.replicas.kind import REPLICAS

    return {**objects, REPLICAS.key: remote, PERSONAS.key: personas}


def known_ids(kinds_objects: dict[str, list[Any]]) -> dict[str, set[str]]:
    """kind key -> the ids listed (the executor's re-check baseline)."""
    from reconciler.kinds import kind

    return {key: {kind(key).remote_id(o) for o in objs} for key, objs in kinds_objects.items() if key != HOLDERS}


def all_inventories(client, config) -> tuple[list[Any], list | None, dict[str, list[Any]]]:
    """``workflow.inventories`` (replicas, personas) and :func:`object_inventory`, all at the same time: every
    kind's listing goes out concurrently with the others. An error of the replicas' listing wins."""
    from reconciler.workflows.common import alongside, inventories

    (remote, personas), objects = alongside(lambda: inventories(client, config),
                                            lambda: object_inventory(client, config), name="object-inventory")
    return remote, personas, objects
