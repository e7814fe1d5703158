"""Turning the live inventory into text for other tools: ``export`` (a replicas file that adopts what
exists) and ``output`` (the name -> replica_id map of ready replicas, like Terraform outputs). Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from reconciler.api.redact import escape_control
from reconciler.kinds.personas.models import RemotePersona
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.kinds.replicas.resolve import ready_outputs  # noqa: F401 - output's query lives with the resolver

SCHEMA_URL = "https://raw.githubusercontent.com/tavus-reconciler/tavus-reconciler/main/schemas/replicas.schema.json"


def export_yaml(remote: Sequence[RemoteReplica], *, source: str, when: str, version: str,
                name_prefix: str | None = None, include_system: bool = False,
                schema_ref: str = SCHEMA_URL, personas: Sequence[RemotePersona] = (),
                objects: tuple | None = None) -> tuple[str, list[str]]:
    """A valid replicas file pinning every exported replica, and warnings for the user.

    Entries are sorted by name. A name held by several remote replicas is exported once (the newest,
    pinned) and the others as commented-out entries: names must be unique in a file, and guessing
    which one the user means would be wrong. Plan on the result is ``No changes.`` by construction.
    """
    import yaml

    chosen = [r for r in remote
              if (include_system or r.replica_type != "system") and (not name_prefix or r.name.startswith(name_prefix))]
    by_name: dict[str, list[RemoteReplica]] = {}
    for r in chosen:  # API order is newest first: the first of a name is the newest
        by_name.setdefault(r.name, []).append(r)
    warnings: list[str] = []
    entries, duplicates, stock = _replica_entries(by_name, warnings)
    doc: dict = {"version": 1}
    if name_prefix:
        doc["settings"] = {"prune": False, "scope": {"name_prefix": name_prefix}}
    doc["replicas"] = entries
    header = (f"# yaml-language-server: $schema={schema_ref}\n"
              f"# Exported by tavus-reconciler {version} on {when} from {source}\n"
              f"# {len(entries)} replica(s), pinned by replica_id: `plan` on this file shows no changes.\n")
    if stock:
        header += ("# Entries marked \"stock\" are Tavus stock (system) replicas: read-only references that are never\n"
                   "# renamed, replaced or deleted; their name here is only a label for this file.\n")
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
    for rid in stock:  # ids are unique, so each pinned line is found once
        body = body.replace(f"\n  replica_id: {rid}\n",
                            f"\n  replica_id: {rid}   # stock replica (read-only): never renamed or deleted\n", 1)
    more, object_names = _object_sections(objects, name_prefix, warnings)  # before the personas citing them
    body += more
    if personas:
        persona_text, persona_warnings = personas_yaml(personas, {e["replica_id"]: e["name"] for e in entries},
                                                       name_prefix=name_prefix, object_names=object_names)
        body += persona_text
        warnings += persona_warnings
        if "\npersonas:\n" in "\n" + persona_text:
            header += ("# Personas are pinned by persona_id. Layer api_keys are never exported: set the ${VAR}s named "
                       "below.\n")
    return header + body + _duplicates_comment(duplicates), warnings


def _replica_entries(by_name: dict[str, list[RemoteReplica]], warnings: list[str]) -> tuple[list, list, list]:
    """(entries, duplicates, stock ids): one pinned entry per name, the newest; the others as duplicates."""
    entries, duplicates, stock = [], [], []
    for name in sorted(by_name):
        keep, *others = by_name[name]
        clean = _visible(name) or keep.replica_id
        if clean != name:  # a declared name may not hold invisible characters: pinned, so plan renames it
            warnings.append(f"{keep.replica_id}: its name has invisible or control characters; exported as "
                            f"{clean!r} (plan will rename it to that)")
        entry = {"name": clean, "replica_id": keep.replica_id}
        if keep.model_name in ("phoenix-3", "phoenix-4"):
            entry["model_name"] = keep.model_name
        entries.append(entry)
        if keep.replica_type == "system":
            stock.append(keep.replica_id)
        for other in others:
            duplicates.append((name, keep.replica_id, other))
            warnings.append(f"{len(others) + 1} remote replicas are named {name!r}: exported {keep.replica_id} "
                            f"(newest); {other.replica_id} is left as a comment")
    return entries, duplicates, stock


def _duplicates_comment(duplicates: list) -> str:
    """The replicas whose name another already has, commented out: removing the leading "# " gives entries
    indented like the ones above."""
    if not duplicates:
        return ""
    body = "\n# Replicas whose name another replica already has (names must be unique in this file).\n"
    body += "# Give one a new name and uncomment it to manage it, or delete it:\n"
    for name, kept, other in duplicates:
        body += (f"# - name: {escape_control(json.dumps(name, ensure_ascii=False))}   # same name as {kept}\n"
                 f"#   replica_id: {other.replica_id}\n")
    return body


PERSONA_EXPORT_FIELDS = ("system_prompt", "context", "pipeline_mode", "document_ids", "document_tags",
                         "objectives_id", "guardrails_id", "guardrail_ids", "guardrail_tags", "tool_ids", "greeting",
                         "memories", "is_template", "layers")  # issue 25: every field the reference documents
_KNOWN_LAYERS = ("llm", "tts", "stt", "perception", "conversational_flow", "conferencing", "capabilities",
                 "knowledge_base", "transport")


def personas_yaml(personas: Sequence[RemotePersona], replica_names: dict[str, str], *,
                  name_prefix: str | None = None, object_names: dict[str, dict[str, str]] | None = None
                  ) -> tuple[str, list[str]]:
    """The ``personas:`` section adopting the account's user personas (pinned by persona_id), and warnings.

    Every attribute the API returned is written, so ``plan`` on the export shows no changes: long or multi-line
    prompts as YAML block scalars; ``${`` written as ``$${`` (the file would otherwise read it as a variable);
    ``default_replica: NAME`` when the id is an exported replica, else ``default_replica_id``. Layer
    ``api_key``s are never written: a ``${VAR}`` placeholder stands in their place, with a comment. Stock
    (system) personas are never exported; a name held by several personas is exported once (the first the API
    lists) and the others as comments, like replicas.
    """

    chosen = [p for p in personas if p.persona_type != "system" and p.name is not None
              and (not name_prefix or p.name.startswith(name_prefix))]
    by_name: dict[str, list[RemotePersona]] = {}
    for p in chosen:
        by_name.setdefault(p.name or "", []).append(p)
    warnings: list[str] = []
    entries: list[dict] = []
    secrets: list[tuple[str, str]] = []  # (placeholder variable, dotted path)
    commented: list[tuple[str, str, str]] = []  # (name, persona_id, why)
    for name in sorted(by_name):
        keep, *others = by_name[name]
        clean = _visible(name) or keep.persona_id
        if clean != name:
            warnings.append(f"persona {keep.persona_id}: its name has invisible or control characters; exported as "
                            f"{clean!r} (plan will rename it to that)")
        entry = _persona_entry(keep, clean, replica_names, secrets, warnings)
        _by_declared_name(entry, object_names or {})
        if "system_prompt" not in entry and entry.get("pipeline_mode") != "echo":
            commented.append((clean, keep.persona_id, "it has no system_prompt (a file needs one unless "
                                                       "pipeline_mode is echo)"))
            warnings.append(f"persona {keep.persona_id} ({clean!r}) has no system_prompt: left as a comment")
            continue
        entries.append(entry)
        for other in others:
            commented.append((name, other.persona_id, f"same name as {keep.persona_id}"))
            warnings.append(f"{len(others) + 1} personas are named {name!r}: exported {keep.persona_id}; "
                            f"{other.persona_id} is left as a comment")
    return _personas_text(entries, secrets, commented), warnings


def _persona_entry(keep: RemotePersona, clean: str, replica_names: dict[str, str], secrets: list[tuple[str, str]],
                   warnings: list[str]) -> dict:
    """One exported persona, pinned: its replica by exported name (else id), every documented field it has,
    layer api_keys as ``${VAR}`` placeholders (added to ``secrets``), secrets in other values masked."""
    entry: dict = {"name": clean, "persona_id": keep.persona_id}
    doc = keep.document
    rid = keep.default_replica_id
    if rid:
        entry["default_replica" if rid in replica_names else "default_replica_id"] = replica_names.get(rid, rid)
    for key in PERSONA_EXPORT_FIELDS:
        value = doc.get(key)
        if key == "layers" and value is not None:
            value = _export_layers(value, clean, secrets, warnings) or None
        if value is None:
            continue
        masked = _redact_values(value)
        if masked != value:  # issue 24 #6: the Tavus key or a presigned signature in a prompt, a context...
            warnings.append(f"persona {keep.persona_id} ({clean!r}): its {key} holds a secret (the API key or a "
                            "presigned URL's signature): written masked; plan will show it as a change until "
                            "you put the real value back through a ${VAR}")
        entry[key] = _escape_vars(masked)
    return entry


def _personas_text(entries: list[dict], secrets: list[tuple[str, str]], commented: list[tuple[str, str, str]]
                   ) -> str:
    """The ``personas:`` YAML (each secret placeholder with its comment), then the personas left as comments."""
    import yaml

    text = ""
    if entries:
        text = yaml.dump({"personas": entries}, Dumper=_persona_dumper(), sort_keys=False, allow_unicode=True,
                         width=1000, default_flow_style=False)
        for var, path in secrets:
            text = re.sub(rf"(: \$\{{{var}\}})\n", lambda m, var=var, path=path: f"{m.group(1)}   # {path} is a "
                          f"secret and was not exported: set {var} to it\n", text, count=1)
    if commented:
        text += "\n# Personas not exported (the reason is on each; declare them by hand to manage them):\n"
        for name, pid, why in commented:
            shown = escape_control(json.dumps(name, ensure_ascii=False))
            text += f"# - name: {shown}   # {why}\n#   persona_id: {pid}\n"
    return text


def _object_sections(objects: tuple | None, name_prefix: str | None, warnings: list[str]
                     ) -> tuple[str, dict[str, dict[str, str]]]:
    """The sections of the other kinds export adopts (issue 27: documents, ...; kind hooks), and {kind: {id:
    exported name}} for the personas that cite them by name."""
    if objects is None:
        return "", {}
    import yaml

    from reconciler.workflows.objects_io import exported

    sections, names = exported(*objects, name_prefix, warnings)
    text = yaml.safe_dump(sections, sort_keys=False, allow_unicode=True, width=1000) if sections else ""
    return text, names


def _by_declared_name(entry: dict, object_names: dict[str, dict[str, str]]) -> None:
    """The persona's references to exported objects written by name (``documents: [acme-handbook]``), the
    others kept as ids (issue 27: kinds/personas/wiring.py)."""
    from reconciler.engine.kind import get_path, set_path, without_path
    from reconciler.kinds.personas.wiring import WIRES

    for w in WIRES:
        names = object_names.get(w.kind)
        value = get_path(entry, w.id_key)
        if not names or value is None or w.attached:
            continue
        ids = value if isinstance(value, list) else [value]
        known = [names[i] for i in ids if i in names]
        if not known:
            continue
        rest = [i for i in ids if i not in names]
        updated = without_path(entry, w.id_key)
        if rest:
            updated = set_path(updated, w.id_key, rest if w.many else rest[0])
        updated = set_path(updated, w.name_key, known if w.many else known[0])
        entry.clear()
        entry.update(updated)


def _export_layers(layers, name: str, secrets: list[tuple[str, str]], warnings: list[str]) -> dict:
    """The layers to write: known layers only (the file's schema is closed there), api_keys as placeholders."""
    out: dict = {}
    if not isinstance(layers, dict):
        return out
    for layer, fields in layers.items():
        if layer not in _KNOWN_LAYERS:
            warnings.append(f"persona {name!r}: layer {layer!r} is not one this version knows: not exported")
            continue
        if not isinstance(fields, dict):
            continue
        kept = {}
        for key, value in fields.items():
            if value is None:
                continue
            if key == "api_key":
                var = "TAVUS_PERSONA_" + re.sub(r"[^A-Z0-9]+", "_", f"{name}_{layer}_api_key".upper()).strip("_")
                secrets.append((var, f"layers.{layer}.api_key"))
                kept[key] = _Placeholder(var)
            elif key == "headers" and isinstance(value, dict):  # issue 24: an Authorization header is a key too
                headers = {}
                for header in value:
                    var = "TAVUS_PERSONA_" + re.sub(r"[^A-Z0-9]+", "_",
                                                    f"{name}_{layer}_header_{header}".upper()).strip("_")
                    secrets.append((var, f"layers.{layer}.headers.{header}"))
                    headers[header] = _Placeholder(var)
                kept[key] = headers
            else:
                kept[key] = value
        out[layer] = kept
    return out


class _Placeholder(str):
    """A ``${VAR}`` written as is (not escaped like the exported values)."""

    def __new__(cls, var: str):
        return super().__new__(cls, "${" + var + "}")


def _redact_values(value):
    """Every exported string with registered secrets (the API key, echoed keys) and URL signatures masked,
    as every other output path shows it (``redact_text``; placeholders untouched)."""
    from reconciler.api.redact import redact_text

    if isinstance(value, _Placeholder):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_values(v) for v in value]
    return value


def _escape_vars(value):
    if isinstance(value, _Placeholder):
        return str(value)
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escape_vars(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_vars(v) for v in value]
    return value


def _persona_dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value: str):
        style = "|" if "\n" in value or len(value) > 100 else None  # long prompts read as text in review
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _visible(name: str) -> str:
    from reconciler.api.redact import is_invisible

    return "".join(ch for ch in name if not is_invisible(ch)).strip()


def env_name(name: str) -> str:
    return "TAVUS_REPLICA_" + re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def format_outputs(ready: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(ready, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "env":
        names: dict[str, str] = {}
        for name in sorted(ready):
            var = env_name(name)
            if var in names:
                raise ValueError(f"{name!r} and {names[var]!r} both map to {var}: rename one")
            names[var] = name
        return "".join(f"{env_name(n)}={ready[n]}\n" for n in sorted(ready))
    from reconciler.views.progress import _width_of  # pad by terminal cells (wide characters take two)

    width = max((_width_of(n) for n in ready), default=0)
    return "".join(escape_control(f"{n}{' ' * (width - _width_of(n))}  {ready[n]}") + "\n" for n in sorted(ready))
