"""The commands' orchestration, without the command line: plan, apply, wait, status, output.

Each function takes what the CLI parsed (a loaded config, a client, options) and a ``Console`` (where to
print, and whether to colour / draw live progress: the CLI decides that, from its flags and the terminal),
and returns an ``Outcome`` carrying its exit code (``reconciler.exitcodes``), like pre-commit's commands
return an int and black's ``Report.return_code``. Errors that stop a command before it changed anything
are raised (``PlanError``/``UsageError``: one line each, exit 1, mapped by ``cli.main``); everything after
the first change is reported, never raised, so the account of what was done is always printed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from reconciler.engine.models import Action, Config, Plan
from reconciler.errors import PlanError
from reconciler.exitcodes import CHANGES, ERROR, FAILED, OK, TIMEOUT
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.workflows.inventory import all_inventories, known_ids, object_inventory


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
    import threading

    got: dict[str, object] = {}

    def personas() -> None:
        try:
            got["personas"] = persona_inventory(client, config)
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread
            got["error"] = e

    thread = threading.Thread(target=personas, name="persona-inventory", daemon=True)
    thread.start()
    try:
        remote = inventory(client, config)
    finally:
        thread.join()
    if "error" in got:
        raise got["error"]
    return remote, got["personas"]


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

    return policy.check(config, make_plan(config, remote, opts, personas, objects), remote, personas,
                        prune_flag=opts.prune, allow_mass_change=opts.allow_mass_change, objects=objects)


# ----------------------------------------------------------------------------------------- plan


def plan(config: Config, client, opts: PlanOptions, console: Console, *, file: str, fmt: str = "text",
         out: str | None = None, detailed_exitcode: bool = False, ignore_unmanaged: bool = False,
         check_urls: bool = False, check: bool = False) -> Outcome:
    from reconciler.engine import planfile
    from reconciler.views import render

    remote, personas, objects = all_inventories(client, config)
    result = checked_plan(config, remote, opts, personas, objects)
    if check:  # plan --check: the API validates what the plan would create or change (nothing saved)
        from reconciler.engine.plancheck import checked

        result = checked(result, client)
    if fmt == "json":
        console.out(render.plan_json(result, file=file), nl=False)
    elif fmt == "markdown":
        console.out(render.plan_markdown(result, file=file), nl=False)
    else:
        console.out(render.plan_text(result, file=file, color=console.color), nl=False)
    if result.errors:
        console.err(f"error: the plan has {len(result.errors)} error(s); it cannot be applied")
        return Outcome(ERROR, plan=result)
    if result.missing_vars:  # like Terraform's missing variable: a plan apply would refuse is an error
        from reconciler.api.redact import escape_control

        names = ", ".join(f"${{{v}}}" for v in result.missing_vars)
        console.err(escape_control(f"error: the plan needs {names}, not set: apply would refuse it; set "
                                   f"{'it' if len(result.missing_vars) == 1 else 'them'} and plan again"
                                   + (" (nothing was saved)" if out else "")))
        return Outcome(ERROR, plan=result)
    if check_urls:
        from reconciler.workflows.preflight import unreachable_urls

        problems = unreachable_urls([c.desired for c in result.changes if c.desired is not None])
        for p in problems:
            console.err(f"error: {p}")
        if problems:
            console.err(f"error: {len(problems)} training URL(s) do not answer: apply would refuse them; "
                        "fix the URLs (or their ${VAR}s) and plan again")
            return Outcome(ERROR, plan=result)
    if out:
        planfile.write(out, planfile.SavedPlan(
            file=file, source=config.source, targets=tuple(opts.targets), replace=tuple(opts.replace),
            prune=opts.prune, max_replacing=opts.max_replacing, canary=opts.canary, resend=tuple(opts.resend),
            allow_mass_change=opts.allow_mass_change and bool(result.safety and result.safety.mass),
            discard_drafts=tuple(opts.discard_drafts), fingerprint=planfile.fingerprint(config, remote, personas),
            document=render.plan_document(result, file=file), inputs=planfile.inputs_hash(config, client.base_url),
            account=getattr(client, "account", "")))
        console.err(f"Saved the plan to {out}: apply it with `tavus-reconciler apply {out}`")
    drift = result.has_changes or (bool(result.unmanaged) and not ignore_unmanaged)
    return Outcome(CHANGES if detailed_exitcode and drift else OK, plan=result, saved_to=out)


# ----------------------------------------------------------------------------------------- apply


def same_changes(a: Plan, b: Plan) -> bool:
    return [(c.action, c.name, c.replica_id) for c in a.changes] == [(c.action, c.name, c.replica_id)
                                                                    for c in b.changes]


def _preflight(result: Plan, skip_url_check: bool, console: Console) -> None:
    """Before any write: every ${VAR} a create needs is set, and (unless skipped) its URLs answer."""
    from reconciler.workflows.preflight import missing_variables, unreachable_urls

    creating = [c.desired for c in result.changes if c.desired is not None and c.successor_id is None]
    problems = missing_variables(creating)
    problems += [f"persona {c.name}: ${{{v}}} is not set" for c in result.changes
                 if c.persona is not None for v in c.persona.missing_vars]
    if not skip_url_check:
        problems += unreachable_urls(creating)
    if problems:
        for p in problems:
            console.err(f"error: {p}")
        raise PlanError([f"preflight failed ({len(problems)} problem(s)); nothing was changed"])


def apply(config: Config, client, opts: PlanOptions, wait_opts: WaitOptions, console: Console, *, shown: str,
          saved=None, file: str | None = None, confirm: Callable[[Plan], bool] | None = None,
          skip_url_check: bool = False) -> Outcome:
    """Plan, check, (confirm), execute, then wait for training. ``saved``: a SavedPlan to carry out exactly
    (refused if anything differs); ``confirm``: asks the user, None when approved in advance."""
    from reconciler.views import render

    remote, personas, objects = all_inventories(client, config)
    listed_at = time.monotonic()
    result = checked_plan(config, remote, opts, personas, objects)
    if saved is not None:
        _check_saved(saved, config, remote, result, client, console, shown=shown, file=file, personas=personas)
    console.out(render.plan_text(result, file=shown, color=console.color), nl=False)
    if result.errors:
        from reconciler.engine.policy import mass_change_line

        mass = [mass_change_line(m, result.safety.mass_settings) for m in result.safety.mass] \
            if result.safety is not None and result.safety.mass_refused else []
        raise PlanError(mass + [f"refusing to apply: the plan has {len(result.errors)} error(s); nothing was changed"])
    report = None
    if result.has_changes:
        _preflight(result, skip_url_check, console)
        if confirm is not None:
            if not confirm(result):
                console.err("Apply cancelled; nothing was changed.")
                return Outcome(ERROR, plan=result)
            if time.monotonic() - listed_at > 2:
                remote, personas, objects = all_inventories(client, config)
                if not same_changes(make_plan(config, remote, opts, personas, objects), result):
                    raise PlanError(["the replicas on the account changed while you were confirming; "
                                     "nothing was changed; run apply again to see the new plan"])
        if any(c.action is not Action.REPLACE or c.kind != "replicas" for c in result.changes):
            report, code = _execute(result, client, remote, wait_opts.parallelism, console, shown=shown,
                                    known_persona_ids={p.persona_id for p in personas or ()},
                                    known_objects=known_ids(objects))
            held = code == ERROR and not report.blocking  # only editor drafts (issue 25): the rest goes on
            if code != OK and not held:
                return Outcome(code, plan=result, report=report)
    created = report.created if report else {}
    gone = report.deleted if report else set()
    remote = [r for r in remote if r.replica_id not in gone]
    rolling = _rolling(result, client, remote, created, wait_opts.parallelism, console, may_start=True)
    held = report is not None and bool(report.failed) and not report.blocking  # editor drafts: exit 1 at the end
    if wait_opts.no_wait:
        code = finish_without_waiting(client, rolling, remote, shown, console)
        return Outcome(ERROR if held and code == OK else code, plan=result, report=report)
    waited = wait(config, client, wait_opts, console, file=shown, targets=opts.targets, remote=remote,
                  created=created, rolling=rolling, objects=_objects_after(result, report, objects))
    if held:
        console.err(f"error: {len(report.failed)} persona update(s) were held back by unpublished changes in the "
                    "Tavus editor (see above); everything else was applied")
    code = waited.exit_code
    return Outcome(ERROR if held and code == OK else code, plan=result, report=report, waited=waited.waited)


def _rolling(result: Plan, client, remote, created, parallelism: int, console: Console, *, may_start: bool,
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


def _check_saved(saved, config: Config, remote, result: Plan, client, console: Console, *, shown: str,
                 file: str | None, personas=None) -> None:
    """A saved plan runs only if it is still exactly what would run now (account, plan, inputs)."""
    from reconciler.engine import planfile
    from reconciler.views import render

    differences = planfile.differences(saved, config, remote, render.plan_document(result, file=shown),
                                       client.base_url, personas, account=getattr(client, "account", None))
    if differences:
        raise PlanError([f"{file}: the saved plan is stale: {d}" for d in differences]
                        + ["refusing to apply it: nothing was changed; run plan again"])
    console.out(f"Applying the saved plan {file} (reviewed when it was made); it still matches the account, "
                "the file and the environment.\n")


def _execute(result: Plan, client, remote, parallelism: int, console: Console, *, shown: str,
             known_persona_ids=(), known_objects=None):
    """Make the changes, stoppable by Ctrl-C/SIGTERM, and say what was done: (report, exit code)."""
    from reconciler.engine.executor import execute
    from reconciler.engine.interrupts import Stop, stopping_on_signals

    console.out("\nApplying:")
    stop = Stop()
    with stopping_on_signals(stop):
        report = execute(result, client, known_ids={r.replica_id for r in remote}, parallelism=parallelism,
                         stop=stop.event, known_persona_ids=known_persona_ids, known_objects=known_objects)
    print_report(report, shown, console, stop)
    if report.interrupted:
        return report, stop.exit_code
    return report, OK if report.ok else ERROR


def print_report(report, file: str, console: Console, stop=None) -> None:
    """What an apply did: one line when all went well, else every change done, failed and not done."""
    from reconciler.api.redact import escape_control

    if report.ok:
        counts: dict[str, int] = {}
        for o in report.outcomes:
            counts[o.change.action.value] = counts.get(o.change.action.value, 0) + 1
        done = ", ".join(f"{n} {a}" for a, n in counts.items()) or "nothing to do"
        console.out(f"\nApply complete: {done}.")
        return
    head = f"interrupted ({stop.what}): no new request was started" if report.interrupted and stop else \
        "interrupted" if report.interrupted else "FAILED"
    if not report.interrupted and not report.skipped and not report.blocking:  # only editor drafts (issue 25)
        console.err("\nApply incomplete: every change was made except the persona update(s) held back by "
                    "unpublished changes in the Tavus editor:")
        for o in report.failed:
            console.err(escape_control(f"  HELD   {o.change.action.value} {o.change.name}: {o.detail}"))
        return
    console.err("\n" + f"Apply {head}. The account is partly changed; this is exactly what happened:")
    for o in report.outcomes:
        console.err(f"  {'done  ' if o.ok else 'FAILED'} {o.change.action.value} {o.change.name}: {o.detail}")
    for c, why in report.skipped:
        console.err(escape_control(f"  not done {c.action.value} {c.name}"
                                   f"{' (' + c.replica_id + ')' if c.replica_id else ''}: {why}"))
    if report.unknown:
        names = ", ".join(o.change.name for o in report.unknown)
        console.err(f"{len(report.unknown)} create(s) have an UNKNOWN outcome ({names}): the answer was lost and the "
                    "account could not confirm it; they were not sent again. The next apply adopts them if they "
                    "were made.")
    if report.interrupted:
        console.err(f"Resume with `tavus-reconciler apply {file}`: it picks up where this run stopped, nothing is "
                    "created twice.")
    else:
        console.err(f"Fix the cause and run `tavus-reconciler apply {file}` again: it picks up where this run "
                    "stopped.")


# ----------------------------------------------------------------------------------------- wait


def finish_without_waiting(client, rolling, remote, file: str, console: Console) -> int:
    """``apply --no-wait``: one step of the rollout: finish the replaces whose successor already trained (verify,
    swap), start what the rollout allows now, and leave the rest for the next apply (or ``wait``)."""
    from reconciler.engine.interrupts import Stop, stopping_on_signals

    if rolling is None:
        return OK
    by_id = {r.replica_id: r for r in remote}
    for row in rolling.rows:  # the successors in flight, as just listed (the waiter's first poll, without a wait)
        if not row.done and row.replica_id in by_id:
            row.seen(by_id[row.replica_id])
    stop = Stop()
    rolling.stop = stop.event
    with stopping_on_signals(stop):
        rolling.tick()
    console.out(f"Rollout: {rolling.summary()}.")
    if rolling.count("training"):
        console.out(f"Successors in flight keep training; `tavus-reconciler apply {file}` (or wait) carries the "
                    "rollout on: it verifies and swaps them in, then starts the next.")
    if stop.event.is_set():
        return stop.exit_code
    return rolling.halt_code if rolling.halted else OK


def wait_targets(config: Config, remote: Sequence[RemoteReplica], *, file: str, targets: Collection[str] = (),
                 created: Mapping[str, str] | None = None, replacing: Collection[str] = ()) -> dict[str, str]:
    """replica_id -> declared name of what to wait for: a just-created id, else the one remote replica the
    resolver finds; names in ``replacing`` are the rollout's (it tracks their successors itself). Raises
    PlanError when one is ambiguous or absent."""
    from reconciler.kinds.replicas.resolve import Found, resolve

    created = created or {}
    ids: dict[str, str] = {}
    absent, ambiguous = [], []
    for name, res in resolve(config, remote).items():
        if (targets and name not in targets) or name in replacing:
            continue
        if name in created:
            ids[created[name]] = name
        elif res.found is Found.ONE:
            ids[res.matches[0].replica_id] = name
        elif res.found is Found.AMBIGUOUS:
            ambiguous.append(f"{name} ({res.ids})")
        else:
            absent.append(name)
    if ambiguous:
        raise PlanError([f"cannot tell which replica to wait for: {'; '.join(ambiguous)}"])
    if absent:
        raise PlanError([f"not created yet: {', '.join(absent)}; run `tavus-reconciler apply {file}`"])
    return ids


@dataclass(frozen=True)
class _Waited:
    exit_code: int
    waited: object | None = None


def interval(seconds: float) -> str:
    """A poll interval as the user gave it: ``0.5s`` stays ``0.5s`` (duration() would round it to 0s)."""
    from reconciler.views.progress import duration

    return f"{seconds:g}s" if seconds < 60 and seconds != int(seconds) else duration(seconds)


def wait(config: Config, client, opts: WaitOptions, console: Console, *, file: str, targets: Collection[str] = (),
         remote: Sequence[RemoteReplica] | None = None, created: Mapping[str, str] | None = None,
         rolling=None, objects=None) -> _Waited:
    """Wait for the declared replicas (or ``targets``) to train, carrying the rollout on between polls
    (``apply``'s may start successors; ``wait FILE``'s only verifies and swaps those in flight), and for the
    objects of the other asynchronous kinds (documents) in the same view: ``objects`` = (what apply created,
    the inventory it listed); ``wait FILE`` lists them here."""
    from reconciler.engine.interrupts import Stop, stopping_on_signals
    from reconciler.engine.waiter import Waiter
    from reconciler.views.progress import LineReporter, TtyReporter, duration

    removed = 0
    if remote is None:  # `wait FILE`: read the account, and the replaces in flight, here
        remote = inventory(client, config)
        result = make_plan(config, remote, PlanOptions(targets=tuple(targets)))
        unknown = [e for e in result.errors if e.startswith("--target ")]
        if unknown:  # a typo would wait for nothing and exit 0
            raise PlanError(unknown)
        removed = _remove_failed_successors(result, client, opts.parallelism, console)
        rolling = _rolling(result, client, remote, {}, opts.parallelism, console, may_start=False, targets=targets)
    replacing = {r.step.name for r in rolling.runs} if rolling is not None else set()
    ids = wait_targets(config, remote, file=file, targets=targets, created=created, replacing=replacing)
    object_rows = _object_rows(config, client, objects, targets, console)
    if not ids and not replacing and not object_rows.rows:
        console.out("Nothing to wait for.")
        return _Waited(FAILED if removed else OK)
    known = {r.replica_id: r for r in remote}
    from reconciler.engine.status import Phase

    if not replacing and not removed and not object_rows.rows and all(
            i in known and known[i].phase is Phase.READY for i in ids):
        console.out(f"\nAll {len(ids)} replica(s) are ready: nothing to wait for.")  # e.g. a persona-only apply
        return _Waited(OK)
    # a rollout with replaces still to start continues with apply (wait never starts a successor)
    verb = "apply" if rolling is not None and rolling.may_start and rolling.runs else "wait"
    resume = f"tavus-reconciler {verb} {file}" + "".join(f" --target {t}" for t in targets)
    stop = Stop()
    reporter = TtyReporter(console.stream, sleep=stop.event.wait) if console.live else LineReporter(console.stream)
    what = [f"{len(ids)} replica(s) to finish training"] if ids else []
    if object_rows.rows:  # documents... (issue 27); with replicas too, short enough for 80 columns
        what = [f"{len(ids)} replica(s) and {object_rows.what()}"] if ids else [
            f"{object_rows.what()} to finish processing"]
    if rolling is not None and rolling.runs:
        s = rolling.settings
        what.append(f"{len(rolling.runs)} replace(s) to roll out (at most {s.max_replacing} training at once, "
                    f"canary {s.canary}, verify {s.verify})")
    head = (f"\nWaiting for {' and '.join(what)}; timeout {duration(opts.timeout)}, polling every "
            f"{interval(opts.poll_interval)}:")
    if object_rows.rows and len(head) > 81:  # replicas and documents: one line each, within 80 columns
        head = "\nWaiting for " + "\n  and ".join(what) + (f";\n  timeout {duration(opts.timeout)}, polling every "
                                                         f"{interval(opts.poll_interval)}:")
    console.out(head)
    with stopping_on_signals(stop):
        sleep = reporter.sleep if isinstance(reporter, TtyReporter) else stop.event.wait
        if rolling is not None:
            rolling.stop, rolling.emit = stop.event, reporter.note  # its lines go above the live table
        object_rows.note = reporter.note
        waiter = Waiter(client, reporter, poll_interval=opts.poll_interval, sleep=sleep, stop=stop.event)
        result = waiter.wait(ids, timeout=opts.timeout, known=known, driver=_driver(rolling, object_rows))
    if rolling is not None and rolling.runs:
        if rolling.halted:
            console.err(f"error: Rollout: {rolling.summary()}.")
        else:
            console.out(f"Rollout: {rolling.summary()}.")
    if rolling is not None and rolling.not_started and not rolling.halted:
        console.out(f"{rolling.not_started} replace(s) not started yet: `tavus-reconciler apply {file}` "
                    "continues the rollout.")
    if result.interrupted:
        rows = {id(r) for r in rolling.rows} if rolling is not None else set()
        states = ", ".join(f"{t.name} {t.status}" for t in result.tracked if id(t) not in rows)
        console.out()
        console.err(f"Interrupted ({stop.what}) after {duration(result.elapsed)}: no new request was started. "
                    + (f"Replicas: {states}. " if states else "")
                    + "They keep training on Tavus (a replace in flight keeps its old replica serving); resume "
                    f"with: {resume}")
        return _Waited(stop.exit_code, result)
    code = _wait_verdict(result, rolling, len(result.tracked), resume, console)
    return _Waited(FAILED if removed and code in (OK, ERROR) else code, result)


def _object_rows(config: Config, client, objects, targets: Collection[str], console: Console):
    """The waiter's rows for the generic asynchronous kinds (issue 27: documents): what apply created and what
    the account shows still processing (``objects`` None: ``wait FILE``, listed here)."""
    from reconciler.engine.planner import generic_kinds
    from reconciler.engine.readiness import ObjectRows
    from reconciler.engine.readiness import targets as object_targets

    created, listed = objects if objects is not None else ({}, None)
    if listed is None:
        listed = object_inventory(client, config)
    wanted = (lambda name: name in targets) if targets else (lambda name: True)
    items = object_targets(generic_kinds(), created, config.objects, listed, wanted)
    return ObjectRows(client, items, warn=lambda m: console.err(f"warning: {m}"), note=console.out)


def _objects_after(result: Plan, report, objects):
    """(what apply created, the inventory to wait on): listed again when a replace started a successor."""
    created = report.created_objects if report else {}
    if any(c.action is Action.REPLACE and c.kind != "replicas" and c.kind != "personas" for c in result.changes):
        return created, None
    return created, objects


def _driver(rolling, rows):
    """What the waiter drives between polls: the rollout, the object rows, or both."""
    from reconciler.engine.readiness import Both

    if not rows.rows:
        return rolling
    return rows if rolling is None else Both(rolling, rows)


def _remove_failed_successors(result: Plan, client, parallelism: int, console: Console) -> int:
    """``wait FILE``: a replace whose successor failed training is over: remove the successor (it never served;
    the old replica keeps the name), as apply would. Returns how many failed (the wait then exits 3)."""
    from reconciler.kinds.replicas.replaces import finish_replaces, in_flight

    failed = [i for i in in_flight(result) if i.phase == "failed"]
    if failed:
        finish_replaces(failed, {}, client, parallelism=parallelism, emit=console.out)
    return len(failed)


def _counted(tracked, count: int) -> str:
    """``4 replica(s)``, or ``1 replica(s) and 2 document(s)`` when other kinds' objects were waited for."""
    others: dict[str, int] = {}
    for t in tracked:
        if t.polled_by_driver:
            noun = t.name.split(" ", 1)[0]
            others[noun] = others.get(noun, 0) + 1
    replicas = count - sum(others.values())
    parts = ([f"{replicas} replica(s)"] if replicas or not others else []) + [f"{n} {k}(s)" for k, n in others.items()]
    return " and ".join(parts)


