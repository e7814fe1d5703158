"""How the process ends: each typed error mapped to one line on stderr and a documented exit code, the last
flush, and the exit itself (see ``main`` in ``reconciler.cli``)."""

from __future__ import annotations

import os
import sys

import click

from reconciler.cli.console import err
from reconciler.errors import ConfigError, PlanError, ReconcilerError
from reconciler.exitcodes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED

_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


def _config_error(e: ConfigError) -> int:
    for line in e.diagnostics:
        err(line)
    return EXIT_ERROR


def _plan_error(e: PlanError) -> int:
    for line in e.problems:
        err(f"error: {line}")
    return EXIT_ERROR


def _reconciler_error(e: ReconcilerError) -> int:
    err(f"error: {e}")
    return e.exit_code


def _aborted(e: click.exceptions.Abort) -> int:
    err("Interrupted.")
    return EXIT_INTERRUPTED


def _no_args(e) -> int:  # `tavus-reconciler` alone: the help, as click would show it
    click.echo(e.format_message(), err=True)
    return EXIT_ERROR


def _usage_error(e: click.UsageError) -> int:  # one line, like every other error, with where to look
    where = e.ctx.command_path if e.ctx else "tavus-reconciler"
    err(f"error: {e.format_message()} (see `{where} --help`)")
    return EXIT_ERROR


def _click_error(e: click.ClickException) -> int:
    err(f"error: {e.format_message()}")
    return EXIT_ERROR


def _interrupted(e: KeyboardInterrupt) -> int:
    from reconciler.engine.interrupts import Terminated

    err("Interrupted.")
    return EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED


def _broken_pipe(e: BrokenPipeError) -> int:
    silence_stdout()
    return EXIT_ERROR


def _os_error(e: OSError) -> int:  # e.g. stdout to a full disk (/dev/full): one line, on stderr
    silence_stdout()
    where = f" ({e.filename})" if getattr(e, "filename", None) else " (writing the output)"
    err(f"error: {e.strerror or type(e).__name__}{where}")
    return EXIT_ERROR


def _too_large(e: BaseException) -> int:  # resource limits hit by absurd input
    err(f"error: a value is too large to handle ({type(e).__name__}); check the arguments and the file")
    return EXIT_ERROR


# the first type that matches handles the error: the order is the order of the except clauses it replaces
_HANDLERS = (
    (ConfigError, _config_error),
    (PlanError, _plan_error),
    (ReconcilerError, _reconciler_error),
    (click.exceptions.Abort, _aborted),
    (_NO_ARGS, _no_args),
    (click.UsageError, _usage_error),
    (click.ClickException, _click_error),
    (KeyboardInterrupt, _interrupted),
    (BrokenPipeError, _broken_pipe),
    (OSError, _os_error),
    ((OverflowError, RecursionError, MemoryError), _too_large),
)


def exit_code_for(e: BaseException) -> int | None:
    """Say what ``e`` (raised by a command) means in one line and return the exit code; None for a bug under
    TAVUS_DEBUG=1 (the caller re-raises it: the traceback is wanted then)."""
    for kind, handle in _HANDLERS:
        if isinstance(e, kind):
            return handle(e)
    if os.environ.get("TAVUS_DEBUG"):
        return None
    # a bug: say so in one line, keep the traceback for TAVUS_DEBUG=1
    err(f"internal error: {type(e).__name__}: {e} (set TAVUS_DEBUG=1 for details and please report it)")
    return EXIT_ERROR


def flush_stdout(code: int) -> int:
    """Flush stdout: a write that fails only now (a full disk) still gets its one line (and exit code 1)."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    except OSError as e:
        silence_stdout()
        err(f"error: cannot write the output: {e.strerror or type(e).__name__}")
        code = EXIT_ERROR
    return code


def tune_gc() -> None:
    """The objects imported so far live as long as the process: out of the collector's sight (gc.freeze), and
    collections less often while a listing builds 100,000 objects that form no cycles (a 100,000-replica plan:
    about 0.8 s less CPU)."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def exit_now(code: int) -> None:
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


def silence_stdout() -> None:
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
