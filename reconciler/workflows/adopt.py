"""``export``: list the account and write a file that adopts it (``workflows.export`` builds the text, purely)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler.exitcodes import OK
from reconciler.workflows.common import Console, Outcome


def export(client, console: Console, *, output_file: str | None, name_prefix: str | None, include_system: bool,
           version: str, schema_ref: Mapping[str, str]) -> Outcome:
    """Write a replicas file adopting the account's replicas: to ``output_file`` (never overwritten) or stdout."""
    from datetime import UTC, datetime

    from reconciler.api.redact import redact_url
    from reconciler.engine.planner import generic_kinds
    from reconciler.errors import UsageError
    from reconciler.workflows.export import export_yaml

    remote = client.list_replicas(replica_type=None if include_system else "user")
    personas = client.list_personas()  # user personas: stock ones are never exported
    kinds = [k for k in generic_kinds() if getattr(k, "export_entry", None) is not None]
    listed = {k.key: k.list(client) for k in kinds}  # every kind export adopts (documents, ...)
    source = redact_url(client.base_url)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text, warnings = export_yaml(remote, source=source, when=when, version=version, name_prefix=name_prefix,
                                 include_system=include_system, personas=personas, objects=(kinds, listed),
                                 **schema_ref)
    for w in warnings:
        console.err(f"warning: {w}")
    if not output_file:
        console.out(text, nl=False)
        return Outcome(OK)
    try:
        # 0600 (issue 24 #6): an export names every replica and persona of the account, prompts included
        with os.fdopen(os.open(output_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise UsageError(f"{output_file} exists: not overwriting it (remove it or choose another name)") from None
    except OSError as e:
        raise UsageError(f"{output_file}: cannot write: {e.strerror}") from None
    import yaml

    exported = yaml.safe_load(text)
    also = f" and {len(exported['personas'])} persona(s)" if exported.get("personas") else ""
    also += "".join(f" and {len(exported[k.key])} {k.noun}(s)" for k in kinds if exported.get(k.key))
    console.err(f"Exported {len(exported['replicas'])} replica(s){also} to {output_file}")
    return Outcome(OK)
