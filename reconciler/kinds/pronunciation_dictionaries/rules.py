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

from typing import Any

from reconciler.engine.checks import NamedRules, RuleSem, fragment, suggest
from reconciler.engine.checks import plain as _plain
from reconciler.engine.checks import removed_names as _removed
from reconciler.engine.yamlpos import short
from reconciler.kinds.pronunciation_dictionaries.models import RULE_KEYS, RULE_TYPES, DesiredDictionary

ID_KEY = "pronunciation_dictionary_id"
OWN = ("name", ID_KEY, "protect", "rules")


def schema() -> dict:
    """This kind's schema fragment: the JSON Schema of the file's ``pronunciation_dictionaries:`` section."""
    return fragment("reconciler.kinds.pronunciation_dictionaries")


def section() -> dict:
    """The JSON Schema of the list under ``pronunciation_dictionaries:`` (the fragment's ``section``)."""
    return schema()["section"]


def known_fields() -> list[str]:
    return list(section()["items"]["properties"])


def parse(entries: Any, ctx: Any) -> tuple:
    """The loader's hook (``reconciler.engine.rules``): the desired entries of ``pronunciation_dictionaries:``."""
    root = ctx.doc.root if isinstance(ctx.doc.root, dict) else {}
    sem = getattr(ctx, "sem", None) or RuleSem(ctx)
    return DictionaryRules(sem).run(entries, ctx.settings, _removed(root.get("removed")))


class DictionaryRules(NamedRules):
    """``sem`` is the engine's validation context (see ``reconciler.kinds.tools.rules.ToolRules``). After
    :meth:`run`, ``names`` maps each declared name to its line (what a persona's
    ``layers.tts.pronunciation_dictionary`` may cite)."""

    key = "pronunciation_dictionaries"
    noun = "pronunciation dictionary"
    id_key = ID_KEY

    def __init__(self, sem: Any):
        self.sem = sem
        self.doc = sem.doc
        self.diags = sem.diags
        self.names: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.removed: tuple[str, ...] = ()

    def _entry(self, i: int, entry: dict, settings: Any) -> DesiredDictionary | None:
        base = (self.key, i)
        label, ok = self.rule_name(base, entry["name"], getattr(settings, "name_prefix", None))
        pinned = self.rule_id(base, entry, label)
        rules_ok = self._rule_rules(base, entry, label)
        self._rule_unknown_fields(base, entry)
        missing = self.rule_vars(base, label)
        if not ok or not rules_ok:
            return None
        rules = entry.get("rules") if isinstance(entry.get("rules"), list) else []
        extra = tuple(sorted((k, _plain(v)) for k, v in entry.items() if k not in known_fields()))
        return DesiredDictionary(name=entry["name"], rules=tuple(_plain(r) for r in rules if isinstance(r, dict)),
                                 dictionary_id=pinned, extra=extra, protect=entry.get("protect") is True,
                                 missing_vars=tuple(sorted(missing)), line=self.doc.at(base)[0])

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
            close = suggest(kind, RULE_TYPES)
            hint = f"did you mean {close!r}?" if close else f"documented: {', '.join(RULE_TYPES)}"
            self.sem.warn_once(f"pronunciation:type={kind}", self.doc.at(rpath + ("type",)),
                               f"pronunciation_dictionaries: rule type {short(kind)} is not documented ({hint}); it "
                               "is sent as written")
        for key in rule:
            if isinstance(key, str) and key not in RULE_KEYS:
                close = suggest(key, RULE_KEYS)
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
            close = suggest(key, known)
            hint = f" (did you mean {close!r}?)" if close else ""
            self.sem.warn_once(f"pronunciation:{key}", self.doc.key_at(base + (key,)),
                               f"pronunciation_dictionaries: field {short(key)} is not one this version documents"
                               f"{hint}; it is sent to the API as written")
