"""Command-line wiring. Commands parse flags, call the core modules and map outcomes to exit codes.

Exit codes: ``reconciler.exitcodes`` (the README has the table).
Heavy modules are imported inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import re
import sys
import threading

import click

from reconciler import __version__
from reconciler.errors import ConfigError, PlanError, ReconcilerError, UsageError
from reconciler.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED

_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$")


def parse_duration(text: str) -> float:
    """``90`` and ``90s`` are seconds; ``10m``, ``6h``, ``1h30m`` and ``0.5s`` work too."""
    m = _DURATION.match(text or "")
    if not m or not any(m.groups()):
        raise ValueError(f"{text!r} is not a duration (examples: 90, 45s, 10m, 6h)")
    h, mins, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mins * 60 + s


MAX_DURATION = 366 * 24 * 3600.0  # a year: longer is a typo (and overflows clocks and sleeps)


class Duration(click.ParamType):
    name = "DURATION"

    def __init__(self, minimum: float = 0.0, maximum: float = MAX_DURATION):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        try:
            seconds = float(value) if isinstance(value, float | int) else parse_duration(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
        if seconds < self.minimum:
            self.fail(f"{value!r} is too short (at least {self.minimum:g}s)", param, ctx)
        if not seconds <= self.maximum:  # also inf and nan
            self.fail(f"{str(value)[:40]!r} is too long (at most {self.maximum / 86400:g} days)", param, ctx)
        return seconds


DURATION = Duration()
POLL_INTERVAL = Duration(minimum=0.1)  # a zero interval would hammer the API


def err(message: str) -> None:
    """One message to stderr through the redaction choke point; leading/trailing blank lines kept as such."""
    from reconciler.api.redact import escape_control

    body = message.strip("\n")
    lead = message[: len(message) - len(message.lstrip("\n"))]
    tail = message[len(lead) + len(body):]
    click.echo(lead + escape_control(body) + tail, err=True)


def echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, nl=nl)


# ----------------------------------------------------------------------------------------- root


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="tavus-reconciler")
@click.option("--api-url", metavar="URL", help="Tavus API base URL [env TAVUS_API_URL; default https://tavusapi.com].")
@click.option("-v", "--verbose", is_flag=True, help="Log every API request (method, path, status, duration).")
@click.option("--no-color", is_flag=True, help="Never colour output (NO_COLOR is honoured too).")
@click.pass_context
def cli(ctx: click.Context, api_url: str | None, verbose: bool, no_color: bool) -> None:
    """Manage Tavus replicas as code: declare them in a YAML file, plan, apply, wait.

    \b
    Example:
      export TAVUS_API_KEY=...            # never printed, logged or saved
      tavus-reconciler validate replicas.yaml
      tavus-reconciler plan replicas.yaml
      tavus-reconciler apply replicas.yaml

    Try it offline with `tavus-reconciler demo` (a local Tavus simulator).
    API calls are retried on 429/5xx/timeouts with backoff, up to 6 attempts and 120 s per call
    (TAVUS_RETRY_MAX_ATTEMPTS, TAVUS_RETRY_BUDGET_SECONDS), then fail with exit code 1.
    """
    ctx.obj = {"api_url": api_url, "no_color": no_color}
    if ctx.invoked_subcommand in OFFLINE and (api_url is not None or verbose):
        _offline_refusal(ctx.invoked_subcommand, "--api-url" if api_url is not None else "-v/--verbose")
    if verbose:
        _set_verbose()


# commands that make no API request: --api-url and -v would have no effect there, so they are refused
OFFLINE = ("validate", "show", "demo", "simulator")


def _offline_refusal(command: str, option: str):
    what = {"demo": "it runs against its own local simulator", "simulator": "it is the API"}.get(
        command, "it makes no API request")
    raise UsageError(f"{option} has no effect on {command} ({what}): leave it out")


def _set_verbose() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("reconciler").setLevel(logging.DEBUG)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_scrub_record)


def _scrub_record(record) -> bool:
    """Log lines pass the same redaction choke point as every other output (they may quote server text)."""
    from reconciler.api.redact import escape_control

    record.msg, record.args = escape_control(record.getMessage()), ()
    return True


def _global_after(ctx: click.Context, param: click.Parameter, value) -> None:
    """The global options given after the subcommand (``plan FILE --no-color``): same effect as before it."""
    if ctx.obj is None:
        ctx.obj = {"api_url": None, "no_color": False}
    if ctx.info_name in OFFLINE and param.name in ("api_url", "verbose") and value:
        _offline_refusal(ctx.info_name, "--api-url" if param.name == "api_url" else "-v/--verbose")
    if param.name == "api_url" and value is not None:
        ctx.obj["api_url"] = value
    elif param.name == "no_color" and value:
        ctx.obj["no_color"] = True
    elif param.name == "verbose" and value:
        _set_verbose()


def _global_params(offline: bool = False) -> list[click.Option]:
    if offline:  # accepted only to refuse them with a reason (hidden from --help)
        return [click.Option(["--api-url"], metavar="URL", expose_value=False, callback=_global_after, hidden=True),
                click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_global_after,
                             hidden=True),
                click.Option(["--no-color"], is_flag=True, expose_value=False, callback=_global_after,
                             help="Never colour output (also accepted before the command).")]
    return [
        click.Option(["--api-url"], metavar="URL", expose_value=False, callback=_global_after,
                     help="Tavus API base URL (also accepted before the command)."),
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, callback=_global_after,
                     help="Log every API request (also accepted before the command)."),
        click.Option(["--no-color"], is_flag=True, expose_value=False, callback=_global_after,
                     help="Never colour output (also accepted before the command)."),
    ]


def use_color(stream) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except (ValueError, OSError):  # closed stream
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _color(ctx: click.Context, stream=None) -> bool:
    return not ctx.obj["no_color"] and use_color(stream or sys.stdout)


def _client(ctx: click.Context):
    return _client_for(ctx.obj["api_url"])


class _ClientSoon:
    """The API client, built in a thread while the file is read and validated (importing httpx and building its
    TLS context take about as long as reading a large file). Its errors (no API key, a bad URL) are raised by
    :meth:`get`, after the file's own: what a user sees, and in which order, is unchanged."""

    def __init__(self, ctx: click.Context):
        from reconciler.api.redact import register_secret

        # registered here, before the thread starts: the file's warnings are being redacted meanwhile
        register_secret(os.environ.get("TAVUS_API_KEY", "").strip())
        self._api_url = ctx.obj["api_url"]
        self._client = self._error = None
        self._thread = threading.Thread(target=self._build, name="client-init", daemon=True)
        self._thread.start()
        _PENDING.append(self)

    def _build(self) -> None:
        try:
            self._client = _client_for(self._api_url)
        except BaseException as e:  # noqa: BLE001 - raised by get(), in the command's thread
            self._error = e

    def get(self):
        """The client (the caller closes it), or the error building it raised."""
        if self in _PENDING:
            _PENDING.remove(self)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._client

    def discard(self) -> None:
        self._thread.join()
        if self._client is not None:
            self._client.close()


