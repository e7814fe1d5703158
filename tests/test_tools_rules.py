"""kinds/tools/rules.py and schema.json: located errors and warnings for ``tools:``; secrets only as ${VAR}."""

from __future__ import annotations

import textwrap

from jsonschema import Draft202012Validator

from reconciler.api.redact import has_secret
from reconciler.engine.models import Settings
from reconciler.engine.validation import Semantics
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.kinds.tools.rules import ToolRules, parse, scope_prefix, section


def run(text: str, env=None, settings=None, removed=()):
    text = textwrap.dedent(text)
    diags = Diagnostics("f.yaml")
    doc = Builder(text, diags, env or {}).build()
    sem = Semantics(doc, diags, "f.yaml", text)
    rules = ToolRules(sem)
    out = rules.run(doc.root.get("tools"), settings or Settings(), removed)
    return out, diags.render() if diags.errors else [], list(diags.rendered_warnings()), rules


GOOD = """
    tools:
      - name: lookup_candidate
        description: Look a candidate up by email.
        parameters: {type: object, properties: {email: {type: string}}}
        delivery: {api: {url: https://hr.example.com/lookup, method: POST, auth: {type: bearer, token: "${HR_TOKEN}"}}}
      - name: notify_frontend
        tool_id: t123
"""


def test_a_valid_section_builds_desired_tools_and_registers_the_secret():
    out, errors, warnings, rules = run(GOOD, env={"HR_TOKEN": "hr-token-value-1"})
    assert errors == [] and warnings == []
    assert [t.name for t in out] == ["lookup_candidate", "notify_frontend"]
    assert out[0].attributes["delivery"]["api"]["auth"]["token"] == "hr-token-value-1"
    assert out[0].secret_paths == (("delivery", "api", "auth", "token"),)
    assert out[1].tool_id == "t123" and out[0].line == 3
    assert rules.names == {"lookup_candidate": 3, "notify_frontend": 7}
    assert has_secret("hr-token-value-1")


def test_an_unset_secret_is_a_warning_needed_on_create():
    out, errors, warnings, _ = run(GOOD)
    assert errors == [] and out[0].missing_vars == ("HR_TOKEN",)
    assert any("${HR_TOKEN} is not set (needed when lookup_candidate is created or updated)" in w for w in warnings)


def test_a_literal_secret_is_a_located_error():
    out, errors, _, _ = run("""
        tools:
          - name: t
            delivery:
              api:
                url: https://x.example.com/a
                auth: {type: oauth2_client_credentials, client_id: abc, client_secret: literal-secret}
                headers: {Authorization: Bearer literal, X-Service: bot}
    """)
    assert out == ()
    assert ("f.yaml:7:80: t: delivery.api.auth.client_secret must be written as ${VAR} (an environment variable "
            "holding it): a secret written in the file is a secret in git") in errors
    assert any("t: delivery.api.headers.Authorization must be written as ${VAR}" in e for e in errors)
    assert len(errors) == 2  # client_id and X-Service are not secrets


def test_a_secret_mixed_with_text_is_not_only_a_var():
    _, errors, _, _ = run("""
        tools:
          - name: t
            delivery: {api: {url: "https://x.example.com", headers: {Authorization: "Bearer ${TOK}"}}}
    """, env={"TOK": "abcdefgh"})
    assert any("delivery.api.headers.Authorization must be written as ${VAR}" in e for e in errors)


def test_name_url_duplicates_scope_and_removed():
    _, errors, _, _ = run("""
        tools:
          - name: acme-lookup
          - name: acme_a
            delivery: {api: {url: "http://x.example.com/a"}}
          - name: acme_a
          - name: other
          - name: acme_b
            tool_id: t1
          - name: acme_c
            tool_id: t1
          - name: acme_gone
    """, settings=Settings(name_prefix="acme-"), removed=("acme_gone",))
    assert any(e.startswith("f.yaml:3:11: tools[0]: tool name 'acme-lookup' is not a function name") for e in errors)
    assert "f.yaml:5:27: acme_a: delivery.api.url must be an https:// URL with a host (got 'http://x.example.com/a')" \
        in errors
    assert any(e.startswith("f.yaml:6:11: duplicate tool name 'acme_a' (first declared at line 4)") for e in errors)
    assert ("f.yaml:7:11: other: the name is outside this file's scope: it must start with 'acme_' "
            "(settings.scope.name_prefix, as a tool name can hold it)") in errors
    assert "f.yaml:11:14: acme_c: tool_id t1 is already used at line 8" in errors
    assert any("acme_gone: the tool is also listed under removed:" in e for e in errors)
    assert len(errors) == 6


def test_unknown_fields_and_values_pass_with_one_warning():
    out, errors, warnings, _ = run("""
        tools:
          - name: a
            descripton: typo
            origin: visoin
            delivery: {api: {url: "https://x.example.com", auth: {type: mtls, cert: x}}}
          - name: b
            descripton: again
            origin: vision
            on_call: generate_filler
            tags: [x, x]
    """)
    assert errors == [] and len(out) == 2
    assert out[0].attributes["descripton"] == "typo"  # passed through
    joined = "\n".join(warnings)
    assert joined.count("field 'descripton' is not one this version documents (did you mean 'description'?)") == 1
    assert "origin 'visoin' is not documented (did you mean 'vision'?)" in joined
    assert "auth type 'mtls' is not documented" in joined and "auth member 'cert' is not documented" in joined
    assert "b: on_call is for llm tools" in joined and "b: tag 'x' is listed twice" in joined


def test_scope_prefix():
    assert scope_prefix("acme-") == "acme_" and scope_prefix("acme_") == "acme_" and scope_prefix(None) is None


def test_schema_fragment():
    Draft202012Validator.check_schema(section())
    v = Draft202012Validator(section())
    future = [{"name": "a", "future_field": 1, "delivery": {"api": {"url": "https://x", "x": 1}}}]
    assert list(v.iter_errors(future)) == []
    assert [e.validator for e in v.iter_errors([{"name": "a", "delivery": {"api": {"url": "https://x",
                                                                                   "timeout": 61}}}])] == ["maximum"]
    assert [e.validator for e in v.iter_errors([{"description": "no name"}])] == ["required"]


class Ctx:  # the engine loader's RuleContext, as far as the rules use it
    def __init__(self, text, env=None, settings=None):
        self.diags = Diagnostics("f.yaml")
        self.doc = Builder(textwrap.dedent(text), self.diags, env or {}).build()
        self.settings = settings or Settings()


def test_parse_is_the_loader_hook():
    ctx = Ctx("""
        tools:
          - name: a
            tool_id: ${UNSET_ID}
          - name: gone
          - name: b
            x1: 1
          - name: c
            x1: 2
        removed: [gone, {name: other}]
    """)
    out = parse(ctx.doc.root["tools"], ctx)
    assert [t.name for t in out] == ["a", "gone", "b", "c"]  # the errors refuse the file
    errors = ctx.diags.render()
    assert any("${UNSET_ID} is not set: a: tool_id must be known to plan" in e for e in errors)
    assert any("gone: the tool is also listed under removed:" in e for e in errors)
    assert sum("field 'x1'" in w for w in ctx.diags.rendered_warnings()) == 1


def test_declared_secrets_are_sealed():
    out, _, _, _ = run(GOOD, env={"HR_TOKEN": "hr-token-value-2"})
    assert "hr-token-value-2" not in repr(out[0]) and "hr-token-value-2" not in str(out[0].create_payload())
    assert out[0].create_payload()["delivery"]["api"]["auth"]["token"] == "hr-token-value-2"
