"""``wait`` (and the wait that ends ``apply``): the declared replicas train, a rollout is carried on between
polls, and the generic asynchronous kinds' objects (documents) finish processing, in one view with one timeout."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from reconciler.engine.models import Action, Config, Plan
from reconciler.errors import PlanError
from reconciler.exitcodes import ERROR, FAILED, OK, TIMEOUT
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.workflows.common import Console, PlanOptions, WaitOptions, inventory, make_plan, rolling_of
from reconciler.workflows.inventory import object_inventory


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
        rolling = rolling_of(result, client, remote, {}, opts.parallelism, console, may_start=False, targets=targets)
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
    console.out(_heading(ids, object_rows, rolling, opts))
    with stopping_on_signals(stop):
        sleep = reporter.sleep if isinstance(reporter, TtyReporter) else stop.event.wait
        if rolling is not None:
            rolling.stop, rolling.emit = stop.event, reporter.note  # its lines go above the live table
        object_rows.note = reporter.note
        waiter = Waiter(client, reporter, REPLICAS, poll_interval=opts.poll_interval, sleep=sleep, stop=stop.event)
        result = waiter.wait(ids, timeout=opts.timeout, known=known, driver=_driver(rolling, object_rows))
    _say_rollout(rolling, file, console)
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


def _heading(ids, object_rows, rolling, opts: WaitOptions) -> str:
    """``Waiting for ...; timeout ..., polling every ...:``: what the wait covers, within 80 columns."""
    from reconciler.views.progress import duration

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
    return head


def _say_rollout(rolling, file: str, console: Console) -> None:
    """After the wait: the rollout's summary (an error when it halted) and what is left for the next apply."""
    if rolling is None:
        return
    if rolling.runs:
        if rolling.halted:
            console.err(f"error: Rollout: {rolling.summary()}.")
        else:
            console.out(f"Rollout: {rolling.summary()}.")
    if rolling.not_started and not rolling.halted:
        console.out(f"{rolling.not_started} replace(s) not started yet: `tavus-reconciler apply {file}` "
                    "continues the rollout.")


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


def objects_after(result: Plan, report, objects):
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
        console.err(f"error: {t.name} ({t.object_id}) {'failed' if t.phase is Phase.FAILED else 'is gone'}: "
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