def _wait_verdict(result, rolling, count: int, resume: str, console: Console) -> int:
    """Say how the wait ended; the exit code: 0 all ready, 3 one failed or vanished (or the rollout halted),
    4 timed out, 1 an error."""
    from reconciler.engine.status import Phase
    from reconciler.engine.waiter import GONE
    from reconciler.views.progress import duration

    for t in result.having(Phase.FAILED, GONE):
        console.err(f"error: {t.name} ({t.replica_id}) {'failed' if t.phase is Phase.FAILED else 'is gone'}: "
                    f"{t.error_message or 'no error message'}")
    pending = result.having(Phase.PENDING, Phase.PREVIEW)
    code = result.exit_code
    if rolling is not None and rolling.halted:
        code = FAILED if FAILED in (code, rolling.halt_code) else rolling.halt_code
    elif rolling is not None and rolling.may_start and rolling.count("waiting") and code == OK:
        code = TIMEOUT if result.timed_out else ERROR  # stopped before the rollout could start them
    if code == OK:
        console.out(f"All {_counted(result.tracked, count)} are ready ({duration(result.elapsed)}).")
    elif pending:
        def left(t) -> str:
            if t.phase is not Phase.PREVIEW:
                return f"{t.progress or 0:.0f}%"
            return "preview, watermarked: fine-tune " + ("running" if t.progress is None else f"{t.progress:.0f}%")

        still = ", ".join(f"{t.name} ({left(t)})" for t in pending)
        console.err(f"{'Timed out' if result.timed_out else 'Stopped'} after {duration(result.elapsed)}; still "
                    f"{'processing' if all(t.polled_by_driver for t in pending) else 'training'}: {still}. Resume "
                    f"with: {resume}")
    return code


