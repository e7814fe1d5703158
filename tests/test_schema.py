"""reconciler.engine.schema: the file's schema is the base plus every kind's fragment, equal to the published one."""

import json
from pathlib import Path

import pytest

from reconciler.engine.schema import SchemaAssemblyError, assemble, document_schema, fragment, main
from reconciler.engine.validation import load_schema
from reconciler.kinds import registered

ROOT = Path(__file__).resolve().parent.parent


def test_the_assembly_is_the_published_schema_field_for_field_and_in_order():
    published = json.loads((ROOT / "schemas" / "replicas.schema.json").read_text(encoding="utf-8"))
    got = document_schema()
    assert got == published
    assert list(got["properties"]) == list(published["properties"])
    assert load_schema("replicas.schema.json") is got


def test_every_registered_kind_has_a_fragment_with_a_section():
    for k in registered():
        assert "section" in fragment(k), k.key


def test_a_section_twice_or_a_conflicting_def_is_an_error():
    part = {"section": {"type": "array"}, "$defs": {"x": {"type": "string"}}}
    with pytest.raises(SchemaAssemblyError, match="defined twice"):
        assemble({"properties": {}}, [("a", part), ("a", part)])
    other = {"section": {"type": "array"}, "$defs": {"x": {"type": "integer"}}}
    with pytest.raises(SchemaAssemblyError, match="'x' of kind b differs"):
        assemble({"properties": {}}, [("a", part), ("b", other)])
    same = assemble({"$comment": "c", "properties": {}}, [("a", part), ("b", {**part})])
    assert "$comment" not in same and set(same["properties"]) == {"a", "b"}


def test_main_prints_it(capsys):
    assert main() == 0
    assert json.loads(capsys.readouterr().out) == document_schema()


def test_the_kinds_a_policy_rule_may_name_are_the_registered_kinds_keys():
    """A new kind can be named in never_prune without touching the base schema (issue 26)."""
    base = {"properties": {}, "$defs": {}}
    toy = {"section": {"type": "array"}}
    assert assemble(base, [("widgets", toy), ("gadgets", toy)])["$defs"]["kind_key"]["enum"] == ["widgets", "gadgets"]
    assert document_schema()["$defs"]["kind_key"]["enum"] == [k.key for k in registered()]
