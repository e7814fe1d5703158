"""The kinds' rules hooks the loader asks by name (reconciler/engine/rule_hooks.py)."""

from __future__ import annotations

import reconciler.kinds as registry
from reconciler.engine.rule_hooks import file_hints, hooks, identity_keys, keys_with, nouns


def test_hooks_come_from_the_kinds_rules_modules_in_the_order_of_work():
    from reconciler.kinds.personas import rules as personas
    from reconciler.kinds.replicas import rules as replicas

    assert hooks("load") == [("replicas", replicas.load), ("personas", personas.load)]
    assert hooks("no_such_hook") == []
    assert keys_with("LABEL_BY_NAME") == {"replicas", "personas"}
    assert keys_with("VALIDATE_ENTRIES_APART") == {"replicas"}


def test_identity_keys_are_the_generic_ones_and_every_kinds():
    keys = identity_keys()
    assert {"name", "name_prefix", "replica_id", "persona_id", "default_replica", "default_replica_id"} <= keys


def test_file_hints_and_nouns(monkeypatch):
    assert file_hints()["example"] == "replicas: [...]"
    last = registry.registered()[-1].noun  # the registry's last kind, whichever is added last
    assert nouns().startswith("replica, persona, ") and nouns().endswith(f" and {last}")
    only = registry.registered()[:1]
    monkeypatch.setattr(registry, "registered", lambda: only)
    assert nouns() == "replica"
