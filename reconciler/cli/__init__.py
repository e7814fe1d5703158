"""Command-line wiring. Commands parse flags, call the workflows and map outcomes to exit codes.

The group, its global options (also accepted after the command) and ``main``, the console entry point; one
module per command group: plan (validate, plan, show), apply (apply, wait), inspect (status, output,
export), converse (smoke, converse), sim (simulator, demo). Shared: options (option types and shared
options), console (printing, colour, prompts), loading (the file and the API client), exits (errors to one
line and an exit code). Exit codes: ``reconciler.exitcodes`` (the README has the table).
Heavy modules are imported inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
import threading

import click

from reconciler import __version__
from reconciler.cli import apply, converse, exits, inspect, plan, sim
from reconciler.cli.console import echo, err, use_color
from reconciler.cli.loading import PENDING
from reconciler.cli.options import parse_duration
from reconciler.errors import UsageError
from reconciler.exitcodes import EXIT_OK

__all__ = ["cli", "echo", "err", "main", "parse_duration", "use_color"]

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


for _command in (plan.validate, plan.plan, apply.apply, plan.show, apply.wait_command, inspect.status,
                 inspect.export, inspect.output, converse.smoke, converse.converse, sim.simulator, sim.demo):
    cli.add_command(_command)
for _name, _command in cli.commands.items():  # global options work after the subcommand too
    _command.params.extend(_global_params(offline=_name in OFFLINE))


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one clear line per error and a documented exit code, never a traceback."""
    import signal

    from reconciler.engine.interrupts import raise_terminated

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, raise_terminated)  # exit 143 with a message, never a silent -15
    if argv is None:  # the console entry point (the process is ours, not a library user's)
        exits.tune_gc()
    try:
        code = cli.main(args=argv, prog_name="tavus-reconciler", standalone_mode=False)
    except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - each mapped to one line and an exit code
        code = exits.exit_code_for(e)
        if code is None:  # a bug under TAVUS_DEBUG=1: the traceback
            raise
    code = exits.flush_stdout(code)
    code = code if isinstance(code, int) else EXIT_OK
    if argv is None and threading.current_thread() is threading.main_thread() and "coverage" not in sys.modules:
        exits.exit_now(code)  # the console entry point: nothing after the last line but the exit itself
    while PENDING:  # in-process use: a client built for a command that never took it (its file was refused)
        PENDING.pop().discard()
    sys.exit(code)
