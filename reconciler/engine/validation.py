"""Validating the located document: JSON Schema errors worded for people, then the semantic rules.

The schema errors say what is wrong, where and how to fix it; the semantic rules are each kind's
(``kinds/<kind>/rules.py``), asked through the hooks below (``reconciler.engine.rule_hooks``): this module
names no kind.

A kind's rules module may define (each optional): ``load(semantics, root, settings, shared)`` -> its fields of
the Config (None: stop, nothing more can be checked; ``shared`` carries what a later kind reads), or else
``parse(entries, ctx)`` for the generic engine (``reconciler.engine.rules``); ``LABEL_BY_NAME`` (messages name
an entry by its name); ``VALIDATE_ENTRIES_APART`` (each entry shape of a long list validated once);
``ENTRY_CHECKS`` (an entry's oneOf/if/then/allOf errors are worded by the rules instead); ``PATTERN_WORDING``;
``unknown_field(path, key)``; ``any_of_wording(error, label, path)``; ``IDENTITY_KEYS``; ``located(doc,
root, where)`` (what the offline policy rules read).
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
from typing import Any

from reconciler.engine.checks import invisible_in as _invisible_in  # noqa: F401 - kinds/pronunciation_dictionaries imports it
from reconciler.engine.checks import plain_name
from reconciler.engine.models import (
    DEFAULT_MASS_MIN_CHANGES,
    DEFAULT_MASS_PERCENT,
    Config,
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
from reconciler.engine.rule_hooks import hooks, keys_with, nouns
from reconciler.engine.yamlpos import Diagnostics, Document, Pos, kind, short
from reconciler.kinds import DOCUMENT_SCHEMA_FILE

SCHEMA_FILE = DOCUMENT_SCHEMA_FILE  # the published file's name (schemas/), kept for the users who point at it



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


class _Entries:
    """The validator of one kind's entries (``VALIDATE_ENTRIES_APART``), and each of their string fields.

    A file with thousands of entries validates each entry *shape* once: string fields whose value the
    field's own schema accepts are replaced by a placeholder the field also accepts, so entries that differ
    only in names and URLs share one validation. Entries that are not known valid are validated in full. With
    ``checked`` (the kind's ``ENTRY_CHECKS``), a shape whose only errors are the entry's own combinators (which
    :func:`check_schema` leaves to the kind's rules: an entry whose training source comes from ``defaults:``)
    counts as valid too: a file of 10,000 such entries validated each in full took 4x longer.
    """

    _PLACEHOLDER = "x"

    def __init__(self, entry_schema: dict, checked: bool = False):
        from jsonschema import Draft202012Validator

        self.entry = Draft202012Validator(entry_schema)
        self.checked = checked
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

    def iter_errors(self, key: str, entries: list):
        """(absolute path, error) for every schema error in the entries of ``key``."""
        for i, entry in enumerate(entries):
            shape = self._shape(entry) if isinstance(entry, dict) else None
            if shape is not None and shape in self._valid_shapes:
                continue
            errors = list(self.entry.iter_errors(entry))
            if shape is not None and all(self.checked and _left_to_rules(e.absolute_path, e) for e in errors):
                self._valid_shapes.add(shape)
            for error in errors:
                yield (key, i, *error.absolute_path), error


class _SchemaValidators:
    """Validators for the file's schema: the document without the entries of the kinds validated apart, and
    those kinds' entries (:class:`_Entries`)."""

    def __init__(self):
        from jsonschema import Draft202012Validator

        schema = _inline_refs(load_schema(SCHEMA_FILE), load_schema(SCHEMA_FILE).get("$defs", {}))
        checked = keys_with("ENTRY_CHECKS")
        self.entries = {key: _Entries(schema["properties"][key].pop("items"), key in checked)
                        for key in sorted(keys_with("VALIDATE_ENTRIES_APART")) if key in schema["properties"]}
        self.document = Draft202012Validator(schema)

    def iter_errors(self, root: Any):
        """(absolute path, error) for every schema error in the document."""
        for error in self.document.iter_errors(root):
            yield tuple(error.absolute_path), error
        for key, entries in self.entries.items():
            listed = root.get(key) if isinstance(root, dict) else None
            if isinstance(listed, list):
                yield from entries.iter_errors(key, listed)


@functools.cache
def _validators() -> _SchemaValidators:
    return _SchemaValidators()



# --------------------------------------------------------------------------------------- schema errors


def _label(doc: Document, path: tuple) -> str:
    """How to name ``path`` in a message: ``acme-anna: model_name`` (a kind's ``LABEL_BY_NAME``),
    ``documents[3].url``, ``settings.prune``."""
    parts: list[str] = []
    rest = list(path)
    if len(rest) >= 2 and isinstance(rest[1], int) and rest[0] in keys_with("LABEL_BY_NAME"):
        entry = doc.root[rest[0]][rest[1]] if isinstance(doc.root.get(rest[0]), list) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        known = plain_name(name) and (rest[0], rest[1], "name") not in doc.missing
        head = name if known else f"{rest[0]}[{rest[1]}]"
        rest = rest[2:]
        if not rest:
            return head
        parts.append(head + ":")
    dotted = ""
    for p in rest:
        dotted += f"[{p}]" if isinstance(p, int) else (f".{p}" if dotted else str(p))
    return " ".join(parts + [dotted]) if dotted else " ".join(parts)



def _allowed_fields(schema: dict) -> list[str]:
    return list(schema.get("properties", {}))


def check_schema(doc: Document, diags: Diagnostics) -> None:
    checked = keys_with("ENTRY_CHECKS")
    for path, error in _validators().iter_errors(doc.root):
        if any(path[:i] in doc.skip for i in range(len(path) + 1)):
            continue
        if len(path) == 2 and path[0] in checked and _left_to_rules((), error):
            continue  # e.g. a training source / consent: reported by the kind's rules, with better words
        _report_schema_error(doc, diags, error, path)


def _left_to_rules(within_entry, error) -> bool:
    """An error of an entry's own oneOf/if/then/allOf (a kind with ``ENTRY_CHECKS`` words those itself)."""
    return not within_entry and bool(set(error.schema_path) & {"oneOf", "then", "if", "allOf"})


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
    words = [hook for _key, hook in hooks("unknown_field")]
    for key in error.instance:
        if key in allowed:
            continue
        msg = next((m for m in (hook(path, key) for hook in words) if m is not None), None)
        if msg is None:
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


_PATTERN_WORDING = {"name": "{label} must not start or end with whitespace: {value}"}  # and each kind's


def _bad_pattern(error, label: str, path: tuple) -> str | None:
    if error.instance == "":
        return _REPORTED_ELSEWHERE  # reported as empty (minLength)
    field = path[-1] if path and isinstance(path[-1], str) else None
    wording = _PATTERN_WORDING.get(field) or next(
        (w[field] for _key, w in hooks("PATTERN_WORDING") if field in w), None)
    return wording.format(label=label, value=short(error.instance)) if wording else None


def _too_short(error, label: str, path: tuple) -> str:
    return f"{label} must not be empty"


def _too_long(error, label: str, path: tuple) -> str:
    return f"{label} is too long ({len(error.instance)} characters; at most {error.validator_value})"


def _too_small(error, label: str, path: tuple) -> str:
    return f"{label} must be at least {error.validator_value}, not {short(error.instance)}"


def _too_large(error, label: str, path: tuple) -> str:
    return f"{label} must be at most {error.validator_value}, not {short(error.instance)}"


def _bad_any_of(error, label: str, path: tuple) -> str | None:
    """``removed:`` items, and policy rules (their value, or {value: V, level: warning})."""
    if "policy" in path[:2] or (path and path[0] in _policy_rules()):
        rule = path[-1]
        want = {"patterns": "a list of patterns", "kinds": f"a list of kinds ({_kinds_enum()})",
                "flag": "true or false", "limit": "a whole number of at least 0",
                "conversation": "true (refused in CI), false or always"}.get(_policy_rules().get(rule, ("",))[0],
                                                                             "its value")
        return f"{label} must be {want}, or {{value: ..., level: warning}} for a soft rule, not {short(error.instance)}"
    return next((m for m in (hook(error, label, path) for _key, hook in hooks("any_of_wording")) if m is not None),
                None)


def _kinds_enum() -> str:
    """The kinds a policy rule may name, as its schema lists them (``$defs.kind_key``)."""
    from reconciler.engine.schema import document_schema

    return ", ".join(map(str, document_schema()["$defs"]["kind_key"]["enum"]))


def _policy_rules() -> dict:
    from reconciler.engine.policy import RULES

    return RULES


_WORDING = {"type": _wrong_type, "enum": _not_one_of, "const": _not_const, "pattern": _bad_pattern,
            "minLength": _too_short, "maxLength": _too_long, "anyOf": _bad_any_of, "minimum": _too_small,
            "maximum": _too_large}


# --------------------------------------------------------------------------------------- semantics



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
        fields: dict[str, Any] = {}
        shared: dict[str, Any] = {}
        for _key, load in hooks("load"):  # the kinds loaded by their own rules, in the registry's order
            loaded = load(self, root, settings, shared)
            if loaded is None:
                return None
            fields.update(loaded)
        objects = _objects(self.doc, self.diags, settings)
        rules, findings = self._policy(root)
        if self.diags.errors:
            return None
        version = root.get("version")
        return Config(path=self.path, settings=settings, version=version if isinstance(version, int) else 1,
                      warnings=self.diags.rendered_warnings(), source=self.text,
                      policy=rules, policy_findings=findings, objects=objects, **fields)

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

        def where(path: tuple) -> str:
            line, col = self.doc.at(path)
            return f"{self.path}:{line}:{col}"

        return Located({key: located(self.doc, root, where) for key, located in hooks("located")})

    def _lookalike_warnings(self, name: str, pos: Pos) -> None:
        """Warn when a declared name equals an earlier one under Unicode normalisation and case folding, or
        mixes look-alike scripts (a Cyrillic "а" among Latin letters)."""
        import unicodedata

        ascii_name = name.isascii()  # NFKC leaves ASCII as it is, and its letters are all Latin
        folded = name.casefold() if ascii_name else unicodedata.normalize("NFKC", name).casefold()
        seen = self.folded
        if folded in seen:
            other, line = seen[folded]
            self.diags.warning(pos, f"name {short(name)} {ascii(name)} looks the same as {short(other)} "
                                    f"{ascii(other)} (line {line}) once Unicode normalisation and case are "
                                    "ignored: a reader cannot tell them apart")
        else:
            seen[folded] = (name, pos[0])
        if ascii_name:
            return
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
        drafts = raw.get("discard_editor_drafts")  # issue 25: the names whose editor drafts an update overwrites
        drafts = tuple(n for n in drafts if isinstance(n, str)) if isinstance(drafts, list) else ()
        prefix = prefix if isinstance(prefix, str) and prefix else None
        whole = isinstance(scope, dict) and scope.get("whole_account") is True
        if whole and prefix:
            self.diags.error(self.doc.key_at(("settings", "scope", "whole_account")),
                             "settings.scope: declare either name_prefix or whole_account: true, not both")
        if prune and not prefix and not whole and ("settings", "prune") not in self.doc.skip:
            self.diags.error(self.doc.at(("settings", "prune")),
                             f"settings.prune: true needs a scope, or it would delete every {nouns()} on the "
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


    def warn_once(self, key: str, pos: Pos, message: str) -> None:
        """One warning per ``key`` (a field name) for the whole file, at its first place."""
        warned = self.__dict__.setdefault("_warned", set())
        if key not in warned:
            warned.add(key)
            self.diags.warning(pos, message)



def _objects(doc: Document, diags: Diagnostics, settings: Settings) -> dict[str, tuple]:
    """The entries of the kinds the generic engine plans (their kinds/<kind>/rules.py; reconciler.engine.rules)."""
    from reconciler.engine.rules import load_objects
    from reconciler.kinds import kinds

    return load_objects(doc, diags, settings, kinds())

