"""The semantic rules of ``pronunciation_dictionaries:``, one per method, run for every entry; builds
:class:`DesiredDictionary`.

Located one-line errors (what, where, how to fix): a name that is unset, holds control or invisible characters,
is declared twice, is outside the scope or also under ``removed:``; a pinned id declared twice; a rule without a
``type``; a rule ``text`` declared twice in one dictionary (the API refuses duplicates). Warnings: a field, rule
member or rule type this version does not document (sent as written, one warning per field for the whole
file), two rules whose texts differ only by case while neither is case-sensitive, an unset ``${VAR}`` outside
the identity. Dictionaries carry no secret.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib.resources import files
from typing import Any

from reconciler.api.redact import CONTROL_CHARS
from reconciler.engine.checks import plain as _plain
from reconciler.engine.checks import removed_names as _removed
from reconciler.engine.yamlpos import short
from reconciler.kinds.pronunciation_dictionaries.models import RULE_KEYS, RULE_TYPES, DesiredDictionary

ID_KEY = "pronunciation_dictionary_id"
OWN = ("name", ID_KEY, "protect", "rules")
IDENTITY = ("name", ID_KEY)


@cache
def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``pronunciation_dictionaries:`` section."""
    return json.loads(files("reconciler.kinds.pronunciation_dictionaries").joinpath("schema.json")
                      .read_text(encoding="utf-8"))


def section() -> dict:
    """The JSON Schema of the list under ``pronunciation_dictionaries:`` (the fragment's ``section``)."""
    return schema()["section"]


def known_fields() -> list[str]:
    return list(section()["items"]["properties"])


class _Sem:
    """The validation context the rules speak (``doc``, ``diags``, ``_unset_identity``, ``warn_once``), over the
    engine loader's ``ctx`` (``reconciler.engine.rules.RuleContext``: ``doc``, ``diags``, ``settings``)."""

    def __init__(self, ctx: Any):
        self.doc, self.diags = ctx.doc, ctx.diags
        self._warned: set[str] = set()

    def _unset_identity(self, path: tuple, what: str) -> None:
        for var in self.doc.missing[path]:
            self.diags.error(self.doc.at(path), f"${{{var}}} is not set: {what} must be known to plan (set the "
                                                "variable or give a default with ${VAR:-default})")

    def warn_once(self, key: str, pos: Any, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.diags.warning(pos, message)


def parse(entries: Any, ctx: Any) -> tuple:
    """The loader's hook (``reconciler.engine.rules``): the desired entries of ``pronunciation_dictionaries:``."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    sem = getattr(ctx, "sem", None) or _Sem(ctx)
    return DictionaryRules(sem).run(entries, ctx.settings, _removed(root.get("removed")))


def _suggest(key: str, known: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


class DictionaryRules:
    """``sem`` is the engine's validation context (see ``reconciler.kinds.tools.rules.ToolRules``). After
    :meth:`run`, ``names`` maps each declared name to its line (what a persona's
    ``layers.tts.pronunciation_dictionary`` may cite)."""

    key = "pronunciation_dictionaries"

    def __init__(self, sem: Any):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def run(self, raw: Any, settings: Any, removed: tuple[str, ...] = ()) -> tuple[DesiredDictionary, ...]:
        if not isinstance(raw, list):
            return ()
        self.removed = tuple(removed)
        out = []
        for i, entry in enumerate(raw):
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                desired = self._entry(i, entry, settings)
                if desired is not None:
                    out.append(desired)
        return tuple(out)

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredDictionary | None:
        base = (self.key, i)
        label, ok = self._rule_name(base, entry["name"], settings)
        pinned = self._rule_id(base, entry, label)
        rules_ok = self._rule_rules(base, entry, label)
        self._rule_unknown_fields(base, entry)
        missing = self._rule_vars(base, label)
        if not ok or not rules_ok:
            return None
        rules = entry.get("rules") if isinstance(entry.get("rules"), list) else []
        extra = tuple(sorted((k, _plain(v)) for k, v in entry.items() if k not in known_fields()))
        return DesiredDictionary(name=entry["name"], rules=tuple(_plain(r) for r in rules if isinstance(r, dict)),
                                 dictionary_id=pinned, extra=extra, protect=entry.get("protect") is True,
                                 missing_vars=tuple(sorted(missing)), line=self.doc.at(base)[0])

    def _rule_name(self, base: tuple, name: str, settings: Any) -> tuple[str, bool]:
        from reconciler.engine.checks import invisible_in as _invisible_in

        doc, diags, i = self.doc, self.diags, base[1]
        npath, fallback = base + ("name",), f"{self.key}[{i}]"
        if npath in doc.missing:
            self.sem._unset_identity(npath, f"{fallback}.name")
            return fallback, False
        if CONTROL_CHARS.search(name):
            diags.error(doc.at(npath), f"{fallback}: name must not contain control characters")
            return fallback, False
        if (bad := _invisible_in(name)) is not None:
            diags.error(doc.at(npath), f"{fallback}: name contains the invisible character {bad}: remove it (it "
                                       "makes the name look like another one)")
            return fallback, False
        if not name.strip() or name != name.strip():
            return fallback, False  # the schema reported it
        if name in self.removed:
            diags.error(doc.at(npath), f"{name}: the pronunciation dictionary is also listed under removed: "
                                       "(released from management): remove it from one of the two")
        if name in self.names:
            diags.error(doc.at(npath), f"duplicate pronunciation dictionary name {short(name)} (first declared at "
                                       f"line {self.names[name]})")
        else:
            self.names[name] = doc.at(base)[0]
        prefix = getattr(settings, "name_prefix", None)
        if prefix and not name.startswith(prefix):
            diags.error(doc.at(npath), f"{name}: the name is outside this file's scope: it must start with "
                                       f"{prefix!r} (settings.scope.name_prefix)")
        return name, True

    def _rule_id(self, base: tuple, entry: dict, label: str) -> str | None:
        path, value = base + (ID_KEY,), entry.get(ID_KEY)
        if path in self.doc.missing:
            self.sem._unset_identity(path, f"{label}: {ID_KEY}")
            return None
        if not isinstance(value, str) or not value:
            return None
        if value in self.ids:
            self.diags.error(self.doc.at(path), f"{label}: {ID_KEY} {value} is already used at line {self.ids[value]}")
            return None
        self.ids[value] = self.doc.at(base)[0]
        return value

    def _rule_rules(self, base: tuple, entry: dict, label: str) -> bool:
        """Each rule has a ``type``, and its ``text`` is unique in the dictionary. False on an error."""
        rules = entry.get("rules")
        if not isinstance(rules, list):
            return True
        ok, seen, folded = True, {}, {}
        for j, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            rpath = base + ("rules", j)
            ok = self._rule_one(rpath, rule, label) and ok
            text = rule.get("text")
            if not isinstance(text, str):
                continue
            if text in seen:
                self.diags.error(self.doc.at(rpath + ("text",)), f"{label}: rule text {short(text)} is already "
                                                                 f"declared at line {seen[text]} (each text once)")
                ok = False
                continue
            seen[text] = self.doc.at(rpath)[0]
            key = text.casefold()
            if key in folded and not rule.get("case_sensitive") and not folded[key][1]:
                self.diags.warning(self.doc.at(rpath + ("text",)), f"{label}: rule text {short(text)} differs only "
                                                                   f"by case from line {folded[key][0]}, and neither "
                                                                   "rule is case_sensitive")
            folded.setdefault(key, (seen[text], bool(rule.get("case_sensitive"))))
        return ok

    def _rule_one(self, rpath: tuple, rule: dict, label: str) -> bool:
        kind = rule.get("type")
        if "type" not in rule:
            self.diags.error(self.doc.at(rpath), f"{label}: rule {short(str(rule.get('text', '')))} needs a type: "
                                                 f"{' or '.join(RULE_TYPES)}")
            return False
        if isinstance(kind, str) and kind not in RULE_TYPES:
            close = _suggest(kind, RULE_TYPES)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(RULE_TYPES)}"
            self.sem.warn_once(f"pronunciation:type={kind}", self.doc.at(rpath + ("type",)),
                               f"pronunciation_dictionaries: rule type {short(kind)} is not documented ({hint}); it "
                               "is sent as written")
        for key in rule:
            if isinstance(key, str) and key not in RULE_KEYS:
                close = _suggest(key, RULE_KEYS)
                hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(RULE_KEYS)}"
                self.sem.warn_once(f"pronunciation:rule.{key}", self.doc.key_at(rpath + (key,)),
                                   f"pronunciation_dictionaries: rule member {short(key)} is not documented "
                                   f"({hint}); it is sent as written")
        return True

    def _rule_unknown_fields(self, base: tuple, entry: dict) -> None:
        known = known_fields()
        for key in entry:
            if key in known or not isinstance(key, str):
                continue
            close = _suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.sem.warn_once(f"pronunciation:{key}", self.doc.key_at(base + (key,)),
                               f"pronunciation_dictionaries: field {short(key)} is not one this version documents"
                               f"{hint}; it is sent to the API as written")

    def _rule_vars(self, base: tuple, label: str) -> set[str]:
        missing: set[str] = set()
        identity = {base + (k,) for k in IDENTITY}
        for path, unset in self.doc.missing.items():
            if path[:2] != base or path in identity:
                continue
            missing.update(unset)
            for var in unset:
                self.diags.warning(self.doc.at(path), f"${{{var}}} is not set (needed when {label} is created or "
                                                      "updated)")
        return missing