# ----------------------------------------------------------------------------------------- status, output


def status(config: Config, client, console: Console, *, fmt: str = "text") -> Outcome:
    from reconciler.engine.planner import generic_kinds
    from reconciler.kinds.replicas.resolve import status_rows
    from reconciler.views import render
    from reconciler.workflows import objects_io

    remote, personas, objects = all_inventories(client, config)
    rows = status_rows(config, remote)
    prows = persona_status_rows(config, personas) if personas is not None else []
    rollout = rollout_status(config, remote, personas, rows)
    orows = objects_io.status_rows(config, generic_kinds(), objects)
    if fmt == "json":
        console.out(render.status_json(rows, prows, orows), nl=False)
    else:
        console.out(render.status_text(rows, color=console.color, rollout=rollout), nl=False)
        if prows:
            from reconciler.api.redact import escape_control, redact_text

            console.out("\nPERSONAS")
            for r in prows:
                where = r["persona_id"] or "absent" if r["managed"] else f"{r['persona_id']} (unmanaged)"
                replica = f"  default_replica_id {r['default_replica_id']}" if r["default_replica_id"] else ""
                console.out(escape_control(redact_text(f"  {r['name']}  {where}{replica}") or ""))
        console.out(objects_io.status_text(orows, generic_kinds()), nl=False)
    return Outcome(OK)


