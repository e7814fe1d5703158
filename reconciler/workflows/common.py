"""What every workflow shares: the ``Console`` it prints to, the ``Outcome`` it returns, the options the CLI
parsed, the account's listings (replicas and personas; the generic kinds' in ``workflows.inventory``), the plan
with its safety rails, and the rollout a plan's replaces are carried on by.

Each workflow (``planning``, ``applying``, ``waiting``, ``reporting``, ``conversing``, ``export``) takes what the
CLI parsed (a loaded config, a client, options) and a ``Console`` (where to print, and whether to colour / draw
live progress: the CLI decides that, from its flags and the terminal), and returns an ``Outcome`` carrying its
exit code (``reconciler.exitcodes``), like pre-commit's commands return an int and black's
``Report.return_code``. Errors that stop a command before it changed anything are raised
(``PlanError``/``UsageError``: one line each, exit 1, mapped by ``cli.main``); everything after the first change
is reported, never raised, so the account of what was done is always printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from reconciler.engine.models import Config, Plan
from reconciler.kinds.replicas.models import RemoteReplica


@dataclass
class Console:
    """Where a workflow prints. ``out`` writes to stdout (``nl=False`` for text that ends in its own newline),
    ``err`` one message to stderr (through the redaction choke point); ``color`` and ``live`` (a redrawn
    progress table) are decided by the CLI, never read from the environment here."""

    out: Callable[..., None]
    err: Callable[[str], None]
    color: bool = False
    live: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stdout)


@dataclass(frozen=True)
class Outcome:
    """What a command did, and the exit code it ends with."""

    exit_code: int
    plan: Plan | None = None
    report: object | None = None  # executor.Report, when changes were made
    waited: object | None = None  # waiter.WaitResult, when training was waited for
    saved_to: str | None = None  # plan --out


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    prune: bool = False
    resend: tuple[str, ...] = ()  # personas whose uncomparable attributes are sent anyway (--resend)
    max_replacing: int | None = None  # --max-replacing: overrides settings.rollout.max_replacing for this run
    canary: int | None = None  # --canary: overrides settings.rollout.canary for this run
    allow_mass_change: bool = False  # --allow-mass-change: the mass-change guard lets this plan through (issue 28)
    discard_drafts: tuple[str, ...] = ()  # --discard-editor-drafts PERSONA: overwrite an editor draft (issue 25)


@dataclass(frozen=True)
class WaitOptions:
    timeout: float = 6 * 3600.0
    poll_interval: float = 30.0
    parallelism: int = 64
    no_wait: bool = False


# ----------------------------------------------------------------------------------------- reading


def inventory(client, config: Config) -> list[RemoteReplica]:
    """User replicas, plus any pinned replica the user listing lacks (a stock replica used as a reference). None
    for a file without ``replicas:`` (it does not manage them: no request, never a prune)."""
    if not config.manages_replicas:
        return []
    remote = client.list_replicas()
    seen = {r.replica_id for r in remote}
    missing = [d.replica_id for d in config.replicas if d.replica_id and d.replica_id not in seen]
    return remote + client.list_replicas(replica_type=None, ids=missing) if missing else remote


def persona_inventory(client, config: Config) -> list | None:
    """User personas (plus pinned ones the listing lacks), or None when the file declares none: a file without
    personas does not manage them and costs no persona request."""
    if not config.personas:
        return None
    found = client.list_personas()
    seen = {p.persona_id for p in found}
    for d in config.personas:
        if d.persona_id and d.persona_id not in seen:
            import contextlib

            from reconciler.errors import NotFoundError

            with contextlib.suppress(NotFoundError):  # the planner reports the missing pin
                found.append(client.get_persona(d.persona_id))
    return found


def inventories(client, config: Config) -> tuple[list[RemoteReplica], list | None]:
    """:func:`inventory` and :func:`persona_inventory`, listed at the same time: a plan waits for its slowest
    listing, not for the sum of them. An error of the replicas' listing wins (as when they ran in turn)."""
    if not config.personas:
        return inventory(client, config), None
    remote, personas = alongside(lambda: inventory(client, config), lambda: persona_inventory(client, config),
                                 name="persona-inventory")
    return remote, personas


def alongside(first, second, *, name: str):
    """(``first()``, ``second()``), ``second`` run in a thread of its own meanwhile: a caller waits for the slower
    of the two, not the sum. An error of ``first`` wins, then one of ``second`` (as when they ran in turn)."""
    import threading

    got: dict[str, object] = {}

    def run() -> None:
        try:
            got["value"] = second()
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread
            got["error"] = e

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        value = first()
    finally:
        thread.join()
    if "error" in got:
        raise got["error"]
    return value, got["value"]


def make_plan(config: Config, remote: Sequence[RemoteReplica], opts: PlanOptions, personas=None,
              objects=None) -> Plan:
    from reconciler.engine.planner import compute_plan

    rollout = config.settings.rollout.with_overrides(max_replacing=opts.max_replacing, canary=opts.canary)
    return compute_plan(config, remote, targets=opts.targets, force_replace=opts.replace, prune=opts.prune,
                        personas=personas, resend=opts.resend, rollout=rollout, discard_drafts=opts.discard_drafts,
                        objects=objects)


def checked_plan(config: Config, remote: Sequence[RemoteReplica], opts: PlanOptions, personas=None,
                 objects=None) -> Plan:
    """The plan with the safety rails (issue 28: prune scope, mass-change guard, policy) applied: what ``plan``
    shows and ``apply`` refuses on, before any write."""
    from reconciler.engine import policy
    from reconciler.workflows.inventory import listings

    return policy.check(config, make_plan(config, remote, opts, personas, objects),
                        listings(remote, personas, objects or {}), prune_flag=opts.prune,
                        allow_mass_change=opts.allow_mass_change)


# ----------------------------------------------------------------------------------------- rollout


def rolling_of(result: Plan, client, remote, created, parallelism: int, console: Console, *, may_start: bool,
             targets: Collection[str] = ()):
    """The rollout of ``result``'s replaces (``reconciler.kinds.replicas.rolling``), or None when it has none."""
    from reconciler.kinds.replicas.rolling import Rolling

    if result.rollout is None or not result.rollout.steps:
        return None
    known = {r.replica_id for r in remote} | set(created.values())
    return Rolling(result, client, known_ids=known, may_start=may_start, emit=console.out, parallelism=parallelism,
                   targets=targets, jitter=rollout_jitter())


def rollout_jitter(environ: Mapping[str, str] | None = None) -> float:
    """Seconds of random wait before each paid start of a rollout (``TAVUS_ROLLOUT_JITTER_SECONDS``, default 3):
    a second run of the same rollout then finds the first one's successor and adopts it (issue 24 #5). Next to
    trainings that take hours it costs nothing."""
    raw = (os.environ if environ is None else environ).get("TAVUS_ROLLOUT_JITTER_SECONDS", "")
    try:
        value = float(raw) if raw.strip() else 3.0
    except ValueError:
        from reconciler.errors import UsageError

        raise UsageError(f"TAVUS_ROLLOUT_JITTER_SECONDS must be a number of seconds, not {raw[:40]!r}") from None
    return min(max(value, 0.0), 60.0)
