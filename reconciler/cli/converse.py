"""smoke, converse: conversations with the declared personas (test-mode ones, and real billed ones)."""

from __future__ import annotations

import os

import click

from reconciler.cli.console import answered_yes, console, echo, err, stdin_is_a_terminal
from reconciler.cli.loading import api_client, load
from reconciler.cli.options import file_argument, policy_option
from reconciler.errors import PlanError, UsageError


@click.command()
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

    config = load(file)
    with api_client(ctx) as client:
        return workflow.smoke(config, client, console(ctx), targets=tuple(targets)).exit_code


@click.command()
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
        with api_client(ctx) as client:
            return workflow.end_conversation(client, console(ctx), end_id).exit_code
    if not file or not name:
        raise UsageError("converse needs FILE and NAME (`tavus-reconciler converse replicas.yaml NAME`), or "
                         "--end CONVERSATION_ID")
    config = load(file, policy_file)
    _refuse_billable(config)  # issue 28: policy no_billable_conversation, before any request
    with api_client(ctx) as client:
        return workflow.converse(config, client, console(ctx), name=name,
                                 confirm=None if yes else _confirm_conversation).exit_code


def _confirm_conversation(name: str) -> bool:
    if not stdin_is_a_terminal():
        raise UsageError(f"refusing to start a billed conversation with {name} without confirmation: no terminal "
                         "to ask on; pass --yes")
    echo(f"Start a real conversation with {name}? It is billed until it ends "
         "(`tavus-reconciler converse --end CONVERSATION_ID`).")
    return answered_yes()


def _refuse_billable(config) -> None:
    from reconciler.engine.policy import converse_refusal

    errors, warnings = converse_refusal(config, os.environ)
    for w in warnings:
        err(f"warning: {w}")
    if errors:
        raise PlanError(errors + ["refusing to start the conversation; nothing was sent"])