def rollout_status(config: Config, remote: Sequence[RemoteReplica], personas, rows: list[dict]) -> str | None:
    """The rollout's progress (issue 19), from the pure planner on the account just listed: a ``rollout`` field
    on the rows of each replica a replace is under way or due for, and the summary line (None: no replace)."""
    from reconciler.views import rollout_view

    result = make_plan(config, remote, PlanOptions(), personas)
    if result.rollout is None:
        return None
    fields = rollout_view.status_fields(result.rollout)
    for row in rows:
        if row.get("managed") and row.get("replica_id") in fields:
            row["rollout"] = fields[row["replica_id"]]
    return rollout_view.progress(result.rollout, rollout_view.failed_successors(result.changes)).summary


def persona_status_rows(config: Config, personas) -> list[dict]:
    """Status rows of kind persona: each declared persona (one per match), then the unmanaged in scope."""
    from reconciler.kinds.personas.resolve import match_personas, undeclared_personas

    matched = match_personas(config, personas)
    rows = []
    for d in config.personas:
        found = matched.get(d.name, ())
        rows += [{"kind": "persona", "name": d.name, "persona_id": p.persona_id, "phase": "present",
                  "default_replica_id": p.default_replica_id, "managed": True} for p in found] or [
            {"kind": "persona", "name": d.name, "persona_id": None, "phase": "absent", "default_replica_id": None,
             "managed": True}]
    unmanaged, _released = undeclared_personas(config, personas, matched)
    rows += [{"kind": "persona", "name": p.name, "persona_id": p.persona_id, "phase": "present",
              "default_replica_id": p.default_replica_id, "managed": False} for p in unmanaged]
    return rows