_PENDING: list[_ClientSoon] = []  # built but never taken (the file was refused): main() closes them


def _load_with_client(ctx: click.Context, file: str, policy_file: str | None = None):
    """(config, client): the file loaded while the client is built (see :class:`_ClientSoon`)."""
    soon = _ClientSoon(ctx)
    config = _load(file, policy_file)
    return config, soon.get()


def _client_for(api_url: str | None):
    from reconciler.api.client import TavusClient

    return TavusClient.from_env(api_url=api_url)


def _console(ctx: click.Context):
    """Where workflows print: stdout/stderr through this module's choke points; colour and the live progress
    table decided here, from the flags and the terminal (never by the modules that render)."""
    from reconciler.workflows.workflow import Console

    live = sys.stdout.isatty() and not ctx.obj["no_color"]
    return Console(out=echo, err=err, color=_color(ctx), live=live, stream=sys.stdout)


def _load(path: str, policy_file: str | None = None):
    from reconciler.engine import planfile
    from reconciler.engine.config import load_config

    if planfile.is_planfile(path):
        raise UsageError(f"{path} is a saved plan, not a replicas file: look at it with `tavus-reconciler show "
                         f"{path}` or carry it out with `tavus-reconciler apply {path}`")

    config = load_config(path, policy=_policy_rules(policy_file))
    names = {d.name for d in config.replicas} | {d.name for d in config.personas}
    for w in _merge_warnings(config.warnings, names):
        err(f"warning: {w}")
    return config


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


_LABELLED = re.compile(r"^(.*?:\d+:\d+: )(.+?): (.*)$", re.S)


def _merge_warnings(warnings, names: set[str]) -> list[str]:
    """One line per warning: a value that several entries inherit (a ``defaults:`` line) is warned about once,
    naming the entries, not once per entry ("FILE:L:C: acme-a: ..." for each of five replicas)."""
    merged: dict[tuple[str, str], list[str]] = {}
    for w in warnings:
        m = _LABELLED.match(w)
        key, who = ((m.group(1), m.group(3)), m.group(2)) if m and m.group(2) in names else ((w, ""), "")
        merged.setdefault(key, []).append(who)
    out = []
    for (where, rest), whos in merged.items():
        whos = [w for w in whos if w]
        if len(whos) <= 1:
            out.append(f"{where}{whos[0]}: {rest}" if whos else where)
        else:
            shown = ", ".join(whos[:3]) + (f" and {len(whos) - 3} more" if len(whos) > 3 else "")
            out.append(f"{where}{rest} (for {shown})")
    return out


def _policy_rules(policy_file: str | None) -> tuple:
    """The rules of ``--policy FILE`` (issue 28), or none."""
    if not policy_file:
        return ()
    from reconciler.engine.policy import load_file

    return tuple(load_file(policy_file))


policy_option = click.option("--policy", "policy_file", metavar="FILE", envvar="TAVUS_POLICY_FILE",
                             type=click.Path(dir_okay=False),
                             help="Also enforce the rules of this policy file (the keys of settings.policy); per "
                                  "rule the stricter wins (env: TAVUS_POLICY_FILE).")
allow_mass_change_option = click.option(
    "--allow-mass-change", is_flag=True,
    help="Let a plan delete or replace more than settings.mass_change.max_percent (default 30%) of the managed "
         "replicas or personas (a saved plan records it).")
target_option = click.option("--target", "targets", multiple=True, metavar="NAME",
                             help="Limit the run to this replica or persona (repeatable; an unknown name is an "
                                  "error).")
replace_option = click.option("--replace", "replace", multiple=True, metavar="NAME",
                              help="Recreate (retrain) this declared replica (repeatable).")
prune_option = click.option("--prune", is_flag=True,
                            help="Delete in-scope replicas the file does not declare (like settings.prune).")
