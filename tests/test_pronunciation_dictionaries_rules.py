"""kinds/pronunciation_dictionaries/rules.py and schema.json: located errors and warnings."""

from __future__ import annotations

import textwrap

from jsonschema import Draft202012Validator

from reconciler.engine.models import Settings
from reconciler.engine.validation import Semantics
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.kinds.pronunciation_dictionaries.rules import DictionaryRules, parse, section


def run(text: str, env=None, settings=None, removed=()):
    text = textwrap.dedent(text)
    diags = Diagnostics("f.yaml")
    doc = Builder(text, diags, env or {}).build()
    sem = Semantics(doc, diags, "f.yaml", text)
    rules = DictionaryRules(sem)
    out = rules.run(doc.root.get("pronunciation_dictionaries"), settings or Settings(), removed)
    return out, diags.render() if diags.errors else [], list(diags.rendered_warnings()), rules


def test_a_valid_section():
    out, errors, warnings, rules = run("""
        pronunciation_dictionaries:
          - name: acme-terms
            rules: [{text: Tavus, pronunciation: TAH-vus, type: alias}, {text: bayou, pronunciation: bai, type: ipa}]
          - name: acme-pinned
            pronunciation_dictionary_id: pd_1
    """)
    assert errors == [] and warnings == []
    assert [d.name for d in out] == ["acme-terms", "acme-pinned"] and len(out[0].rules) == 2
    assert out[1].dictionary_id == "pd_1" and out[1].rules == ()
    assert rules.names == {"acme-terms": 3, "acme-pinned": 5}


def test_duplicate_text_and_missing_type_are_located_errors():
    out, errors, _, _ = run("""
        pronunciation_dictionaries:
          - name: d
            rules:
              - {text: Tavus, pronunciation: TAH-vus, type: alias}
              - {text: Acme, pronunciation: AK-mee}
              - {text: Tavus, pronunciation: TAY-vus, type: alias}
    """)
    assert out == ()
    assert "f.yaml:6:9: d: rule 'Acme' needs a type: alias or ipa" in errors
    assert "f.yaml:7:16: d: rule text 'Tavus' is already declared at line 5 (each text once)" in errors
    assert len(errors) == 2


def test_names_scope_removed_and_ids():
    _, errors, _, _ = run("""
        pronunciation_dictionaries:
          - name: acme-a
          - name: acme-a
          - name: other
          - name: acme-b
            pronunciation_dictionary_id: pd_1
          - name: acme-c
            pronunciation_dictionary_id: pd_1
          - name: acme-gone
    """, settings=Settings(name_prefix="acme-"), removed=("acme-gone",))
    assert any(e.startswith("f.yaml:4:11: duplicate pronunciation dictionary name 'acme-a'") for e in errors)
    assert any(e.startswith("f.yaml:5:11: other: the name is outside this file's scope") for e in errors)
    assert "f.yaml:9:34: acme-c: pronunciation_dictionary_id pd_1 is already used at line 6" in errors
    assert any("acme-gone: the pronunciation dictionary is also listed under removed:" in e for e in errors)
    assert len(errors) == 4


def test_warnings_for_what_is_not_documented():
    out, errors, warnings, _ = run("""
        pronunciation_dictionaries:
          - name: d
            descripton: x
            rules:
              - {text: Tavus, pronunciation: TAH-vus, type: alais, casesensitive: true}
              - {text: tavus, pronunciation: TAH-vus, type: alias}
    """)
    assert errors == [] and out[0].extra == (("descripton", "x"),)
    joined = "\n".join(warnings)
    assert "rule type 'alais' is not documented (did you mean 'alias'?)" in joined
    assert "rule member 'casesensitive' is not documented (did you mean 'case_sensitive'?)" in joined
    assert "field 'descripton' is not one this version documents" in joined
    assert "rule text 'tavus' differs only by case from line 6" in joined


def test_schema_fragment():
    Draft202012Validator.check_schema(section())
    v = Draft202012Validator(section())
    assert list(v.iter_errors([{"name": "a", "rules": [{"text": "a", "pronunciation": "b", "new": 1}], "x": 1}])) == []
    assert [e.validator for e in v.iter_errors([{"name": "a" * 256}])] == ["maxLength"]
    assert [e.validator for e in v.iter_errors([{"name": "a", "rules": [{"text": "a"}]}])] == ["required"]
    assert section()["items"]["properties"]["rules"]["maxItems"] == 10000


class Ctx:  # the engine loader's RuleContext, as far as the rules use it
    def __init__(self, text):
        self.diags = Diagnostics("f.yaml")
        self.doc = Builder(textwrap.dedent(text), self.diags, {}).build()
        self.settings = Settings()


def test_parse_is_the_loader_hook():
    ctx = Ctx("""
        pronunciation_dictionaries:
          - name: a
            rules: [{text: x, pronunciation: y, type: alias}]
          - name: gone
        removed: [gone]
    """)
    assert [d.name for d in parse(ctx.doc.root["pronunciation_dictionaries"], ctx)] == ["a", "gone"]
    assert any("gone: the pronunciation dictionary is also listed under removed:" in e for e in ctx.diags.render())