def _object_outputs(config: Config, listed):
    """name -> (noun, id) of the generic kinds' ready objects (documents...), and notes on the others."""
    from reconciler.engine.planner import generic_kinds
    from reconciler.workflows import objects_io

    if not config.objects:
        return {}, []
    return objects_io.ready_ids(config, generic_kinds(), listed)


def output(config: Config, client, console: Console, *, fmt: str = "text", allow_partial: bool = False) -> Outcome:
    from reconciler.errors import UsageError
    from reconciler.kinds.replicas.resolve import ready_outputs
    from reconciler.workflows.export import format_outputs

    remote, personas, objects = all_inventories(client, config)
    ready, notes = ready_outputs(config, remote)
    persona_ids: dict[str, str] = {}
    if personas is not None:
        from reconciler.kinds.personas.resolve import persona_outputs

        persona_ids, persona_notes = persona_outputs(config, personas)
        notes += persona_notes
    objects, object_notes = _object_outputs(config, objects)
    notes += object_notes
    if notes and not allow_partial:
        for note in notes:
            console.err(f"error: {note}")
        raise UsageError(f"{len(notes)} declared replica(s) have no ready replica_id, so nothing was printed; "
                         "run `tavus-reconciler wait` first, or pass --allow-partial to print the ready ones")
    for note in notes:
        console.err(f"note: {note}")
    try:
        if fmt == "env":
            from reconciler.workflows.export import env_name

            text = format_outputs(ready, fmt) + "".join(
                f"{env_name(n).replace('TAVUS_REPLICA_', 'TAVUS_PERSONA_', 1)}={persona_ids[n]}\n"
                for n in sorted(persona_ids)) + "".join(
                f"{env_name(n).replace('TAVUS_REPLICA_', env_name(noun).replace('REPLICA_', '', 1) + '_', 1)}={oid}\n"
                for n, (noun, oid) in sorted(objects.items()))
        else:  # a persona shares the map; one named like a replica is listed as persona:NAME
            both = {**ready, **{(f"persona:{n}" if n in ready else n): pid for n, pid in persona_ids.items()}}
            text = format_outputs({**both, **{(f"{noun}:{n}" if n in both else n): oid
                                              for n, (noun, oid) in objects.items()}}, fmt)
        console.out(text, nl=False)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return Outcome(OK)


