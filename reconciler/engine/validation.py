"""Validating the located document: JSON Schema errors worded for people, then the semantic rules.

The schema errors say what is wrong, where and how to fix it; each semantic rule (names, identities,
training source, consent, ${VAR}s and URLs, model) is a function of its own, run for every replica entry.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from reconciler.api.redact import CONTROL_CHARS, is_invisible
from reconciler.engine.models import (
    DEFAULT_MASS_MIN_CHANGES,
    DEFAULT_MASS_PERCENT,
    MODELS,
    PROPERTIES,
    Config,
    DesiredReplica,
    MassChangeSettings,
    Settings,
)
from reconciler.engine.rollout import (
    DEFAULT_CANARY,
    DEFAULT_MAX_REPLACING,
    DEFAULT_VERIFY,
    VERIFY_CHOICES,
    RolloutSettings,
)
from reconciler.engine.yamlpos import Diagnostics, Document, Pos, kind, short, unencodable

SCHEMA_FILE = "replicas.schema.json"

REPLICA_FIELDS = ("name", "replica_id", "train_video_url", "train_image_url", "voice_name", "consent_video_url",
                  "callback_url", "synthetic", "model_name", "protect", "consent_in_training_video", "properties")
DEFAULT_FIELDS = tuple(f for f in REPLICA_FIELDS if f not in ("name", "replica_id"))
URL_FIELDS = ("train_video_url", "train_image_url", "consent_video_url", "callback_url")
TRAINING_FIELDS = ("train_video_url", "train_image_url")
IDENTITY_FIELDS = ("name", "replica_id")


# --------------------------------------------------------------------------------------- schemas


@functools.cache
def load_schema(filename: str) -> dict:
    """A JSON Schema shipped in ``schemas/`` (installed as the package ``reconciler.schemas``); the file's own
    schema is assembled from the kinds' fragments (``reconciler.engine.schema``), equal to the published file."""
    if filename == SCHEMA_FILE:
        from reconciler.engine.schema import document_schema

        return document_schema()
    resource = importlib.resources.files("reconciler.schemas").joinpath(filename)
    return json.loads(resource.read_text(encoding="utf-8"))


