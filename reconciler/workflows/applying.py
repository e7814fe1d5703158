"""``apply``: plan, check (a saved plan must still be exactly what would run), confirm, execute, then wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.engine.models import Action, Config, Plan
from reconciler.errors import PlanError
from reconciler.exitcodes import ERROR, OK
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.workflows.common import Console, Outcome, PlanOptions, WaitOptions, checked_plan, make_plan, rolling_of
from reconciler.workflows.inventory import all_inventories, known_ids, listings
from reconciler.workflows.waiting import objects_after, wait


def same_changes(a: Plan, b: Plan) -> bool:
    return [(c.action, c.name, c.object_id) for c in a.changes] == [(c.action, c.name, c.object_id)
                                                                    for c in b.changes]


def _preflight(result: Plan, skip_url_check: bool, console: Console) -> None:
    """Before any write: every ${VAR} a create needs is set, and (unless skipped) its URLs answer."""
    from reconciler.workflows.preflight import missing_variables, unreachable_urls

    creating = [c.desired for c in result.changes if c.desired is not None and c.successor_id is None]
    problems = missing_variables(creating)
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
        _check_saved(saved, config, listings(remote, personas, objects), result, client, console, shown=shown,
                     file=file)
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
    rolling = rolling_of(result, client, remote, created, wait_opts.parallelism, console, may_start=True)
    held = report is not None and bool(report.failed) and not report.blocking  # editor drafts: exit 1 at the end
    if wait_opts.no_wait:
        code = finish_without_waiting(client, rolling, remote, shown, console)
        return Outcome(ERROR if held and code == OK else code, plan=result, report=report)
    waited = wait(config, client, wait_opts, console, file=shown, targets=opts.targets, remote=remote,
                  created=created, rolling=rolling, objects=objects_after(result, report, objects))
    if held:
        console.err(f"error: {len(report.failed)} persona update(s) were held back by unpublished changes in the "
                    "Tavus editor (see above); everything else was applied")
    code = waited.exit_code
    return Outcome(ERROR if held and code == OK else code, plan=result, report=report, waited=waited.waited)



def _check_saved(saved, config: Config, listed, result: Plan, client, console: Console, *, shown: str,
                 file: str | None) -> None:
    """A saved plan runs only if it is still exactly what would run now (account, plan, inputs)."""
    from reconciler.engine import planfile
    from reconciler.views import render

    differences = planfile.differences(saved, config, listed, render.plan_document(result, file=shown),
                                       client.base_url, account=getattr(client, "account", None))
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
                                   f"{' (' + c.object_id + ')' if c.object_id else ''}: {why}"))
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



def finish_without_waiting(client, rolling, remote, file: str, console: Console) -> int:
    """``apply --no-wait``: one step of the rollout: finish the replaces whose successor already trained (verify,
    swap), start what the rollout allows now, and leave the rest for the next apply (or ``wait``)."""
    from reconciler.engine.interrupts import Stop, stopping_on_signals

    if rolling is None:
        return OK
    by_id = {r.replica_id: r for r in remote}
    for row in rolling.rows:  # the successors in flight, as just listed (the waiter's first poll, without a wait)
        if not row.done and row.object_id in by_id:
            REPLICAS.take(row, by_id[row.object_id])
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
