"""The semantic rules of ``personas:``, one per function, run for every entry; builds DesiredPersona. Called by
the loader (``reconciler.engine.validation.Semantics``) after the replicas (a persona's default_replica names
one) and ``removed:``."""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from reconciler.api.redact import CONTROL_CHARS
from reconciler.engine.checks import ONLY_VAR, invisible_in, plain, written_as_var
from reconciler.engine.models import Settings
from reconciler.engine.validation import SCHEMA_FILE, load_schema
from reconciler.engine.yamlpos import Pos, short

if TYPE_CHECKING:
    from reconciler.engine.validation import Semantics

PERSONA_ATTRIBUTES = ("system_prompt", "context", "pipeline_mode", "document_ids", "document_tags", "objectives_id",
                      "guardrails_id", "guardrail_ids", "guardrail_tags", "tool_ids", "greeting", "memories",
                      "is_template", "layers")  # sent as written (system_prompt_file becomes system_prompt)
# the file's own persona keys (never sent as such); every other key is an API field, sent as written (an
# undocumented one with one warning: Tavus adds persona fields often). guardrail_ids, document_ids,
# objectives_id and tool_ids are plain ids for now (issue 27 will let a file name them).
PERSONA_OWN = ("name", "persona_id", "default_replica", "default_replica_id", "system_prompt_file", "protect")
PIPELINE_MODES = ("full", "echo", "speech-to-speech")
# names the current reference replaced: a did-you-mean never steers a user from a newer name to one of these
OLDER_NAMES = frozenset({"guardrails_id", "ambient_awareness_queries", "perception_tool_prompt", "perception_tools",
                         "replica_interruptibility"})


def _suggest(key: str, known: Collection[str]) -> str | None:
    """The closest documented name to ``key``, never an older name (for a newer field the schema lacks)."""
    close = difflib.get_close_matches(key, [k for k in known if k not in OLDER_NAMES], n=1, cutoff=0.6)
    return close[0] if close else None
MAX_PROMPT_FILE_BYTES = 512 * 1024


