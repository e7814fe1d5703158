"""status, output, export: what the account holds, read only."""

from __future__ import annotations

import os

import click

from reconciler import __version__
from reconciler.cli.console import console
from reconciler.cli.loading import api_client, load_with_client
from reconciler.cli.options import file_argument


@click.command()
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

    config, client = load_with_client(ctx, file)
    with client:
        return workflow.status(config, client, console(ctx), fmt=fmt).exit_code


@click.command()
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
    with api_client(ctx) as client:
        return workflow.export(client, console(ctx), output_file=output_file, name_prefix=name_prefix,
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


@click.command()
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

    config, client = load_with_client(ctx, file)
    with client:
        return workflow.output(config, client, console(ctx), fmt=fmt, allow_partial=allow_partial).exit_code

