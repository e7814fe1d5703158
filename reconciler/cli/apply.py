"""apply, wait: make the account match a file (or a saved plan), and wait for what trains."""

from __future__ import annotations

import click

from reconciler.cli.console import answered_yes, console, echo, stdin_is_a_terminal
from reconciler.cli.loading import ClientSoon, load, load_with_client, policy_rules
from reconciler.cli.options import (
    DURATION,
    POLL_INTERVAL,
    allow_mass_change_option,
    canary_option,
    discard_drafts_option,
    file_argument,
    max_replacing_option,
    policy_option,
    prune_option,
    replace_option,
    resend_option,
    target_option,
)
from reconciler.errors import UsageError


def _confirm(result) -> bool:
    from reconciler.engine.models import Action

    if not stdin_is_a_terminal():
        raise UsageError("refusing to apply without confirmation: no terminal to ask on; "
                         "review the plan and pass --auto-approve")
    deletes = [c.name for c in result.changes if c.action in (Action.DELETE, Action.REPLACE)]
    echo("Do you want to perform these actions?")
    if deletes:
        echo(f"  {len(deletes)} replica(s) will be DELETED: {', '.join(deletes)}")
    return answered_yes()


@click.command()
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

    soon = ClientSoon(ctx)
    saved = None
    if planfile.is_planfile(file):
        if targets or replace or prune or resend or discard_drafts:
            raise UsageError("--target, --replace, --prune, --resend and --discard-editor-drafts cannot be used "
                             "with a saved plan: they were fixed when the plan was made")
        saved = planfile.read(file)
        from reconciler.engine.policy import saved_rules

        # the --policy FILE rules the plan was made with hold again (or, given now, this file's)
        config = parse_config(saved.source, saved.file,
                              policy=policy_rules(policy_file) or saved_rules(saved.document))
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
        config = load(file, policy_file)
        shown = file
    opts = workflow.PlanOptions(tuple(targets), tuple(replace), prune, tuple(resend), max_replacing=max_replacing,
                                canary=canary, allow_mass_change=allow_mass_change,
                                discard_drafts=tuple(discard_drafts))
    wait_opts = workflow.WaitOptions(timeout=timeout, poll_interval=poll_interval, parallelism=parallelism,
                                     no_wait=no_wait)
    with soon.get() as client:
        return workflow.apply(config, client, opts, wait_opts, console(ctx), shown=shown, saved=saved, file=file,
                              confirm=None if auto_approve else _confirm,
                              skip_url_check=skip_url_check or not check_urls).exit_code


def _interval(seconds: float) -> str:
    from reconciler.workflows.workflow import interval

    return interval(seconds)


@click.command(name="wait")
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

    config, client = load_with_client(ctx, file)
    with client:
        return workflow.wait(config, client, workflow.WaitOptions(timeout=timeout, poll_interval=poll_interval),
                             console(ctx), file=file, targets=tuple(targets)).exit_code

