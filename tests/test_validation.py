"""reconciler.engine.validation: the schema's errors in words, located (the semantic rules are the kinds'
rules modules': tests/test_replicas_rules.py, tests/test_personas_rules.py)."""

from __future__ import annotations

from reconciler.engine.validation import SCHEMA_FILE, check_policy_document, check_schema, load_schema
from reconciler.engine.yamlpos import Builder, Diagnostics

F = "replicas.yaml"


def diagnose(text: str, check=check_schema, *args) -> list[str]:
    diags = Diagnostics(F)
    doc = Builder(text, diags, {}).build()
    check(doc, diags, *args)
    return diags.render()


def test_the_document_schema_is_assembled_and_shipped_schemas_load():
    assert "replicas" in load_schema(SCHEMA_FILE)["properties"]
    assert load_schema(SCHEMA_FILE) is load_schema(SCHEMA_FILE)


def test_schema_errors_are_labelled_by_the_entry_name_and_worded():
    text = "version: 1\nreplicas:\n  - name: a\n    synthetic: 3\n    modle_name: phoenix-4\n"
    assert diagnose(text) == [
        "replicas.yaml:4:16: a: synthetic must be true or false, not an integer 3",
        "replicas.yaml:5:5: unknown field 'modle_name' (did you mean 'model_name'?)",
    ]


def test_a_policy_file_is_checked_against_the_policy_schema():
    assert diagnose("max_deletes: -1\n", check_policy_document) == [
        "replicas.yaml:1:14: max_deletes must be a whole number of at least 0, or {value: ..., level: warning} for "
        "a soft rule, not -1"]
    assert diagnose("policy: [1]\n", check_policy_document, ("policy",)) == [
        "replicas.yaml:1:9: a policy file is a mapping of rules (the keys of settings.policy), e.g. max_deletes: 3"]
