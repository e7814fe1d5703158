"""reconciler.kinds.personas.policy: the personas' offline policy rules on located rows (the file-level proofs,
through the loader, are in tests/test_policy.py)."""

from __future__ import annotations

from reconciler.engine.policy import Located, Rule, check_offline
from reconciler.kinds.personas.policy import check

# (name, base_url, base_url_where, ((field, written_as_var, where), ...))
ROWS = (("p", "https://llm.corp/v1", "f:9:19", (("api_key", True, "f:10:18"),)),
        ("q", "https://evil.example/v1", "f:14:19", (("api_key", False, "f:15:18"), ("headers.X", True, "f:17:14"))),
        ("r", None, "f:20:5", ()))


def test_llm_base_urls_refuses_what_is_off_the_allow_list():
    rule = Rule("llm_base_urls", ("https://llm.corp/*",), "error", "settings.policy", "f:1:1")
    assert [f.message for f in check(rule, Located({"personas": ROWS}))] == [
        "f:14:19: policy llm_base_urls (settings.policy at f:1:1): persona q: layers.llm.base_url "
        "https://evil.example/v1 is not on the allow-list (https://llm.corp/*)"]


def test_llm_keys_from_env_names_each_literal_secret():
    rule = Rule("llm_keys_from_env", True, "error", "settings.policy", "f:1:1")
    (finding,) = check(rule, Located({"personas": ROWS}))
    assert finding.message.startswith("f:15:18: ") and "persona q: layers.llm.api_key must be written as ${VAR}" \
        in finding.message
    assert check(Rule("llm_keys_from_env", False, "error", "x", "x:1:1"), Located({"personas": ROWS})) == []


def test_rules_keep_their_order_across_kinds():
    rules = [Rule("llm_keys_from_env", True, "error", "s", "f:1:1"),
             Rule("allowed_models", ("x",), "error", "s", "f:2:1")]
    located = Located({"replicas": (("a", "y", "f:3:1", True, False, False, False, "f:3:1"),), "personas": ROWS})
    assert [f.policy for f in check_offline(rules, located)] == ["llm_keys_from_env", "allowed_models"]