resend_option = click.option("--resend", "resend", multiple=True, metavar="PERSONA",
                             help="Also send this declared persona's attributes the API does not return (so they "
                                  "cannot be compared: masked api_keys, fields it omits), as declared (repeatable).")
discard_drafts_option = click.option(
    "--discard-editor-drafts", "discard_drafts", multiple=True, metavar="PERSONA",
    help="Update this declared persona even when someone left unpublished changes in the Tavus editor: they are "
         "discarded (?force=true). This run only (or settings.discard_editor_drafts); repeatable.")
file_argument = click.argument("file", type=click.Path(dir_okay=False))
class Count(click.ParamType):
    """A whole number of at least ``minimum``, with an error that says what to write."""

    name = "N"

    def __init__(self, minimum: int, what: str):
        self.minimum = minimum
        self.what = what

    def convert(self, value, param, ctx):
        try:
            number = value if type(value) is int else int(str(value).strip(), 10)
        except ValueError:
            self.fail(f"must be a whole number of at least {self.minimum} ({self.what}), not {str(value)[:40]!r}",
                      param, ctx)
        if number < self.minimum:
            self.fail(f"must be at least {self.minimum} ({self.what}), not {number}", param, ctx)
        return number


max_replacing_option = click.option(
    "--max-replacing", "max_replacing", type=Count(1, "successors training at once"), metavar="N",
    help="Replaces: at most N successors training at once, this run (overrides settings.rollout.max_replacing; "
         "default 2).")
canary_option = click.option(
    "--canary", "canary", type=Count(0, "replaces that must pass before the others start"), metavar="N",
    help="Replaces: the first N must train and pass verify before any other starts, this run (overrides "
         "settings.rollout.canary; default 1; 0: no canary).")


# ----------------------------------------------------------------------------------------- validate


@cli.command()
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@policy_option
@click.option("--policy-only", is_flag=True,
              help="Print the policy rules in force (who set each) and the result of those that need no account.")
def validate(files: tuple[str, ...], policy_file: str | None = None, policy_only: bool = False) -> int:
    """Check FILEs offline (schema and semantics); every problem as FILE:LINE:COL: message.

    Needs no API key. Unset ${VAR}s are warnings: they are needed only when a replica is created.

    \b
    Example:
      tavus-reconciler validate examples/replicas.yaml
    """
    code = EXIT_OK
    for file in files:
        try:
            config = _load(file, policy_file)
        except ConfigError as e:
            for line in e.diagnostics:
                err(line)
            code = EXIT_ERROR
        else:
            from reconciler.engine.policy import validate_lines

            lines, failed = validate_lines(config, policy_only=policy_only)
            for line in lines:
                (err if line.startswith(("error", "warning")) else echo)(line)
            if failed:
                code = EXIT_ERROR
            elif not policy_only:
                personas = f", {_count(len(config.personas), 'persona')}" if config.personas else ""
                echo(f"{file}: valid ({_count(len(config.replicas), 'replica')}{personas})")
    return code


# ----------------------------------------------------------------------------------------- plan


@cli.command()
@file_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("-o", "--out", "out", metavar="PLANFILE", help="Save the plan for `apply PLANFILE` (mode 0600).")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 2 when the account differs from FILE (changes, or unmanaged replicas in scope), 0 when not.")
@click.option("--ignore-unmanaged", is_flag=True,
              help="With --detailed-exitcode: unmanaged replicas in scope do not count as drift.")
@click.option("--check-urls", is_flag=True,
              help="Also check that the training URLs of replicas to create answer 2xx (exit 1 if not).")
@click.option("--check", "api_check", is_flag=True,
              help="Also ask the API to validate, without saving, every objectives set the plan would create or "
                   "change (a refused one is an error naming it and the API's reason; exit 1).")
@target_option
@replace_option
@prune_option
@resend_option
@max_replacing_option
@canary_option
@allow_mass_change_option
@policy_option
@discard_drafts_option
@click.pass_context
def plan(ctx, file, fmt, out, detailed_exitcode, ignore_unmanaged, check_urls, targets, replace, prune,
         resend, max_replacing, canary, discard_drafts=(), allow_mass_change=False, policy_file=None,
         api_check=False) -> int:
    """Show what apply would change to make the account match FILE.

    \b
    Example:
      tavus-reconciler plan replicas.yaml --format markdown > plan.md
      tavus-reconciler plan replicas.yaml --detailed-exitcode   # CI drift check: 2 = drift
    """
    from reconciler.workflows import workflow

    try:
        config, client = _load_with_client(ctx, file, policy_file)
        with client:
            opts = workflow.PlanOptions(tuple(targets), tuple(replace), prune, tuple(resend),
                                        max_replacing=max_replacing, canary=canary,
                                        allow_mass_change=allow_mass_change,
                                        discard_drafts=tuple(discard_drafts))
            return workflow.plan(config, client, opts,
                                 _console(ctx), file=file, fmt=fmt, out=out, detailed_exitcode=detailed_exitcode,
                                 ignore_unmanaged=ignore_unmanaged, check_urls=check_urls,
                                 check=api_check).exit_code
    except ReconcilerError as e:  # no plan: json/markdown still get a document, with the errors (then stderr)
        if fmt != "text":
            from reconciler.views.render import plan_failure

            echo(plan_failure(_error_lines(e), file=file, fmt=fmt), nl=False)
        raise