class PersonaRules:
    """The semantic rules of ``personas:``, one per function, run for every entry; builds DesiredPersona."""

    def __init__(self, sem: Semantics):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags

    def run(self, raw: Any, settings: Settings, replica_names: dict[str, int], removed: tuple[str, ...] = ()) -> tuple:
        if not isinstance(raw, list):
            return ()
        self.removed = removed
        names: dict[str, int] = {}
        ids: dict[str, int] = {}
        out = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                persona = self._entry(i, entry, settings, names, ids, replica_names)
                if persona is not None:
                    out.append(persona)
        return tuple(out)

    def _entry(self, i: int, entry: dict, settings: Settings, names: dict[str, int], ids: dict[str, int],
               replica_names: dict[str, int]):
        from reconciler.kinds.personas.models import DesiredPersona

        base = ("personas", i)
        label, name_ok = self._rule_name(base, entry["name"], settings, names)
        persona_id = self._rule_persona_id(base, entry, label, ids)
        default_replica, default_replica_id = self._rule_default_replica(base, entry, label, replica_names)
        prompt = self._rule_system_prompt(base, entry, label)
        self._rule_pipeline_mode(base, entry, label)
        self._rule_unknown_fields(base, entry)
        self._rule_layer_fields(base, entry)
        secret_paths = self._rule_layer_secrets(base, entry, label)
        missing = self._rule_vars(base, entry, label)
        cited = self._rule_references(base, entry, label)
        if not name_ok:
            return None
        attributes = {k: plain(v) for k, v in entry.items() if k not in PERSONA_OWN}
        if prompt is not None:
            attributes["system_prompt"] = prompt
        return DesiredPersona(
            name=entry["name"], attributes=attributes, default_replica=default_replica,
            default_replica_id=default_replica_id, secret_paths=secret_paths, missing_vars=tuple(sorted(missing)),
            protect=entry.get("protect") is True, persona_id=persona_id, cited=cited)

    def _rule_references(self, base: tuple, entry: dict, label: str) -> dict:
        """documents / guardrails / objectives / tools / layers.tts.pronunciation_dictionary name objects this
        file declares (a located error with did-you-mean otherwise); issue 27, kinds/personas/wiring.py."""
        from reconciler.kinds.personas.wiring import WIRES, WiringRules

        declared = getattr(self, "_declared", None)
        if declared is None:  # once per file, not once per persona (quadratic: 5 s for 1,000 of each kind)
            root = self.doc.root
            declared = self._declared = {
                w.kind: ({e.get("name") for e in root[w.kind] if isinstance(e, dict)}
                         if isinstance(root.get(w.kind), list) else None) for w in WIRES}
        return WiringRules(self.sem, declared).run(base, entry, label)

    def _rule_name(self, base: tuple, name: str, settings: Settings, names: dict[str, int]) -> tuple[str, bool]:
        """The name is plain text (no unset ${VAR}, control or invisible character), declared once among the
        personas (a replica may share it: they are different kinds), in scope. Returns (label, usable)."""
        doc, diags, i = self.doc, self.diags, base[1]
        npath = base + ("name",)
        if npath in doc.missing:
            self.sem._unset_identity(npath, f"personas[{i}].name")
            return f"personas[{i}]", False
        if CONTROL_CHARS.search(name):
            diags.error(doc.at(npath), f"personas[{i}]: name must not contain control characters")
            return f"personas[{i}]", False
        if (bad := invisible_in(name)) is not None:
            diags.error(doc.at(npath), f"personas[{i}]: name contains the invisible character {bad}: "
                                       "remove it (it makes the name look like another one)")
            return f"personas[{i}]", False
        if not name.strip() or name != name.strip():
            return f"personas[{i}]", False  # the schema reported it
        if name in self.removed:
            diags.error(doc.at(npath), f"{name}: the persona is also listed under removed: (released from "
                                       "management): remove it from one of the two")
        if name in names:
            diags.error(doc.at(npath), f"duplicate persona name {short(name)} (first declared at line {names[name]})")
        else:
            names[name] = doc.at(base)[0]
        if settings.name_prefix and not name.startswith(settings.name_prefix):
            diags.error(doc.at(npath), f"{name}: the name is outside this file's scope: it must start with "
                                       f"{settings.name_prefix!r} (settings.scope.name_prefix)")
        return name, True

    def _rule_persona_id(self, base: tuple, entry: dict, label: str, ids: dict[str, int]) -> str | None:
        """An adopted persona_id is known (no unset ${VAR}) and declared once."""
        path = base + ("persona_id",)
        value = entry.get("persona_id")
        if path in self.doc.missing:
            self.sem._unset_identity(path, f"{label}: persona_id")
            return None
        if not isinstance(value, str) or not value:
            return None
        if value in ids:
            self.diags.error(self.doc.at(path), f"{label}: persona_id {value} is already used at line {ids[value]}")
            return None
        ids[value] = self.doc.at(base)[0]
        return value

    def _rule_default_replica(self, base: tuple, entry: dict, label: str,
                              replica_names: dict[str, int]) -> tuple[str | None, str | None]:
        """default_replica XOR default_replica_id; default_replica names a replica declared in this file; both
        known at plan time (no unset ${VAR})."""
        doc, diags = self.doc, self.diags
        by_name, by_id = entry.get("default_replica"), entry.get("default_replica_id")
        if "default_replica" in entry and "default_replica_id" in entry:
            diags.error(doc.key_at(base + ("default_replica_id",)),
                        f"{label}: declare either default_replica (a replica of this file, by name) or "
                        "default_replica_id (the id of a replica this file does not declare), not both")
            return None, None
        for key in ("default_replica", "default_replica_id"):
            if base + (key,) in doc.missing:
                self.sem._unset_identity(base + (key,), f"{label}: {key}")
                return None, None
        if isinstance(by_name, str) and by_name:
            if by_name not in replica_names:
                close = difflib.get_close_matches(by_name, list(replica_names), n=1, cutoff=0.6)
                if close:
                    hint = f"did you mean {close[0]!r}?"
                else:
                    hint = ("declare it under replicas:, or use default_replica_id: <id> for a replica this file "
                            "does not declare")
                diags.error(doc.at(base + ("default_replica",)),
                            f"{label}: default_replica {short(by_name)} is not a replica declared in this file "
                            f"({hint})")
                return None, None
            return by_name, None
        return None, by_id if isinstance(by_id, str) and by_id else None

    def _rule_system_prompt(self, base: tuple, entry: dict, label: str) -> str | None:
        """system_prompt XOR system_prompt_file; the prompt is required unless pipeline_mode is echo. The file
        is read relative to this file's directory, as UTF-8 text, at most MAX_PROMPT_FILE_BYTES; it is read
        as is (no ${VAR}s inside: a prompt may well contain "${"). A path outside this file's directory (../)
        is allowed: the file and its prompts are the user's own, and nothing is written. Returns the prompt
        read from the file (None when there is no file or it could not be read)."""
        doc, diags = self.doc, self.diags
        has_text, has_file = "system_prompt" in entry, "system_prompt_file" in entry
        if has_text and has_file:
            diags.error(doc.key_at(base + ("system_prompt_file",)),
                        f"{label}: declare either system_prompt or system_prompt_file, not both")
            return None
        if not has_text and not has_file:
            if entry.get("pipeline_mode") != "echo":
                diags.error(doc.at(base), f"{label}: system_prompt is required (or system_prompt_file: a file "
                                          "next to this one holding it), unless pipeline_mode is echo")
            return None
        if not has_file:
            return None
        fpath = base + ("system_prompt_file",)
        rel = entry["system_prompt_file"]
        if fpath in doc.missing or not isinstance(rel, str) or not rel or fpath in doc.skip:
            if fpath in doc.missing:
                self.sem._unset_identity(fpath, f"{label}: system_prompt_file")
            return None
        return self._read_prompt(doc.at(fpath), label, rel)

    def _read_prompt(self, pos: Pos, label: str, rel: str) -> str | None:
        import os
        from pathlib import Path

        where = f"{label}: system_prompt_file {short(rel)}"
        if "\x00" in rel:
            self.diags.error(pos, f"{where} is not a usable path")
            return None
        target = Path(os.path.dirname(self.sem.path) or ".") / rel
        try:
            import stat

            # opened without blocking and checked on the open file (no swap between a check and the open): a FIFO
            # or device would block or never end; a /proc file (/proc/kmsg) says it is regular with no size and
            # blocks when read (issue 24): nothing is read past the size the file reports, capped
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise IsADirectoryError
                if not stat.S_ISREG(st.st_mode):
                    self.diags.error(pos, f"{where} is not a regular file")
                    return None
                if st.st_size == 0:
                    self.diags.error(pos, f"{where} is empty (or a special file that reports no size, as in /proc)")
                    return None
                data = f.read(min(st.st_size, MAX_PROMPT_FILE_BYTES) + 1)
        except FileNotFoundError:
            self.diags.error(pos, f"{where}: no such file (the path is relative to {self.sem.path}'s folder)")
            return None
        except IsADirectoryError:
            self.diags.error(pos, f"{where} is a directory: name the prompt file")
            return None
        except OSError as e:
            self.diags.error(pos, f"{where}: cannot read the file ({e.strerror or type(e).__name__})")
            return None
        if len(data) > MAX_PROMPT_FILE_BYTES:
            self.diags.error(pos, f"{where} is too large (over {MAX_PROMPT_FILE_BYTES // 1024} KB)")
            return None
        if b"\x00" in data:
            self.diags.error(pos, f"{where} looks binary (it contains a NUL byte), not a text prompt")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            self.diags.error(pos, f"{where} is not UTF-8 text (invalid byte 0x{data[e.start]:02x} at byte "
                                  f"{e.start}); save it as UTF-8")
            return None
        text = text.removeprefix("\ufeff")
        if not text.strip():
            self.diags.error(pos, f"{where} is empty")
            return None
        return text

    def _rule_pipeline_mode(self, base: tuple, entry: dict, label: str) -> None:
        """A pipeline_mode other than full/echo is sent as is, with a warning (the docs' enumerations lag)."""
        mode, path = entry.get("pipeline_mode"), base + ("pipeline_mode",)
        if isinstance(mode, str) and mode not in PIPELINE_MODES and path not in self.doc.missing:
            self.diags.warning(self.doc.at(path), f"{label}: pipeline_mode {short(mode)} is not one this version "
                                                  f"knows ({', '.join(PIPELINE_MODES)}); it is sent as is")

    def _rule_unknown_fields(self, base: tuple, entry: dict) -> None:
        """A persona field this version does not document is sent to the API as written, with ONE warning naming
        it for the whole file (not one per persona), and a did-you-mean that never names an older field."""
        known = list(load_schema(SCHEMA_FILE)["$defs"]["persona"]["properties"])
        for key in entry:
            if key in known or not isinstance(key, str):
                continue
            close = _suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.sem.warn_once(f"persona:{key}", self.doc.key_at(base + (key,)),
                               f"personas: field {short(key)} is not one this version documents{hint}; it is "
                               "sent to the API as written")

    def _rule_layer_fields(self, base: tuple, entry: dict) -> None:
        """A layer, or a field of a layer, that this version does not document is sent as is, with ONE warning
        naming it for the whole file (and a did-you-mean that never names an older field): the API's field lists
        are incomplete and change often, so it is not an error, but a typo would otherwise go unnoticed."""
        layers = entry.get("layers")
        if not isinstance(layers, dict):
            return
        known_layers = load_schema(SCHEMA_FILE)["$defs"]["layers"]["properties"]
        for layer, fields in layers.items():
            if layer not in known_layers:
                close = _suggest(str(layer), known_layers)
                hint = f" (did you mean {close!r}?)" if close else ""
                self.sem.warn_once(f"layers.{layer}", self.doc.key_at(base + ("layers", layer)),
                                   f"layers: layer {short(layer)} is not one this version documents{hint}; it is "
                                   "sent to the API as written")
                continue
            known = list(known_layers[layer].get("properties", {}))
            if not known or not isinstance(fields, dict):
                continue
            for key in fields:
                if key in known:
                    continue
                close = _suggest(str(key), known)
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(known)}"
                self.sem.warn_once(f"layers.{layer}.{key}", self.doc.key_at(base + ("layers", layer, key)),
                                   f"layers.{layer}: field {short(key)} is not documented ({hint}); it is sent as is")

    def _rule_layer_secrets(self, base: tuple, entry: dict, label: str) -> tuple[str, ...]:
        """Every ``api_key`` under layers is written only as ``${VAR}`` (a literal key would be a secret in git);
        its resolved value is registered with reconciler.api.redact so no output can print it. Returns the JSON
        Pointers of the secrets."""
        from reconciler.api.redact import register_secret

        found: list[str] = []

        def walk(value: Any, path: tuple) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    if k == "api_key" and (v is not None):
                        check(v, path + (k,))
                    else:
                        walk(v, path + (k,))
            elif isinstance(value, list):
                for j, v in enumerate(value):
                    walk(v, path + (j,))

        def check(value: Any, path: tuple) -> None:
            full = base + path
            pointer = "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)
            raw = self.doc.raw.get(full)
            if not isinstance(value, str) or raw is None or not ONLY_VAR.match(raw):
                self.diags.error(self.doc.at(full), f"{label}: {'.'.join(map(str, path))} must be written as "
                                                    "${VAR} (an environment variable holding the key): a key "
                                                    "written in the file is a secret in git")
                return
            found.append(pointer)
            if full not in self.doc.missing:
                register_secret(value)

        walk(entry.get("layers"), ("layers",))
        return tuple(found)

    def _rule_vars(self, base: tuple, entry: dict, label: str) -> set[str]:
        """Unset ${VAR}s in the persona's attributes are warnings here: they are needed when the persona is
        created or updated (plan refuses then). Returns the unset variables."""
        missing: set[str] = set()
        identity = {base + (k,) for k in ("name", "persona_id", "default_replica", "default_replica_id",
                                          "system_prompt_file")}
        for path, unset in self.doc.missing.items():
            if path[:2] != base or path in identity:
                continue
            missing.update(unset)
            for var in unset:
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed when {label} is created "
                                                      "or updated)")
        return missing



