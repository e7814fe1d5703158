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


def test_entries_whose_training_source_comes_from_defaults_validate_once_per_shape(monkeypatch):
    """Issue 29: an entry leaning on ``defaults:`` fails the entry's own oneOf (the rules word that, with the
    defaults); its shape still counts as valid, so 10,000 such entries are not validated each in full, and an
    entry of another shape after them is still checked and reported."""
    from reconciler.engine import validation

    validators = validation._SchemaValidators()  # a fresh cache of shapes
    monkeypatch.setattr(validation, "_validators", lambda: validators)
    calls = []
    entries = validators.entries["replicas"]

    class Counted:
        def __init__(self, real):
            self.real = real

        def iter_errors(self, entry):
            calls.append(entry)
            return self.real.iter_errors(entry)

    monkeypatch.setattr(entries, "entry", Counted(entries.entry))
    listed = "".join(f"  - name: a{i}\n" for i in range(50))
    text = ("version: 1\ndefaults:\n  train_video_url: https://v.example.com/v.mp4\n  synthetic: true\nreplicas:\n"
            + listed + "  - name: b\n    synthetic: 3\n")
    assert diagnose(text) == ["replicas.yaml:57:16: b: synthetic must be true or false, not an integer 3"]
    assert len(calls) == 2  # the first a-entry and b, not 51