def _error_lines(e: ReconcilerError) -> list[str]:
    """The lines main() prints for ``e`` (without their "error: " prefix)."""
    if isinstance(e, ConfigError):
        return list(e.diagnostics)
    if isinstance(e, PlanError):
        return list(e.problems)
    return [str(e)]


# ----------------------------------------------------------------------------------------- apply


def _confirm(result) -> bool:
    from reconciler.engine.models import Action

    try:
        tty = sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()
    except (OSError, ValueError):  # stdin closed (`<&-`) or unusable
        tty = False
    if not tty:
        raise UsageError("refusing to apply without confirmation: no terminal to ask on; "
                         "review the plan and pass --auto-approve")
    deletes = [c.name for c in result.changes if c.action in (Action.DELETE, Action.REPLACE)]
    echo("Do you want to perform these actions?")
    if deletes:
        echo(f"  {len(deletes)} replica(s) will be DELETED: {', '.join(deletes)}")
    return _answered_yes()


@cli.command()
@click.argument("file", metavar="FILE|PLANFILE", type=click.Path(dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation (CI).")
@click.option("--no-wait", is_flag=True, help="Return once changes are made; do not wait for training.")
@click.option("--timeout", type=DURATION, default="6h", show_default=True, help="How long to wait for training.")
@click.option("--poll-interval", type=POLL_INTERVAL, default="30s", show_default=True, help="How often to poll.")
@click.option("--parallelism", type=click.IntRange(1, 64), default=64, show_default=True,
              help="The most creates/renames/deletes run at once: the ceiling of an adaptive limit that starts "
                   "at 8, grows while the API answers fast and backs off on 429/5xx.")
@target_option
@replace_option
@prune_option
@resend_option
@max_replacing_option
@canary_option
@click.option("--check-urls/--no-check-urls", "check_urls", default=True, show_default=True,
              help="Check that the training URLs of replicas to create answer 2xx before creating.")
@click.option("--skip-url-check", is_flag=True, hidden=True)  # 0.1.0's spelling of --no-check-urls
@allow_mass_change_option
@policy_option
@discard_drafts_option
@click.pass_context
def apply(ctx, file, auto_approve, no_wait, timeout, poll_interval, parallelism, targets, replace, prune,
          resend, max_replacing, canary, check_urls, skip_url_check, discard_drafts=(), allow_mass_change=False,
          policy_file=None) -> int:
    """Make the account match FILE (or a saved PLANFILE), then wait until every replica is trained.

    Order: renames, then creates, then deletes. A replace is blue/green: the old replica keeps serving
    until its successor has finished training. A saved plan is applied without asking again, and refused
    (nothing done) if anything differs from when it was made. Safe to re-run: nothing is created twice.
    Ctrl-C / SIGTERM: no new request starts; exit 130 / 143 with what was done.

    \b
    Example:
      tavus-reconciler apply replicas.yaml
      tavus-reconciler apply replicas.yaml --auto-approve --timeout 8h     # CI
      tavus-reconciler plan replicas.yaml --out release.plan && tavus-reconciler apply release.plan
    """
    from reconciler.engine import planfile
    from reconciler.engine.config import parse_config
    from reconciler.workflows import workflow

    soon = _ClientSoon(ctx)
    saved = None
    if planfile.is_planfile(file):
        if targets or replace or prune or resend or discard_drafts:
            raise UsageError("--target, --replace, --prune, --resend and --discard-editor-drafts cannot be used "
                             "with a saved plan: they were fixed when the plan was made")
        saved = planfile.read(file)
        from reconciler.engine.policy import saved_rules

        # the --policy FILE rules the plan was made with hold again (or, given now, this file's)
        config = parse_config(saved.source, saved.file,
                              policy=_policy_rules(policy_file) or saved_rules(saved.document))
        allow_mass_change = allow_mass_change or saved.allow_mass_change  # recorded when the plan was made
        targets, replace, prune, resend = saved.targets, saved.replace, saved.prune, saved.resend
        discard_drafts = saved.discard_drafts
        # --max-replacing / --canary given now must agree with the saved plan's rollout: the exactness check
        # (planfile.differences) refuses the plan when the rollout they make differs
        max_replacing = saved.max_replacing if max_replacing is None else max_replacing
        canary = saved.canary if canary is None else canary
        shown = saved.file
        auto_approve = True  # like Terraform: the review happened at plan time; what runs is checked by workflow
    else:
        config = _load(file, policy_file)
        shown = file
    opts = workflow.PlanOptions(tuple(targets), tuple(replace), prune, tuple(resend), max_replacing=max_replacing,
                                canary=canary, allow_mass_change=allow_mass_change,
                                discard_drafts=tuple(discard_drafts))
    wait_opts = workflow.WaitOptions(timeout=timeout, poll_interval=poll_interval, parallelism=parallelism,
                                     no_wait=no_wait)
    with soon.get() as client:
        return workflow.apply(config, client, opts, wait_opts, _console(ctx), shown=shown, saved=saved, file=file,
                              confirm=None if auto_approve else _confirm,
                              skip_url_check=skip_url_check or not check_urls).exit_code


# ----------------------------------------------------------------------------------------- show


@cli.command()
@click.argument("planfile", metavar="PLANFILE", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.pass_context
def show(ctx, planfile, fmt) -> int:
    """Show a plan saved with `plan --out PLANFILE` (offline: no API key needed).

    JSON is the saved plan document (like `plan --format json`) with the options it was made with.

    \b
    Example:
      tavus-reconciler plan replicas.yaml --out release.plan && tavus-reconciler show release.plan
    """
    import json

    from reconciler.engine import planfile as planfiles
    from reconciler.views import render
    from reconciler.workflows.show import plan_from_document

    if not planfiles.is_planfile(planfile):
        import os.path

        what = "no such file" if not os.path.exists(planfile) else "not a saved plan (make one with `plan --out`)"
        raise UsageError(f"{planfile}: {what}")
    saved = planfiles.read(planfile)
    try:
        result = plan_from_document(saved.document)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"{planfile}: the saved plan cannot be read by this version ({e})") from None
    if fmt == "json":
        doc = {**saved.document, "options": planfiles.options(saved)}
        echo(render._json_safe(json.dumps(doc, indent=2, ensure_ascii=False)) + "\n", nl=False)
    elif fmt == "markdown":
        echo(render.plan_markdown(result, file=saved.file), nl=False)
    else:
        echo(render.plan_text(result, file=saved.file, color=_color(ctx)), nl=False)
        made_with = [f"--target {t}" for t in saved.targets] + [f"--replace {r}" for r in saved.replace]
        made_with += [f"--resend {r}" for r in saved.resend]
        made_with += [f"--discard-editor-drafts {r}" for r in saved.discard_drafts]
        if saved.prune:
            made_with.append("--prune")
        if saved.allow_mass_change:
            made_with.append("--allow-mass-change")
        made_with += [f"--{k.replace('_', '-')} {v}" for k, v in (("max_replacing", saved.max_replacing),
                                                                 ("canary", saved.canary)) if v is not None]
        if made_with:
            from reconciler.api.redact import escape_control

            echo()
            echo(escape_control(f"Made with: {' '.join(made_with)}"))
        echo(f"\nSaved plan {planfile}: carry it out with `tavus-reconciler apply {planfile}` (refused if the "
             "account changed since).")
    return EXIT_OK


# ----------------------------------------------------------------------------------------- wait


def _interval(seconds: float) -> str:
    from reconciler.workflows.workflow import interval

    return interval(seconds)


@cli.command(name="wait")
@file_argument
@click.option("--timeout", type=DURATION, default="6h", show_default=True, help="How long to wait.")
@click.option("--poll-interval", type=POLL_INTERVAL, default="30s", show_default=True, help="How often to poll.")
@target_option
@click.pass_context
def wait_command(ctx, file, timeout, poll_interval, targets) -> int:
    """Wait until every replica declared in FILE has finished training (resumable).

    Exit 0 all ready, 3 one failed (after the others finish), 4 timed out, 130 interrupted.

    \b
    Example:
      tavus-reconciler wait replicas.yaml --timeout 8h --poll-interval 1m
    """
    from reconciler.workflows import workflow

    config, client = _load_with_client(ctx, file)
    with client:
        return workflow.wait(config, client, workflow.WaitOptions(timeout=timeout, poll_interval=poll_interval),
                             _console(ctx), file=file, targets=tuple(targets)).exit_code


# ----------------------------------------------------------------------------------------- status


@cli.command()
@file_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def status(ctx, file, fmt) -> int:
    """Show the declared replicas (and unmanaged ones in scope) with their training status.

    \b
    Example:
      tavus-reconciler status replicas.yaml --format json | jq -r '.replicas[] | select(.phase != "ready") | .name'
    """
    from reconciler.workflows import workflow

    config, client = _load_with_client(ctx, file)
    with client:
        return workflow.status(config, client, _console(ctx), fmt=fmt).exit_code


# ----------------------------------------------------------------------------------------- export, output


@cli.command()
@click.option("-o", "--out", "output_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write here (default stdout).")
@click.option("--output", "output_alias", type=click.Path(dir_okay=False), hidden=True)  # 0.1.0's spelling
@click.option("--name-prefix", metavar="P", help="Export only replicas whose name starts with P; sets the scope.")
@click.option("--include-system", is_flag=True, help="Also export Tavus stock replicas (as read-only references).")
@click.pass_context
def export(ctx, output_file, output_alias, name_prefix, include_system) -> int:
    """Write a replicas file that adopts the account's existing replicas (pinned by replica_id).

    `plan` on the exported file shows no changes, so you can start managing a hand-made account as code
    without risk. Replicas sharing a name are exported once (the newest), the others as comments.

    \b
    Example:
      tavus-reconciler export --name-prefix acme- -o replicas.yaml && tavus-reconciler plan replicas.yaml
    """
    from reconciler.workflows import workflow

    output_file = output_file or output_alias
    with _client(ctx) as client:
        return workflow.export(client, _console(ctx), output_file=output_file, name_prefix=name_prefix,
                               include_system=include_system, version=__version__,
                               schema_ref=_schema_ref(output_file)).exit_code


def _schema_ref(output_file: str | None) -> dict:
    """The $schema an exported file points at: a path relative to it when it is written inside this tool's
    own checkout (the schema is next to it, and follows it), else the published URL (export.SCHEMA_URL)."""
    import importlib.resources
    from pathlib import Path

    if not output_file:
        return {}
    schema = importlib.resources.files("reconciler.schemas").joinpath("replicas.schema.json")
    if not isinstance(schema, Path) or not schema.is_file():
        return {}
    root, out_dir = schema.resolve().parent.parent, Path(output_file).resolve().parent
    if out_dir != root and root not in out_dir.parents:
        return {}
    return {"schema_ref": os.path.relpath(schema.resolve(), out_dir)}


@cli.command()
@file_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json", "env"]), default="text", show_default=True)
@click.option("--allow-partial", is_flag=True,
              help="Print the ready replicas and exit 0 even when some declared ones are not ready.")
@click.pass_context
def output(ctx, file, fmt, allow_partial) -> int:
    """Print the name -> replica_id map of the declared replicas that are ready.

    Applications that start conversations (POST /v2/conversations with a replica_id) resolve ids by
    stable name instead of hard-coding them. When a declared replica is missing, failed, still training or
    ambiguous, nothing is printed and the exit code is 1 (each one named on stderr); --allow-partial
    prints the ready ones instead and exits 0.

    \b
    Example:
      tavus-reconciler output replicas.yaml --format env >> "$GITHUB_ENV"   # TAVUS_REPLICA_ACME_ANNA=r...
      tavus-reconciler output replicas.yaml --format json | jq -r '."acme-anna"'
    """
    from reconciler.workflows import workflow

    config, client = _load_with_client(ctx, file)
    with client:
        return workflow.output(config, client, _console(ctx), fmt=fmt, allow_partial=allow_partial).exit_code


@cli.command()
@file_argument
@click.option("--target", "targets", multiple=True, metavar="PERSONA",
              help="Check only this declared persona (repeatable).")
@click.pass_context
def smoke(ctx, file, targets) -> int:
    """Check that Tavus accepts each declared persona with its replica: one test_mode conversation each.

    Test-mode conversations are created already ended, never joined and, per the Tavus docs, free. One line
    per persona; exit 1 when any is rejected or not created yet.

    \b
    Example:
      tavus-reconciler smoke replicas.yaml --target acme-interviewer
    """
    from reconciler.workflows import workflow

    config = _load(file)
    with _client(ctx) as client:
        return workflow.smoke(config, client, _console(ctx), targets=tuple(targets)).exit_code


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.argument("name", required=False)
@click.option("-y", "--yes", is_flag=True, help="Start it without asking (scripts); a terminal is asked first.")
@click.option("--end", "end_id", metavar="CONVERSATION_ID",
              help="End this conversation (it is billed until it ends) instead of starting one.")
@policy_option
@click.pass_context
def converse(ctx, file, name, yes, end_id, policy_file=None) -> int:
    """Start a real (billed) conversation with the declared persona or replica NAME and print its
    conversation_url; `--end CONVERSATION_ID` ends one.

    \b
    Example:
      tavus-reconciler converse replicas.yaml acme-interviewer
      tavus-reconciler converse --end c0123456789
    """
    from reconciler.workflows import workflow

    if end_id is not None:
        if file or name:
            raise UsageError("--end takes only the conversation id: `tavus-reconciler converse --end "
                             "CONVERSATION_ID`")
        with _client(ctx) as client:
            return workflow.end_conversation(client, _console(ctx), end_id).exit_code
    if not file or not name:
        raise UsageError("converse needs FILE and NAME (`tavus-reconciler converse replicas.yaml NAME`), or "
                         "--end CONVERSATION_ID")
    config = _load(file, policy_file)
    _refuse_billable(config)  # issue 28: policy no_billable_conversation, before any request
    with _client(ctx) as client:
        return workflow.converse(config, client, _console(ctx), name=name,
                                 confirm=None if yes else _confirm_conversation).exit_code


def _answered_yes() -> bool:
    """Terraform's approval prompt, after the question: only 'yes' approves (no terminal answer: no)."""
    echo("  Only 'yes' will be accepted to approve.")
    try:
        answer = input("\n  Enter a value: ")
    except (EOFError, OSError, ValueError):
        answer = ""
    return answer.strip() == "yes"


def _confirm_conversation(name: str) -> bool:
    if not _stdin_is_a_terminal():
        raise UsageError(f"refusing to start a billed conversation with {name} without confirmation: no terminal "
                         "to ask on; pass --yes")
    echo(f"Start a real conversation with {name}? It is billed until it ends "
         "(`tavus-reconciler converse --end CONVERSATION_ID`).")
    return _answered_yes()


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()
    except (OSError, ValueError):  # stdin closed (`<&-`) or unusable
        return False


def _refuse_billable(config) -> None:
    from reconciler.engine.policy import converse_refusal

    errors, warnings = converse_refusal(config, os.environ)
    for w in warnings:
        err(f"warning: {w}")
    if errors:
        raise PlanError(errors + ["refusing to start the conversation; nothing was sent"])


# ----------------------------------------------------------------------------------------- simulator, demo


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True, help="0 picks a free port.")
@click.option("--train-seconds", type=float, default=60.0, show_default=True, help="How long training takes.")
@click.option("--finetune-seconds", type=float, default=0.0, show_default=True,
              help="How long a phoenix-4.5 replica stays a watermarked preview after training (its fine-tune).")
@click.option("--api-key", default="sim-key", show_default=True, help="The key clients must send.")
@click.option("--seed", "seed", type=click.Path(exists=True, dir_okay=False),
              help="JSON or YAML list of replicas to start with.")
@click.option("--page-size", type=int, default=100, show_default=True, help="Largest page the server returns.")
@click.option("--fault-rate-limit", type=float, default=0.0, help="Share of API requests answered 429.")
@click.option("--rate-limit-rps", type=float, default=0.0,
              help="Allow N API requests/s (token bucket); the others get 429 with Retry-After.")
@click.option("--fault-server-error", type=float, default=0.0, help="Share of API requests answered 5xx.")
@click.option("--fault-latency", type=float, default=0.0, help="Seconds added to every API request.")
@click.option("--fault-drop-create", type=float, default=0.0,
              help="Share of creates performed but answered with a dropped connection.")
def simulator(host, port, train_seconds, finetune_seconds, api_key, seed, page_size, fault_rate_limit,
              rate_limit_rps, fault_server_error, fault_latency, fault_drop_create) -> int:
    """Run a local Tavus API simulator (for trying the tool and for CI tests).

    Serves /v2/replicas like the real API, with training that progresses over --train-seconds, a
    training failure for URLs containing "fail", fake media under /media/NAME, and fault injection
    (also at run time: POST /_sim/faults). Control endpoints: GET /_sim/requests.

    \b
    Example:
      tavus-reconciler simulator --port 8080 --train-seconds 30 &
      TAVUS_API_URL=http://127.0.0.1:8080 TAVUS_API_KEY=sim-key tavus-reconciler plan replicas.yaml
    """
    from reconciler.sim.simulator import serve_forever

    faults = {"rate_limit": fault_rate_limit, "rate_limit_rps": rate_limit_rps, "server_error": fault_server_error,
              "latency": fault_latency, "drop_create_response": fault_drop_create}
    serve_forever(host=host, port=port, train_seconds=train_seconds, api_key=api_key, seed_file=seed,
                  max_page_size=page_size, faults={k: v for k, v in faults.items() if v},
                  finetune_seconds=finetune_seconds)
    return EXIT_OK


def _example(name: str) -> str:
    """The text of an example shipped inside the package (``examples/`` in the repository)."""
    import importlib.resources

    return importlib.resources.files("reconciler.examples").joinpath(name).read_text(encoding="utf-8")


def _demo_edit(file: str, cwd: str | None, tmp: str) -> tuple[str, str] | None:
    """The demo's second act: a copy of ``file`` in the scratch folder ``tmp`` whose first persona has one more
    line in its system prompt (inline in the copy; other prompt files referenced by absolute path), so plan
    shows an update in place and apply sends one PATCH. -> (persona name, the copy's name in ``tmp``), or None
    when the file declares no persona. The file and its prompt files are only read, never changed."""
    import yaml

    base = os.path.dirname(os.path.join(cwd or os.getcwd(), file))
    try:
        with open(os.path.join(cwd or "", file), encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        personas = doc.get("personas") if isinstance(doc, dict) else None
        if not isinstance(personas, list) or not personas or not all(isinstance(p, dict) for p in personas):
            return None
        for p in personas:
            if isinstance(p.get("system_prompt_file"), str):
                p["system_prompt_file"] = os.path.abspath(os.path.join(base, p["system_prompt_file"]))
        first = personas[0]
        if isinstance(first.get("system_prompt_file"), str):
            with open(first.pop("system_prompt_file"), encoding="utf-8") as f:
                first["system_prompt"] = f.read()
        line = "- Keep every answer under two minutes."
        if isinstance(first.get("system_prompt"), str):
            first["system_prompt"] = first["system_prompt"].rstrip("\n") + "\n" + line + "\n"
        else:  # pipeline_mode: echo, no prompt: the context changes instead
            first["context"] = f"{first.get('context') or ''} {line}".strip()
        copy = os.path.splitext(os.path.basename(file))[0] + ".edited.yaml"
        with open(os.path.join(tmp, copy), "x", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, TypeError):
        return None  # the plan of the file itself has already said what is wrong with it
    return str(first.get("name")), copy


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False), required=False)
@click.option("--train-seconds", type=float, default=12.0, show_default=True, help="Simulated training time.")
def demo(file, train_seconds) -> int:
    """Run plan, apply and status of FILE against a built-in local Tavus simulator.

    When FILE declares personas, the first one is then edited in a copy (one more prompt line) and plan and
    apply run on the copy: an update in place, sent as one PATCH. FILE itself is never changed.
    Without FILE, the example replicas file shipped with the tool is used (works from any directory).
    Nothing leaves this machine: the simulator listens on 127.0.0.1 and trains in seconds.

    \b
    Example:
      tavus-reconciler demo
      tavus-reconciler demo examples/replicas.yaml
    """
    import subprocess
    import tempfile

    import yaml

    from reconciler.sim.simulator import Simulator

    seed = yaml.safe_load(_example("simulator-seed.yaml"))
    with tempfile.TemporaryDirectory(prefix="tavus-demo-") as tmp, \
            Simulator(train_seconds=train_seconds, seed=seed) as sim:
        cwd = None
        if file is None:  # the packaged example, under its usual name in a scratch directory
            file, cwd = "replicas.yaml", tmp
            with open(os.path.join(tmp, file), "w", encoding="utf-8") as f:
                f.write(_example("replicas.yaml"))
            os.mkdir(os.path.join(tmp, "prompts"))  # the example's system_prompt_file
            with open(os.path.join(tmp, "prompts", "interviewer.md"), "w", encoding="utf-8") as f:
                f.write(_example("prompts/interviewer.md"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
        env.update(TAVUS_API_URL=sim.url, TAVUS_API_KEY="sim-key", VIDEO_BASE_URL=f"{sim.url}/media",
                   ANNA_TRAIN_URL=sim.video_url("anna-train.mp4") + "?X-Amz-Signature=demo-secret-signature")
        echo(f"A local Tavus simulator is running at {sim.url}\n(training takes {train_seconds:g}s here, "
             "hours on Tavus).\n")
        steps = [("plan", file), ("apply", file, "--auto-approve", "--poll-interval", "1s")]
        edited = _demo_edit(file, cwd, tmp)  # then a persona edited in a copy: plan shows the update, apply PATCHes
        if edited is not None:
            name, copy = edited
            steps += [f"# edit persona {name} in a copy ({copy}):\n$ # one line added to its system prompt",
                      ("plan", copy), ("apply", copy, "--auto-approve", "--poll-interval", "1s")]
        steps.append(("status", file))
        for args in steps:
            if isinstance(args, str):
                echo(click.style(f"$ {args}", bold=True) + "\n")
                continue
            echo(click.style(f"$ tavus-reconciler {' '.join(args)}", bold=True))
            on_copy = edited is not None and args[1] == edited[1]  # the copy lives in the scratch folder
            code = subprocess.call([sys.executable, "-m", "reconciler", *args], env=env, cwd=tmp if on_copy else cwd)
            echo()
            if code != 0:
                err(f"demo: `tavus-reconciler {' '.join(args)}` exited {code}")
                return code
    echo("Demo complete. Next: point TAVUS_API_KEY at your account and run\n`tavus-reconciler plan` on your file.")
    return EXIT_OK


# ----------------------------------------------------------------------------------------- entry point


for _name, _command in cli.commands.items():  # global options work after the subcommand too
    _command.params.extend(_global_params(offline=_name in OFFLINE))


_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one clear line per error and a documented exit code, never a traceback."""
    import signal

    from reconciler.engine.interrupts import Terminated, raise_terminated

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, raise_terminated)  # exit 143 with a message, never a silent -15
    if argv is None:  # the console entry point (the process is ours, not a library user's)
        _tune_gc()
    try:
        code = cli.main(args=argv, prog_name="tavus-reconciler", standalone_mode=False)
    except ConfigError as e:
        for line in e.diagnostics:
            err(line)
        code = EXIT_ERROR
    except PlanError as e:
        for line in e.problems:
            err(f"error: {line}")
        code = EXIT_ERROR
    except ReconcilerError as e:
        err(f"error: {e}")
        code = e.exit_code
    except click.exceptions.Abort:
        err("Interrupted.")
        code = EXIT_INTERRUPTED
    except _NO_ARGS as e:  # `tavus-reconciler` alone: the help, as click would show it
        click.echo(e.format_message(), err=True)
        code = EXIT_ERROR
    except click.UsageError as e:  # one line, like every other error, with where to look
        where = e.ctx.command_path if e.ctx else "tavus-reconciler"
        err(f"error: {e.format_message()} (see `{where} --help`)")
        code = EXIT_ERROR
    except click.ClickException as e:
        err(f"error: {e.format_message()}")
        code = EXIT_ERROR
    except KeyboardInterrupt as e:
        err("Interrupted.")
        code = EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        code = EXIT_ERROR
    except OSError as e:  # e.g. stdout to a full disk (/dev/full): one line, on stderr
        _silence_stdout()
        where = f" ({e.filename})" if getattr(e, "filename", None) else " (writing the output)"
        err(f"error: {e.strerror or type(e).__name__}{where}")
        code = EXIT_ERROR
    except (OverflowError, RecursionError, MemoryError) as e:  # resource limits hit by absurd input
        err(f"error: a value is too large to handle ({type(e).__name__}); check the arguments and the file")
        code = EXIT_ERROR
    except Exception as e:  # a bug: say so in one line, keep the traceback for TAVUS_DEBUG=1
        if os.environ.get("TAVUS_DEBUG"):
            raise
        err(f"internal error: {type(e).__name__}: {e} (set TAVUS_DEBUG=1 for details and please report it)")
        code = EXIT_ERROR
    try:
        if sys.stdout is not None:
            sys.stdout.flush()  # a write that fails only now (a full disk) still gets its one line
    except BrokenPipeError:
        _silence_stdout()
    except OSError as e:
        _silence_stdout()
        err(f"error: cannot write the output: {e.strerror or type(e).__name__}")
        code = EXIT_ERROR
    code = code if isinstance(code, int) else EXIT_OK
    if argv is None and threading.current_thread() is threading.main_thread() and "coverage" not in sys.modules:
        _exit_now(code)  # the console entry point: nothing after the last line but the exit itself
    while _PENDING:  # in-process use: a client built for a command that never took it (its file was refused)
        _PENDING.pop().discard()
    sys.exit(code)


def _tune_gc() -> None:
    """The objects imported so far live as long as the process: out of the collector's sight (gc.freeze), and
    collections less often while a listing builds 100,000 objects that form no cycles (a 100,000-replica plan:
    about 0.8 s less CPU)."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _exit_now(code: int) -> None:
    """End the process with ``code`` once stdout and stderr are flushed, without tearing down what the process
    is about to lose anyway (the interpreter's final garbage collection of a large plan took ~0.1 s). Under
    coverage the normal exit runs instead, so its data is saved."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more can be said there
            pass
    os._exit(code)


def _silence_stdout() -> None:
    """After a failed write, point stdout at /dev/null so the interpreter's final flush cannot fail again
    (it would print "Exception ignored ..." and change the exit code)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except (OSError, ValueError):
        pass
    import contextlib

    with contextlib.suppress(OSError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit
