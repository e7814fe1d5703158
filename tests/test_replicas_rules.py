"""reconciler.kinds.replicas.rules: the semantic rules of replicas: and defaults:, and what the offline policy
rules are shown of them (the wording of every rule is tested through the loader in tests/test_config.py)."""

from __future__ import annotations

import pytest

from reconciler.engine.config import parse_config
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.errors import ConfigError
from reconciler.kinds.replicas.rules import DEFAULT_FIELDS, IDENTITY_FIELDS, REPLICA_FIELDS, located

F = "replicas.yaml"


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, F, environ={})
    return info.value.diagnostics


def test_the_field_tables():
    assert set(IDENTITY_FIELDS) <= set(REPLICA_FIELDS)
    assert not set(IDENTITY_FIELDS) & set(DEFAULT_FIELDS)


def test_every_rule_reports_on_one_entry_in_order():
    text = ("version: 1\nreplicas:\n  - name: a\n    train_image_url: https://x/b\n"
            "  - name: a\n    replica_id: r1\n    model_name: phoenix-9\n")
    got = errors(text)
    assert got == [
        "replicas.yaml:3:5: a: train_image_url needs voice_name (the stock voice of a replica trained from an image)",
        "replicas.yaml:3:5: a: consent_video_url is required for a human replica (or set synthetic: true); when "
        "the training video opens with the consent statement, set consent_in_training_video: true instead",
        "replicas.yaml:5:11: duplicate name 'a' (first declared at line 3)",
    ]


def test_defaults_fill_entries_and_a_default_voice_needs_an_image():
    text = ("version: 1\ndefaults:\n  synthetic: true\n  voice_name: aria\nreplicas:\n"
            "  - name: a\n    train_video_url: https://x/a.mp4\n")
    (replica,) = parse_config(text, F, environ={}).replicas
    assert replica.synthetic is True and replica.voice_name is None and replica.line == 6


def test_located_reads_fields_from_the_entry_or_defaults():
    text = ("version: 1\ndefaults:\n  model_name: phoenix-4\nreplicas:\n  - name: a\n    synthetic: true\n"
            "    train_video_url: https://x/a.mp4\n  - name: b\n    replica_id: r1\n    model_name: phoenix-3\n"
            "  - 7\n")
    diags = Diagnostics(F)
    doc = Builder(text, diags, {}).build()
    rows = located(doc, doc.root, lambda path: "/".join(map(str, path)))
    assert rows == (("a", "phoenix-4", "defaults/model_name", True, False, False, False, "replicas/0"),
                    ("b", "phoenix-3", "replicas/1/model_name", False, False, False, True, "replicas/1"))