# ----------------------------------------------------------------------------------------- export


def export(client, console: Console, *, output_file: str | None, name_prefix: str | None, include_system: bool,
           version: str, schema_ref: Mapping[str, str]) -> Outcome:
    """Write a replicas file adopting the account's replicas: to ``output_file`` (never overwritten) or stdout."""
    from datetime import UTC, datetime

    from reconciler.api.redact import redact_url
    from reconciler.engine.planner import generic_kinds
    from reconciler.errors import UsageError
    from reconciler.workflows.export import export_yaml

    remote = client.list_replicas(replica_type=None if include_system else "user")
    personas = client.list_personas()  # user personas: stock ones are never exported
    kinds = [k for k in generic_kinds() if getattr(k, "export_entry", None) is not None]
    listed = {k.key: k.list(client) for k in kinds}  # every kind export adopts (documents, ...)
    source = redact_url(client.base_url)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text, warnings = export_yaml(remote, source=source, when=when, version=version, name_prefix=name_prefix,
                                 include_system=include_system, personas=personas, objects=(kinds, listed),
                                 **schema_ref)
    for w in warnings:
        console.err(f"warning: {w}")
    if not output_file:
        console.out(text, nl=False)
        return Outcome(OK)
    try:
        # 0600 (issue 24 #6): an export names every replica and persona of the account, prompts included
        with os.fdopen(os.open(output_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(f"{output_file} exists: not overwriting it (remove it or choose another name)") from None
    except OSError as e:
        raise UsageError(f"{output_file}: cannot write: {e.strerror}") from None
    import yaml

    exported = yaml.safe_load(text)
    also = f" and {len(exported['personas'])} persona(s)" if exported.get("personas") else ""
    also += "".join(f" and {len(exported[k.key])} {k.noun}(s)" for k in kinds if exported.get(k.key))
    console.err(f"Exported {len(exported['replicas'])} replica(s){also} to {output_file}")
    return Outcome(OK)


# ----------------------------------------------------------------------------------------- smoke


def smoke(config: Config, client, console: Console, *, targets: Collection[str] = ()) -> Outcome:
    """For each declared persona (or ``targets``): a ``test_mode`` conversation (created already ended, never
    joined, free per the docs) proves the API accepts the persona with its replica. One line per persona;
    exit 1 when any is rejected or does not exist."""
    from reconciler.api.redact import escape_control, redact_text
    from reconciler.errors import ReconcilerError, UsageError
    from reconciler.kinds.personas.resolve import match_personas

    chosen = [d for d in config.personas if not targets or d.name in targets]
    unknown = sorted(set(targets) - {d.name for d in config.personas})
    if unknown:
        raise UsageError(f"--target {', '.join(unknown)}: no persona of that name is declared in {config.path}")
    if not chosen:
        raise UsageError(f"{config.path} declares no personas: nothing to check")
    matched = match_personas(config, client.list_personas())
    failed = 0
    unready = _unready_replicas(client, [p.default_replica_id for d in chosen
                                         for p in matched.get(d.name, ())[:1] if p.default_replica_id])
    from reconciler.kinds.personas.wiring import attachments  # issue 27: everything each persona is wired to

    wired = attachments(client, [p.document for d in chosen for p in matched.get(d.name, ())[:1]])
    for d in chosen:
        found = matched.get(d.name, ())
        if len(found) != 1:
            failed += 1
            why = "not created yet (run apply)" if not found else \
                f"ambiguous ({', '.join(p.persona_id for p in found)})"
            console.out(escape_control(f"  FAILED {d.name}: {why}"))
            continue
        p = found[0]
        problems, attached = wired(p.document)
        if problems:
            failed += 1
            console.out(escape_control(redact_text(f"  FAILED {d.name} ({p.persona_id}): {'; '.join(problems)}")
                                       or ""))
            continue
        if p.default_replica_id in unready:  # a preview would be accepted, but it is watermarked (issue 25)
            failed += 1
            console.out(escape_control(f"  FAILED {d.name} ({p.persona_id}): {unready[p.default_replica_id]}"))
            continue
        try:
            conv = client.create_conversation(persona_id=p.persona_id, test_mode=True,
                                              name=f"tavus-reconciler smoke {d.name}")
            notes = conv.notes() if hasattr(conv, "notes") else ""
            with_ = f", with {attached}" if attached else ""
            console.out(escape_control(f"  ok     {d.name} ({p.persona_id}, replica {p.default_replica_id or '-'}"
                                       f"{with_}): accepted (test conversation {conv.conversation_id})"))
            if notes:  # issue 24: a conversation this check left behind, or may have, is never silent
                console.err(escape_control(redact_text(f"warning: {d.name}: {notes}") or ""))
        except ReconcilerError as e:
            failed += 1
            console.out(escape_control(redact_text(f"  FAILED {d.name} ({p.persona_id}): rejected: {e}") or ""))
    if failed:
        console.err(f"error: {failed} of {len(chosen)} persona(s) failed the smoke test")
        return Outcome(ERROR)
    console.out(f"All {len(chosen)} persona(s) accepted.")
    return Outcome(OK)


def _unready_replicas(client, replica_ids: Collection[str]) -> dict[str, str]:
    """replica_id -> why it is not ready for a conversation, for the replicas among ``replica_ids`` that are
    still training, a watermarked preview (issue 25) or failed. One listing (ids filter); ids it does not
    return are left to the API to judge (a stock replica, one just deleted)."""
    from reconciler.kinds.replicas.kind import REPLICAS

    ids = sorted(set(replica_ids))
    return {r.replica_id: REPLICAS.not_ready(r) for r in (REPLICAS.list(client, ids=ids) if ids else ())
            if REPLICAS.not_ready(r)}


def converse(config: Config, client, console: Console, *, name: str,
             confirm: Callable[[str], bool] | None = None) -> Outcome:
    """Start a REAL conversation with a declared persona (its default replica) or replica, by declared name, and
    print its conversation_url (step 3 of the Tavus training guide). A persona wins when both share the name.
    Never retried on a lost answer (a second live conversation would be joined and billed)."""
    from reconciler.errors import UsageError
    from reconciler.kinds.personas.resolve import match_personas
    from reconciler.kinds.replicas.resolve import Found, resolve

    persona_id = replica_id = uses = None
    if any(d.name == name for d in config.personas):
        found = match_personas(config, client.list_personas()).get(name, ())
        if len(found) != 1:
            raise UsageError(f"persona {name}: {'not created yet (run apply)' if not found else 'ambiguous'}")
        persona_id, uses = found[0].persona_id, found[0].default_replica_id
    elif name in config.by_name():
        res = resolve(config, inventory(client, config))[name]
        if res.found is not Found.ONE:
            raise UsageError(f"replica {name}: {'not created yet (run apply)' if not res.matches else 'ambiguous'}")
        replica_id = res.matches[0].replica_id
    else:
        raise UsageError(f"{name}: no persona or replica of that name is declared in {config.path}")
    unready = _unready_replicas(client, [i for i in (replica_id or uses,) if i])
    if unready:
        raise UsageError(f"{name}: {next(iter(unready.values()))}; run `tavus-reconciler wait {config.path}` first")
    if confirm is not None and not confirm(name):
        console.err("Cancelled; no conversation was started.")
        return Outcome(ERROR)
    conv = client.create_conversation(persona_id=persona_id, replica_id=replica_id,
                                      name=f"tavus-reconciler {name}")
    console.err(f"Started conversation {conv.conversation_id} with {name} (status {conv.status or 'unknown'}); "
                f"it runs (and is billed) until it ends: `tavus-reconciler converse --end {conv.conversation_id}`")
    url = conversation_url(conv.conversation_url)
    if url is None:
        console.err("error: the API's answer has no usable conversation_url (not an http(s) URL)")
        return Outcome(ERROR)
    console.out(url)
    return Outcome(OK)


def conversation_url(url: str | None) -> str | None:
    """The conversation_url the server sent, safe to print raw (it is the one output meant to be opened, so
    its query is kept): control, bidi and invisible characters removed, an echoed API key masked; None when
    what is left is not an http(s) URL."""
    import re

    from reconciler.api.redact import CONTROL_CHARS, INVISIBLE_CHARS, has_secret, redact_text

    url = INVISIBLE_CHARS.sub("", CONTROL_CHARS.sub("", url or "")).strip()
    if has_secret(url):
        url = redact_text(url) or ""
    return url if re.fullmatch(r"https?://[^\s\"'<>`]+", url) else None


def end_conversation(client, console: Console, conversation_id: str) -> Outcome:
    """``converse --end ID``: the documented POST /v2/conversations/{id}/end (billing stops)."""
    from reconciler.api.redact import escape_control

    client.end_conversation(conversation_id)
    console.out(escape_control(f"Ended conversation {conversation_id}."))
    return Outcome(OK)