def _inline_refs(node: Any, defs: dict) -> Any:
    """The schema with its local ``#/$defs/...`` references inlined (validating is ~2x faster without $ref)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline_refs(defs[ref[len("#/$defs/"):]], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


class _SchemaValidators:
    """Validators for the replicas schema: the document without its entries, one entry, and each string field.

    A file with thousands of replicas validates each entry *shape* once: string fields whose value the
    field's own schema accepts are replaced by a placeholder the field also accepts, so entries that differ
    only in names and URLs share one validation. Entries that are not known valid are validated in full.
    """

    _PLACEHOLDER = "x"

    def __init__(self):
        from jsonschema import Draft202012Validator

        schema = _inline_refs(load_schema(SCHEMA_FILE), load_schema(SCHEMA_FILE).get("$defs", {}))
        entry_schema = schema["properties"]["replicas"].pop("items")
        self.document = Draft202012Validator(schema)
        self.entry = Draft202012Validator(entry_schema)
        self.fields: dict[str, Any] = {}  # field -> None (any string is valid) or a validator for its value
        for key, sub in entry_schema.get("properties", {}).items():
            if sub.get("type") == "string" and not {"enum", "const"} & set(sub):
                constrained = {"minLength", "maxLength", "pattern", "format"} & set(sub)
                self.fields[key] = Draft202012Validator(sub) if constrained else None
        self._valid_shapes: set = set()

    def _shape(self, entry: dict) -> tuple | None:
        items = []
        for key, value in entry.items():
            if isinstance(value, str) and key in self.fields:
                check = self.fields[key]
                if check is None or check.is_valid(value):
                    items.append((key, "str", self._PLACEHOLDER))
                    continue
                return None
            if isinstance(value, str | int | float | bool) or value is None:
                items.append((key, type(value).__name__, value))
            else:
                return None
        return tuple(sorted(items, key=lambda i: i[0]))

    def iter_errors(self, root: Any):
        """(absolute path, error) for every schema error in the document."""
        for error in self.document.iter_errors(root):
            yield tuple(error.absolute_path), error
        replicas = root.get("replicas") if isinstance(root, dict) else None
        if not isinstance(replicas, list):
            return
        for i, entry in enumerate(replicas):
            shape = self._shape(entry) if isinstance(entry, dict) else None
            if shape is not None and shape in self._valid_shapes:
                continue
            errors = list(self.entry.iter_errors(entry))
            if not errors and shape is not None:
                self._valid_shapes.add(shape)
            for error in errors:
                yield ("replicas", i, *error.absolute_path), error


@functools.cache
def _validators() -> _SchemaValidators:
    return _SchemaValidators()



# --------------------------------------------------------------------------------------- schema errors


def _label(doc: Document, path: tuple) -> str:
    """How to name ``path`` in a message: ``acme-anna: model_name``, ``replicas[3]``, ``settings.prune``."""
    parts: list[str] = []
    rest = list(path)
    if len(rest) >= 2 and rest[0] in ("replicas", "personas") and isinstance(rest[1], int):
        entry = doc.root[rest[0]][rest[1]] if isinstance(doc.root.get(rest[0]), list) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        known = _plain_name(name) and (rest[0], rest[1], "name") not in doc.missing
        head = name if known else f"{rest[0]}[{rest[1]}]"
        rest = rest[2:]
        if not rest:
            return head
        parts.append(head + ":")
    dotted = ""
    for p in rest:
        dotted += f"[{p}]" if isinstance(p, int) else (f".{p}" if dotted else str(p))
    return " ".join(parts + [dotted]) if dotted else " ".join(parts)


def _invisible_in(name: str) -> str | None:
    """The first invisible character in ``name``, described (``U+200B ZERO WIDTH SPACE at position 3``)."""
    import unicodedata

    for i, ch in enumerate(name):
        if is_invisible(ch):
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')} at position {i + 1}"
    return None


def _plain_name(name: Any) -> bool:
    """A name good enough to label messages with (the schema and semantic checks judge it properly)."""
    return isinstance(name, str) and 0 < len(name) <= 128 and name == name.strip() and not CONTROL_CHARS.search(name)


def _allowed_fields(schema: dict) -> list[str]:
    return list(schema.get("properties", {}))


def check_schema(doc: Document, diags: Diagnostics) -> None:
    for path, error in _validators().iter_errors(doc.root):
        if any(path[:i] in doc.skip for i in range(len(path) + 1)):
            continue
        schema_path = set(error.schema_path)
        if path[:1] == ("replicas",) and len(path) == 2 and schema_path & {"oneOf", "then", "if", "allOf"}:
            continue  # training source / consent: reported by the semantic checks, with better words
        _report_schema_error(doc, diags, error, path)


def _report_schema_error(doc: Document, diags: Diagnostics, error, path: tuple) -> None:
    """One schema error in words: what is wrong, where, and how to fix it."""
    label = _label(doc, path)
    if error.validator == "additionalProperties":
        _unknown_fields(doc, diags, error, path)
        return
    if error.validator == "required":
        missing = [f for f in error.validator_value if not (isinstance(error.instance, dict) and f in error.instance)]
        where = f"{label}: " if path else ""
        for f in missing:
            diags.error(doc.at(path), f"{where}missing required field {f!r}")
        return
    wording = _WORDING.get(error.validator)
    message = wording(error, label, path) if wording else None
    if message is _REPORTED_ELSEWHERE:
        return
    if message is None:  # no better words: JSON Schema's own message, capped
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        message = f"{label}: {message}" if label else message
    diags.error(doc.at(path), message)


def _unknown_fields(doc: Document, diags: Diagnostics, error, path: tuple) -> None:
    allowed = _allowed_fields(error.schema)
    for key in error.instance:
        if key in allowed:
            continue
        if key == "<<":
            msg = "YAML merge keys (<<) are not supported: use defaults: for fields that replicas share"
        elif path == ("defaults",) and key in IDENTITY_FIELDS:
            msg = f"unknown field {short(key)}: defaults cannot set {key} (it is per replica)"
        else:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(allowed)}"
            msg = f"unknown field {short(key)} ({hint})"
        diags.error(doc.key_at(path + (key,)), msg)


_REPORTED_ELSEWHERE = "reported elsewhere"  # a wording's answer when another error already says it


def _wrong_type(error, label: str, path: tuple) -> str:
    expected, instance = error.validator_value, error.instance
    want = {"string": "a string", "boolean": "true or false", "object": "a mapping", "array": "a list",
            "integer": "an integer"}.get(expected, str(expected))
    hint = ""
    if expected == "string" and isinstance(instance, bool | int | float):
        hint = "; put it in quotes"
    elif expected == "array" and instance is None:
        hint = "; write [] for none"
    return f"{label} must be {want}, not {kind(instance)} {short(instance)}{hint}".replace(" null null", " null")


def _not_one_of(error, label: str, path: tuple) -> str:
    instance = error.instance
    options = [str(o) for o in error.validator_value]
    close = difflib.get_close_matches(str(instance), options, n=1, cutoff=0.6) if isinstance(instance, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{label} must be one of {', '.join(options)}, not {short(instance)}{hint}"


def _not_const(error, label: str, path: tuple) -> str:
    return f"{label} must be {json.dumps(error.validator_value)}, not {short(error.instance)}"


_PATTERN_WORDING = {
    "name": "{label} must not start or end with whitespace: {value}",
    "model_name": "{label} must be a phoenix model such as phoenix-4, not {value}",
    "replica_id": "{label} {value} is not a replica id (letters, digits, _ and - only)",
}


def _bad_pattern(error, label: str, path: tuple) -> str | None:
    if error.instance == "":
        return _REPORTED_ELSEWHERE  # reported as empty (minLength)
    field = path[-1] if path and isinstance(path[-1], str) else None
    wording = _PATTERN_WORDING.get(field)
    return wording.format(label=label, value=short(error.instance)) if wording else None


def _too_short(error, label: str, path: tuple) -> str:
    return f"{label} must not be empty"


def _too_long(error, label: str, path: tuple) -> str:
    return f"{label} is too long ({len(error.instance)} characters; at most {error.validator_value})"


def _bad_removed_item(error, label: str, path: tuple) -> str | None:
    if path[:1] == ("removed",) and len(path) == 2:
        return (f"removed[{path[1]}] must be a replica name, {{name: NAME}} or {{replica_id: ID}}, "
                f"not {short(error.instance)}")
    return None


def _too_small(error, label: str, path: tuple) -> str:
    return f"{label} must be at least {error.validator_value}, not {short(error.instance)}"


def _too_large(error, label: str, path: tuple) -> str:
    return f"{label} must be at most {error.validator_value}, not {short(error.instance)}"


def _bad_any_of(error, label: str, path: tuple) -> str | None:
    """``removed:`` items, and policy rules (their value, or {value: V, level: warning})."""
    if "policy" in path[:2] or (path and path[0] in _policy_rules()):
        rule = path[-1]
        want = {"patterns": "a list of patterns", "kinds": "a list of kinds (replicas, personas)",
                "flag": "true or false", "limit": "a whole number of at least 0",
                "conversation": "true (refused in CI), false or always"}.get(_policy_rules().get(rule, ("",))[0],
                                                                             "its value")
        return f"{label} must be {want}, or {{value: ..., level: warning}} for a soft rule, not {short(error.instance)}"
    return _bad_removed_item(error, label, path)


def _policy_rules() -> dict:
    from reconciler.engine.policy import RULES

    return RULES


_WORDING = {"type": _wrong_type, "enum": _not_one_of, "const": _not_const, "pattern": _bad_pattern,
            "minLength": _too_short, "maxLength": _too_long, "anyOf": _bad_any_of, "minimum": _too_small,
            "maximum": _too_large}


# --------------------------------------------------------------------------------------- semantics

_URL_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


@functools.lru_cache(maxsize=1024)
def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a training/callback URL, or None when it is a plain http(s) URL with a host."""
    if _URL_BAD_CHAR.search(url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not host:
        return "has no host"
    if unencodable(url):
        return "is not valid Unicode text"
    if any(not label for label in host.rstrip(".").split(".")):
        return "has an empty label in its host name"
    if _PLAIN_HOST.match(host) and "xn--" not in host.lower():
        return None  # plain ASCII labels: nothing for IDNA to refuse, and validate need not load httpx
    try:
        import httpx  # the parser the URL check and the API use: a host it cannot encode (IDNA) fails here

        checked = httpx.URL(f"{parts.scheme}://{parts.netloc}/")
        checked.host  # noqa: B018 - decoding the host (IDNA) is what raises
    except Exception:  # noqa: BLE001 - InvalidURL, IDNAError, UnicodeError, ValueError: all mean "bad URL"
        return "has a host name that is not valid (IDNA)"
    return None


_PLAIN_HOST = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$")


def _show_url(url: str) -> str:
    from reconciler.api.redact import redact_url

    return short(redact_url(url) or "", 80)


def _rollout_settings(raw: Any) -> RolloutSettings:
    """``settings.rollout`` (issue 19); the schema has reported any bad value, which keeps its default here.
    A whole float (``2.0``) is an integer to JSON Schema: taken as one."""
    if not isinstance(raw, dict):
        return RolloutSettings()

    def count(key: str, least: int, default: int) -> int:
        value = raw.get(key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if type(value) is int and value >= least else default

    verify = raw.get("verify")
    return RolloutSettings(max_replacing=count("max_replacing", 1, DEFAULT_MAX_REPLACING),
                           canary=count("canary", 0, DEFAULT_CANARY),
                           verify=verify if verify in VERIFY_CHOICES else DEFAULT_VERIFY)


def check_policy_document(doc: Document, diags: Diagnostics, base: tuple = ()) -> None:
    """A ``--policy FILE``: the schema of ``settings.policy`` (issue 28), errors worded as the file's."""
    from jsonschema import Draft202012Validator

    defs = load_schema(SCHEMA_FILE)["$defs"]
    root = doc.root
    for key in base:
        root = root.get(key) if isinstance(root, dict) else None
    if not isinstance(root, dict):
        diags.error(doc.at(base), "a policy file is a mapping of rules (the keys of settings.policy), e.g. "
                                  "max_deletes: 3")
        return
    for error in Draft202012Validator(_inline_refs(defs["policy"], defs)).iter_errors(root):
        _report_schema_error(doc, diags, error, base + tuple(error.absolute_path))


def _mass_change_settings(raw: Any) -> MassChangeSettings:
    """``settings.mass_change`` (issue 28); a value the schema refused keeps its default."""
    if not isinstance(raw, dict):
        return MassChangeSettings()
    pct, floor = raw.get("max_percent"), raw.get("min_changes")
    if isinstance(floor, float) and floor.is_integer():
        floor = int(floor)
    return MassChangeSettings(
        max_percent=float(pct) if isinstance(pct, int | float) and not isinstance(pct, bool) and 0 <= pct <= 100
        else DEFAULT_MASS_PERCENT,
        min_changes=floor if type(floor) is int and floor >= 1 else DEFAULT_MASS_MIN_CHANGES)


def _kind_keys() -> tuple[str, ...]:
    """Every registered kind's section (a file declares any subset of them, at least one)."""
    from reconciler.kinds import registered

    return tuple(k.key for k in registered())


def _written_as_var(doc: Document, path: tuple) -> bool:
    raw = doc.raw.get(path)
    return raw is not None and _ONLY_VAR.match(raw) is not None


class Semantics:
    def __init__(self, doc: Document, diags: Diagnostics, path: str, text: str, policy: tuple = ()):
        self.doc = doc
        self.external_policy = tuple(policy)  # --policy FILE's rules (issue 28)
        self.diags = diags
        self.path = path
        self.text = text
        self.folded: dict[str, tuple[str, int]] = {}  # NFKC + casefold of each declared name -> (name, line)

    def run(self) -> Config | None:
        root = self.doc.root
        settings = self._settings(root.get("settings"))
        defaults = root.get("defaults") if isinstance(root.get("defaults"), dict) else {}
        defaults = {k: v for k, v in defaults.items() if k in DEFAULT_FIELDS}
        self._default_warnings(defaults)
        replicas = root.get("replicas", [])  # absent: the file does not manage replicas (issue 27)
        if not isinstance(replicas, list):
            return None
        if not any(key in root for key in _kind_keys()):
            self.diags.error((1, 1), f"nothing to manage: declare at least one of {', '.join(_kind_keys())}")
            return None
        names: dict[str, int] = {}
        ids: dict[str, int] = {}
        out: list[DesiredReplica] = []
        for i, entry in enumerate(replicas):
            if not isinstance(entry, dict):
                continue
            d = self._entry(i, entry, defaults, settings, names, ids)
            if d is not None:
                out.append(d)
        removed_names, removed_ids = self._removed(root.get("removed"), names, ids)
        personas = PersonaRules(self).run(root.get("personas"), settings, names, removed_names)
        objects = _objects(self.doc, self.diags, settings)
        rules, findings = self._policy(root)
        if self.diags.errors:
            return None
        version = root.get("version")
        return Config(path=self.path, replicas=tuple(out), settings=settings, manages_replicas="replicas" in root,
                      version=version if isinstance(version, int) else 1,
                      warnings=self.diags.rendered_warnings(), source=self.text,
                      removed_names=removed_names, removed_ids=removed_ids, personas=personas,
                      policy=rules, policy_findings=findings, objects=objects)

    def _policy(self, root: dict) -> tuple[tuple, tuple]:
        """``settings.policy`` and the ``--policy FILE`` rules (issue 28); the findings of those that need only
        the file, located (reconciler.engine.policy.check_offline). Nothing is built when no rule is declared."""
        from reconciler.engine import policy

        settings = root.get("settings") if isinstance(root.get("settings"), dict) else {}
        own = policy.parse_rules(settings.get("policy"), lambda key: self.doc.key_at(("settings", "policy", key)),
                                 policy.FILE_SOURCE, self.path)
        rules = tuple(own) + self.external_policy
        if not any(r.name in policy.OFFLINE for r in rules):
            return rules, ()
        return rules, tuple(policy.check_offline(rules, self._located(root)))

    def _located(self, root: dict):
        """What the offline policy rules look at, with positions."""
        from reconciler.engine.policy import Located

        doc = self.doc

        def where(path: tuple) -> str:
            line, col = doc.at(path)
            return f"{self.path}:{line}:{col}"

        defaults = root.get("defaults") if isinstance(root.get("defaults"), dict) else {}
        replicas = []
        for i, e in enumerate(root.get("replicas") or ()):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                continue

            def field(key: str, e=e, i=i):
                if key in e:
                    return e[key], ("replicas", i, key)
                return defaults.get(key), ("defaults", key) if key in defaults else ("replicas", i)

            model, mpath = field("model_name")
            replicas.append((e["name"], model if isinstance(model, str) else None, where(mpath),
                             field("synthetic")[0] is True, isinstance(field("consent_video_url")[0], str),
                             field("consent_in_training_video")[0] is True, "replica_id" in e, where(("replicas", i))))
        personas = []
        for i, e in enumerate(root.get("personas") or ()):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                continue
            llm = e.get("layers", {}).get("llm") if isinstance(e.get("layers"), dict) else None
            llm = llm if isinstance(llm, dict) else {}
            base = ("personas", i, "layers", "llm")
            fields = []
            if "api_key" in llm:
                fields.append(("api_key", _written_as_var(doc, base + ("api_key",)), where(base + ("api_key",))))
            if isinstance(llm.get("headers"), dict):
                for k in llm["headers"]:
                    p = base + ("headers", k)
                    fields.append((f"headers.{k}", _written_as_var(doc, p), where(p)))
            url = llm.get("base_url")
            personas.append((e["name"], url if isinstance(url, str) else None, where(base + ("base_url",)),
                             tuple(fields)))
        return Located(tuple(replicas), tuple(personas))

    def _removed(self, raw: Any, names: dict[str, int], ids: dict[str, int]) -> tuple[tuple, tuple]:
        """``removed:`` (forget without deleting): names, or {name:} / {replica_id:} items. A replica cannot be
        both declared and removed, nor removed twice."""
        if not isinstance(raw, list):
            return (), ()
        out: dict[str, list[str]] = {"name": [], "replica_id": []}
        seen: dict[tuple[str, str], int] = {}
        for i, item in enumerate(raw):
            if isinstance(item, str):
                key, value, path = "name", item, ("removed", i)
            elif isinstance(item, dict) and len(item) == 1:
                ((key, value),) = item.items()
                path = ("removed", i, key)
            else:
                continue  # the schema reported it
            if key not in out or not isinstance(value, str) or not value or path in self.doc.missing:
                if path in self.doc.missing:
                    self._unset_identity(path, f"removed[{i}]")
                continue
            where = self.doc.at(path)
            declared = (names if key == "name" else ids).get(value)
            if declared is not None:
                self.diags.error(where, f"removed[{i}]: {value} is also declared under replicas: (line "
                                        f"{declared}): remove it from one of the two lists")
            elif (key, value) in seen:
                self.diags.error(where, f"removed[{i}]: {value} is already listed at line {seen[key, value]}")
            else:
                seen[key, value] = where[0]
                out[key].append(value)
        return tuple(out["name"]), tuple(out["replica_id"])

    def _lookalike_warnings(self, name: str, pos: Pos) -> None:
        """Warn when a declared name equals an earlier one under Unicode normalisation and case folding, or
        mixes look-alike scripts (a Cyrillic "а" among Latin letters)."""
        import unicodedata

        folded = unicodedata.normalize("NFKC", name).casefold()
        seen = self.folded
        if folded in seen:
            other, line = seen[folded]
            self.diags.warning(pos, f"name {short(name)} {ascii(name)} looks the same as {short(other)} "
                                    f"{ascii(other)} (line {line}) once Unicode normalisation and case are "
                                    "ignored: a reader cannot tell them apart")
        else:
            seen[folded] = (name, pos[0])
        scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in name if ch.isalpha()}
        mixed = sorted(scripts & {"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})
        if len(mixed) > 1:
            self.diags.warning(pos, f"name {short(name)} mixes {' and '.join(s.title() for s in mixed)} letters: "
                                    "it may be a look-alike of another name")

    def _settings(self, raw: Any) -> Settings:
        if not isinstance(raw, dict):
            return Settings()
        prune = raw.get("prune") if isinstance(raw.get("prune"), bool) else False
        scope = raw.get("scope")
        prefix = scope.get("name_prefix") if isinstance(scope, dict) else None
        ppath = ("settings", "scope", "name_prefix")
        if ppath in self.doc.missing:
            self._unset_identity(ppath, "settings.scope.name_prefix")
            prefix = None
        drafts = raw.get("discard_editor_drafts")  # issue 25: personas whose editor drafts an update overwrites
        drafts = tuple(n for n in drafts if isinstance(n, str)) if isinstance(drafts, list) else ()
        prefix = prefix if isinstance(prefix, str) and prefix else None
        whole = isinstance(scope, dict) and scope.get("whole_account") is True
        if whole and prefix:
            self.diags.error(self.doc.key_at(("settings", "scope", "whole_account")),
                             "settings.scope: declare either name_prefix or whole_account: true, not both")
        if prune and not prefix and not whole and ("settings", "prune") not in self.doc.skip:
            self.diags.error(self.doc.at(("settings", "prune")),
                             "settings.prune: true needs a scope, or it would delete every replica and persona on the "
                             "account that this file does not declare (another team's too): set settings.scope."
                             "name_prefix to the prefix of this file's names (e.g. \"acme-\"), or write "
                             "settings.scope: {whole_account: true} if this file really owns the whole account")
        return Settings(prune=prune, name_prefix=prefix,
                        rollout=_rollout_settings(raw.get("rollout")), whole_account=whole and not prefix,
                        mass_change=_mass_change_settings(raw.get("mass_change")),
                        discard_editor_drafts=drafts)

    def _unset_identity(self, path: tuple, what: str) -> None:
        for var in self.doc.missing[path]:
            self.diags.error(self.doc.at(path), f"${{{var}}} is not set: {what} must be known to plan "
                                                "(set the variable or give a default with ${VAR:-default})")

    def _default_warnings(self, defaults: dict) -> None:
        for key in defaults:
            path = ("defaults", key)
            for var in self.doc.missing.get(path, ()):
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed only when a replica "
                                                      f"that inherits defaults.{key} is created)")

    def _merged(self, entry: dict, defaults: dict) -> tuple[dict, dict[str, tuple]]:
        """The entry with defaults filled in, and where each field came from."""
        merged: dict = {}
        source: dict[str, tuple] = {}
        own_training = any(f in entry for f in TRAINING_FIELDS)
        for key, value in defaults.items():
            if own_training and key in TRAINING_FIELDS:
                continue  # the training source is one unit: the entry's own wins as a whole
            merged[key] = value
            source[key] = ("defaults", key)
        for key, value in entry.items():
            merged[key] = value
            source[key] = ()
        if "voice_name" in merged and source["voice_name"] and "train_image_url" not in merged:
            del merged["voice_name"]  # a default voice applies only to replicas trained from an image
        return merged, source

    def _entry(self, i: int, entry: dict, defaults: dict, settings: Settings,
               names: dict[str, int], ids: dict[str, int]) -> DesiredReplica | None:
        """Check one replica entry against every semantic rule and build it (None when its name is not text)."""
        name = entry.get("name")
        if not isinstance(name, str):
            return None  # the schema reported it
        merged, source = self._merged(entry, defaults)
        e = _Entry(i, entry, merged, source, self.doc.at(("replicas", i)))
        label = self._rule_name(e, name, settings, names)
        replica_id = self._rule_replica_id(e, label, ids)
        self._rule_training_source(e, label)
        self._rule_consent(e, label)
        missing = self._rule_vars_and_urls(e, label)
        self._rule_model(e, label)
        merged = e.merged

        def text(key: str) -> str | None:
            v = merged.get(key)
            return v if isinstance(v, str) else None

        model = merged.get("model_name")
        props = merged.get("properties")
        properties = tuple(sorted((k, _plain(v)) for k, v in props.items()
                                  if k not in PROPERTIES or isinstance(v, bool))) if isinstance(props, dict) else ()
        self._rule_properties(e)
        return DesiredReplica(
            name=name,
            replica_id=replica_id if isinstance(replica_id, str) else None,
            train_video_url=text("train_video_url"),
            train_image_url=text("train_image_url"),
            voice_name=text("voice_name"),
            consent_video_url=text("consent_video_url"),
            synthetic=merged.get("synthetic") is True,
            model_name=model if isinstance(model, str) else None,
            callback_url=text("callback_url") or None,
            protect=merged.get("protect") is True,
            missing_vars=tuple(sorted(missing)),
            line=e.start[0],
            consent_in_training_video=merged.get("consent_in_training_video") is True,
            properties=properties,
        )

    # ----------------------------------------------------------------- the semantic rules, one per function

    def _rule_name(self, e: _Entry, name: str, settings: Settings, names: dict[str, int]) -> str:
        """The name is plain text (no unset ${VAR}, control or invisible character), declared once, in scope.
        Returns the label to name the entry with in later messages."""
        doc, diags, i = self.doc, self.diags, e.i
        npath = e.base + ("name",)
        label = name
        name_ok = True
        if npath in doc.missing:
            self._unset_identity(npath, f"replicas[{i}].name")
            label, name_ok = f"replicas[{i}]", False
        elif CONTROL_CHARS.search(name):
            diags.error(doc.at(npath), f"replicas[{i}]: name must not contain control characters")
            name_ok = False
        elif (bad := _invisible_in(name)) is not None:
            diags.error(doc.at(npath), f"replicas[{i}]: name contains the invisible character {bad}: "
                                       "remove it (it makes the name look like another one)")
            name_ok = False
            label = f"replicas[{i}]"
        if name_ok and name.strip() and name == name.strip():
            if name in names:
                diags.error(doc.at(npath), f"duplicate name {short(name)} (first declared at line {names[name]})")
            else:
                names[name] = e.start[0]
                self._lookalike_warnings(name, doc.at(npath))
            if settings.name_prefix and not name.startswith(settings.name_prefix):
                diags.error(doc.at(npath),
                            f"{name}: the name is outside this file's scope: it must start with "
                            f"{settings.name_prefix!r} (settings.scope.name_prefix)")
        return label

    def _rule_replica_id(self, e: _Entry, label: str, ids: dict[str, int]) -> Any:
        """An adopted replica_id is known (no unset ${VAR}) and declared once. Returns the raw value."""
        doc = self.doc
        rpath = e.base + ("replica_id",)
        replica_id = e.entry.get("replica_id")
        if rpath in doc.missing:
            self._unset_identity(rpath, f"{label}: replica_id")
        elif isinstance(replica_id, str) and replica_id:
            if replica_id in ids:
                self.diags.error(doc.at(rpath),
                                 f"{label}: replica_id {replica_id} is already used at line {ids[replica_id]}")
            else:
                ids[replica_id] = e.start[0]
        return replica_id

    def _rule_training_source(self, e: _Entry, label: str) -> None:
        """Exactly one training source: train_video_url, or train_image_url + voice_name (unless adopted)."""
        merged, diags, start = e.merged, self.diags, e.start
        has_video, has_image, has_voice = (merged.get(f) is not None for f in
                                           ("train_video_url", "train_image_url", "voice_name"))
        if has_video and (has_image or has_voice):
            diags.error(start, f"{label}: declare either train_video_url or train_image_url + voice_name, not both")
        elif has_voice and not has_image:
            diags.error(start, f"{label}: voice_name needs train_image_url (a replica trained from an image "
                               "uses a stock voice); for a video use train_video_url alone")
        elif has_image and not has_voice:
            diags.error(start, f"{label}: train_image_url needs voice_name (the stock voice of a replica trained "
                               "from an image)")
        elif not e.adopted and not has_video and not has_image and not e.unknown:
            diags.error(start, f"{label}: no training source: set train_video_url, or train_image_url + "
                               "voice_name (or replica_id to adopt an existing replica)")

    def _rule_consent(self, e: _Entry, label: str) -> None:
        """A human replica has consent: a consent video, or the statement in its training video (not both)."""
        merged, diags, start = e.merged, self.diags, e.start
        synthetic = merged.get("synthetic") is True
        in_video = merged.get("consent_in_training_video") is True
        if in_video and "consent_video_url" in e.entry:
            diags.error(start, f"{label}: declare either consent_video_url or consent_in_training_video: true, "
                               "not both")
        if not e.adopted and not synthetic and not in_video and merged.get("consent_video_url") is None \
                and not e.unknown:
            diags.error(start, f"{label}: consent_video_url is required for a human replica (or set synthetic: "
                               "true); when the training video opens with the consent statement, set "
                               "consent_in_training_video: true instead")

    def _rule_vars_and_urls(self, e: _Entry, label: str) -> set[str]:
        """Unset ${VAR}s are warned about (they matter only at create); each URL is a usable http(s) URL.
        Returns the unset variables the entry needs."""
        doc, diags = self.doc, self.diags
        missing: set[str] = set()
        for key in e.merged:
            if key in IDENTITY_FIELDS:
                continue
            p = e.path(key)
            unset = doc.missing.get(p, ())
            if unset:
                missing.update(unset)
                if not e.source.get(key):
                    for var in unset:
                        diags.warning(doc.at(p), f"${{{var}}} is not set (needed only when {label} is created)")
                continue
            value = e.merged[key]
            if key in URL_FIELDS and isinstance(value, str) and p not in doc.skip:
                if value == "":
                    if key != "callback_url":
                        diags.error(doc.at(p), f"{label}: {key} is empty")
                    continue
                problem = _url_problem(value)
                if problem:
                    diags.error(doc.at(p), f"{label}: {key} {problem} (got {_show_url(value)})")
        return missing

    def _rule_model(self, e: _Entry, label: str) -> None:
        """A model this version does not know is sent as is, with a warning."""
        doc = self.doc
        model = e.merged.get("model_name")
        mpath = e.path("model_name")
        if isinstance(model, str) and model not in MODELS and mpath not in doc.skip and mpath not in doc.missing:
            self.diags.warning(doc.at(mpath), f"{label}: model_name {short(model)} is not one this "
                                              f"version knows ({', '.join(MODELS)}); it is sent as is")


    def _rule_properties(self, e: _Entry) -> None:
        """A ``properties`` key the API does not document is sent as written, with ONE warning naming it (the
        first place it is written; not again for every replica that has or inherits it)."""
        props = e.merged.get("properties")
        if not isinstance(props, dict):
            return
        path = e.path("properties")
        for key in props:
            if key not in PROPERTIES:
                self.warn_once(f"properties.{key}", self.doc.key_at(path + (key,)),
                               f"properties: {short(key)} is not a create-time property the API documents "
                               f"({', '.join(PROPERTIES)}); it is sent as written")

    def warn_once(self, key: str, pos: Pos, message: str) -> None:
        """One warning per ``key`` (a field name) for the whole file, at its first place."""
        warned = self.__dict__.setdefault("_warned", set())
        if key not in warned:
            warned.add(key)
            self.diags.warning(pos, message)


class _Entry:
    """One replica entry under validation: as written, with defaults merged, and where each field came from."""

    __slots__ = ("i", "entry", "merged", "source", "start", "base", "adopted", "unknown")

    def __init__(self, i: int, entry: dict, merged: dict, source: dict[str, tuple], start: Pos):
        self.i = i
        self.entry = entry
        self.merged = merged
        self.source = source
        self.start = start
        self.base = ("replicas", i)
        self.adopted = "replica_id" in entry
        # a misspelt field is reported as unknown: do not also report the field it was meant to be as missing
        self.unknown = any(k not in REPLICA_FIELDS for k in entry)

    def path(self, key: str) -> tuple:
        """Where ``key``'s value is written: in the entry, or under defaults:."""
        return self.source.get(key) or self.base + (key,)


# --------------------------------------------------------------------------------------- personas (issue 17)

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
_ONLY_VAR = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}\Z")


def _objects(doc: Document, diags: Diagnostics, settings: Settings) -> dict[str, tuple]:
    """The entries of the kinds the generic engine plans (their kinds/<kind>/rules.py; reconciler.engine.rules)."""
    from reconciler.engine.rules import load_objects
    from reconciler.kinds import kinds

    return load_objects(doc, diags, settings, kinds())


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
        attributes = {k: _plain(v) for k, v in entry.items() if k not in PERSONA_OWN}
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

        root = self.doc.root
        declared = {w.kind: ({e.get("name") for e in root[w.kind] if isinstance(e, dict)}
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
        if (bad := _invisible_in(name)) is not None:
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
            if not isinstance(value, str) or raw is None or not _ONLY_VAR.match(raw):
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


def _plain(value: Any) -> Any:
    """A deep copy of a located value as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
