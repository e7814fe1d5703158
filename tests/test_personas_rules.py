"""reconciler.kinds.personas.rules: the semantic rules of personas:, and what the offline policy rules are shown
of them (the wording of every rule is tested through the loader in tests/test_config_personas.py)."""

from __future__ import annotations

import pytest

from reconciler.engine.config import parse_config
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.errors import ConfigError
from reconciler.kinds.personas.rules import OLDER_NAMES, PERSONA_OWN, _suggest, located

F = "replicas.yaml"
HEAD = "version: 1\nreplicas:\n  - name: acme-anna\n    replica_id: r1\npersonas:\n"


def test_suggest_never_names_an_older_field():
    assert "guardrails_id" in OLDER_NAMES
    assert _suggest("guardrail_idz", ["guardrails_id", "guardrail_ids"]) == "guardrail_ids"
    assert _suggest("guardrails_idz", ["guardrails_id"]) is None


def test_own_keys_are_not_sent_and_the_rest_is():
    text = HEAD + "  - name: p\n    system_prompt: hi\n    default_replica: acme-anna\n    protect: true\n"
    (persona,) = parse_config(text, F, environ={}).personas
    assert set(PERSONA_OWN).isdisjoint(persona.attributes) and persona.attributes == {"system_prompt": "hi"}
    assert persona.default_replica == "acme-anna" and persona.protect is True


def test_rules_see_the_replicas_and_removed():
    text = HEAD + "  - name: acme-old\n    system_prompt: hi\n    default_replica: acme-ana\n" \
                  "removed:\n  - acme-old\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, F, environ={})
    assert info.value.diagnostics == [
        "replicas.yaml:6:11: acme-old: the persona is also listed under removed: (released from management): "
        "remove it from one of the two",
        "replicas.yaml:8:22: acme-old: default_replica 'acme-ana' is not a replica declared in this file "
        "(did you mean 'acme-anna'?)",
    ]


def test_located_shows_the_llm_secrets_and_whether_they_are_variables():
    text = HEAD + ("  - name: p\n    system_prompt: hi\n    layers:\n      llm:\n        base_url: https://llm.example\n"
                   "        api_key: ${KEY}\n        headers:\n          X-Token: literal\n  - name: q\n"
                   "    pipeline_mode: echo\n")
    diags = Diagnostics(F)
    doc = Builder(text, diags, {"KEY": "k"}).build()
    rows = located(doc, doc.root, lambda path: "/".join(map(str, path)))
    assert rows == (
        ("p", "https://llm.example", "personas/0/layers/llm/base_url",
         (("api_key", True, "personas/0/layers/llm/api_key"),
          ("headers.X-Token", False, "personas/0/layers/llm/headers/X-Token"))),
        ("q", None, "personas/1/layers/llm/base_url", ()),
    )
