"""validate, plan, show: what a file declares and what applying it would change."""

from __future__ import annotations

import click

from reconciler.cli.console import color, console, echo, err
from reconciler.cli.loading import load, load_with_client
from reconciler.cli.options import (
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
from reconciler.errors import ConfigError, PlanError, ReconcilerError, UsageError
from reconciler.exitcodes import EXIT_ERROR, EXIT_OK


@click.command()
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
            config = load(file, policy_file)
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
                from reconciler.views.common import declared

                echo(f"{file}: valid ({declared(config)})")
    return code


@click.command()
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
        config, client = load_with_client(ctx, file, policy_file)
        with client:
            opts = workflow.PlanOptions(tuple(targets), tuple(replace), prune, tuple(resend),
                                        max_replacing=max_replacing, canary=canary,
                                        allow_mass_change=allow_mass_change,
                                        discard_drafts=tuple(discard_drafts))
            return workflow.plan(config, client, opts,
                                 console(ctx), file=file, fmt=fmt, out=out, detailed_exitcode=detailed_exitcode,
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


@click.command()
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
        echo(render.plan_text(result, file=saved.file, color=color(ctx)), nl=False)
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

