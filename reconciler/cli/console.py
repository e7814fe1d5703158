"""Where commands print: stdout/stderr through one redaction choke point, colour, the workflows' Console and
Terraform's approval prompt."""

from __future__ import annotations

import os
import sys

import click


def err(message: str) -> None:
    """One message to stderr through the redaction choke point; leading/trailing blank lines kept as such."""
    from reconciler.api.redact import escape_control

    body = message.strip("\n")
    lead = message[: len(message) - len(message.lstrip("\n"))]
    tail = message[len(lead) + len(body):]
    click.echo(lead + escape_control(body) + tail, err=True)


def echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, nl=nl)


def use_color(stream) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except (ValueError, OSError):  # closed stream
        tty = False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def color(ctx: click.Context, stream=None) -> bool:
    return not ctx.obj["no_color"] and use_color(stream or sys.stdout)


def console(ctx: click.Context):
    """Where workflows print: stdout/stderr through this module's choke points; colour and the live progress
    table decided here, from the flags and the terminal (never by the modules that render)."""
    from reconciler.workflows.workflow import Console

    live = sys.stdout.isatty() and not ctx.obj["no_color"]
    return Console(out=echo, err=err, color=color(ctx), live=live, stream=sys.stdout)


def answered_yes() -> bool:
    """Terraform's approval prompt, after the question: only 'yes' approves (no terminal answer: no)."""
    echo("  Only 'yes' will be accepted to approve.")
    try:
        answer = input("\n  Enter a value: ")
    except (EOFError, OSError, ValueError):
        answer = ""
    return answer.strip() == "yes"


def stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()
    except (OSError, ValueError):  # stdin closed (`<&-`) or unusable
        return False

