"""``plan``: list the account, compute the checked plan, print it (text, JSON, markdown), and save it (``--out``)."""

from __future__ import annotations

from reconciler.engine.models import Config
from reconciler.exitcodes import CHANGES, ERROR, OK
from reconciler.workflows.common import Console, Outcome, PlanOptions, checked_plan
from reconciler.workflows.inventory import all_inventories, listings


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
        render.write_plan_json(result, lambda piece: console.out(piece, nl=False), file=file)
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
            discard_drafts=tuple(opts.discard_drafts),
            fingerprint=planfile.fingerprint(config, listings(remote, personas, objects)),
            document=render.plan_document(result, file=file), inputs=planfile.inputs_hash(config, client.base_url),
            account=getattr(client, "account", "")))
        console.err(f"Saved the plan to {out}: apply it with `tavus-reconciler apply {out}`")
    drift = result.has_changes or (bool(result.unmanaged) and not ignore_unmanaged)
    return Outcome(CHANGES if detailed_exitcode and drift else OK, plan=result, saved_to=out)