POLICY_RULES = ("llm_base_urls", "llm_keys_from_env")  # the offline policy rules this kind checks


def check_policy(rule, located) -> list:
    from reconciler.kinds.personas.policy import check

    return check(rule, located)


def located(doc: Any, root: dict, where) -> tuple:
    """What the offline policy rules look at in ``personas:``, with positions (reconciler.engine.policy.Located)."""
    personas = []
    for i, e in enumerate(root.get("personas") or ()):
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            continue
        llm = e.get("layers", {}).get("llm") if isinstance(e.get("layers"), dict) else None
        llm = llm if isinstance(llm, dict) else {}
        base = ("personas", i, "layers", "llm")
        fields = []
        if "api_key" in llm:
            fields.append(("api_key", written_as_var(doc, base + ("api_key",)), where(base + ("api_key",))))
        if isinstance(llm.get("headers"), dict):
            for k in llm["headers"]:
                p = base + ("headers", k)
                fields.append((f"headers.{k}", written_as_var(doc, p), where(p)))
        url = llm.get("base_url")
        personas.append((e["name"], url if isinstance(url, str) else None, where(base + ("base_url",)),
                         tuple(fields)))
    return tuple(personas)


# ----------------------------------------------------------------------------------------- the loader's hooks
# (reconciler.engine.validation asks every kind's rules module for these; a kind without one gets the generic)

LABEL_BY_NAME = True  # a message names an entry by its name: ``acme-bot: layers``, not ``personas[0]``
IDENTITY_KEYS = frozenset({"persona_id", "default_replica", "default_replica_id"})  # ${VAR} here: no secret


def load(sem: Semantics, root: dict, settings: Settings, shared: dict) -> dict:
    """``personas:`` as the Config's field, after the replicas (their names and ``removed:``, in ``shared``)."""
    personas = PersonaRules(sem).run(root.get("personas"), settings, shared.get("replica_names", {}),
                                     shared.get("removed_names", ()))
    return {"personas": personas}
