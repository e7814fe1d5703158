"""reconciler.engine.checks: the URL, name and ${VAR} checks every kind's rules share."""

from __future__ import annotations

import pytest

from reconciler.engine.checks import ONLY_VAR, invisible_in, plain, plain_name, show_url, url_problem


@pytest.mark.parametrize("url, problem", [
    ("https://v.example.com/a.mp4", None),
    ("http://v.example.com:8080/a.mp4", None),
    ("https://v.example.com/a b.mp4", "must not contain spaces or control characters"),
    ("ftp://v.example.com/a.mp4", "must be an http:// or https:// URL"),
    ("https:///a.mp4", "has no host"),
    ("https://v..example.com/a.mp4", "has an empty label in its host name"),
    ("https://v.example.com:99999/a.mp4", "is not a valid URL"),
])
def test_url_problem(url, problem):
    assert url_problem(url) == problem


def test_show_url_hides_a_presigned_signature():
    shown = show_url("https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=deadbeefcafe&X-Amz-Credential=k")
    assert "deadbeefcafe" not in shown and shown.startswith("'https://b.s3.amazonaws.com/a.mp4")


def test_invisible_in_names_the_character_and_its_position():
    assert invisible_in("acme\u200banna") == "U+200B ZERO WIDTH SPACE at position 5"
    assert invisible_in("acme-anna") is None


@pytest.mark.parametrize("name, plain_enough", [("acme-anna", True), ("", False), (" a", False), ("a\x07", False),
                                                ("x" * 129, False), (3, False)])
def test_plain_name(name, plain_enough):
    assert plain_name(name) is plain_enough


def test_only_var_and_plain():
    assert ONLY_VAR.match("${OPENAI_KEY}") and not ONLY_VAR.match("sk-${OPENAI_KEY}")
    located = {"a": [{"b": 1}]}
    copy = plain(located)
    assert copy == located and copy["a"] is not located["a"]


def test_suggest_and_the_schema_fragment_of_a_kind():
    from reconciler.engine.checks import fragment, item_schema, suggest

    assert suggest("guardrail_promt", ["guardrail_prompt", "modality"]) == "guardrail_prompt"
    assert suggest("zzz", ["guardrail_prompt"]) is None
    assert fragment("reconciler.kinds.guardrails") is fragment("reconciler.kinds.guardrails")  # read once
    assert "guardrail_prompt" in item_schema("reconciler.kinds.guardrails")["properties"]


class _Things:
    """A toy kind's rules on the shared identity rules (the messages are the kinds')."""

    def __new__(cls, text: str, **attrs):
        import textwrap

        from reconciler.engine.checks import NamedRules
        from reconciler.engine.yamlpos import Builder, Diagnostics

        rules = type("ThingRules", (NamedRules,), {"key": "things", "noun": "thing", "id_key": "thing_id", **attrs})()
        rules.diags = Diagnostics("f.yaml")
        rules.doc = Builder(textwrap.dedent(text), rules.diags, {}).build()
        rules.names, rules.ids, rules.removed = {}, {}, ("acme-gone",)
        return rules


def test_named_rules_judge_the_identity_once_per_entry():
    rules = _Things("""\
        things:
          - {name: acme-a, thing_id: t1}
          - {name: acme-a, thing_id: t1}
          - {name: other}
          - {name: acme-gone}
          - {name: "acme-\\u200bb"}
        """)
    entries = rules.doc.root["things"]
    got = [rules.rule_name(("things", i), e["name"], "acme-") for i, e in enumerate(entries)]
    assert got == [("acme-a", True), ("acme-a", True), ("other", True), ("acme-gone", True), ("things[4]", False)]
    assert rules.rule_id(("things", 0), entries[0], "acme-a") == "t1"
    assert rules.rule_id(("things", 1), entries[1], "acme-a") is None
    text = "\n".join(rules.diags.render())
    assert "f.yaml:3:12: duplicate thing name 'acme-a' (first declared at line 2)" in text, text
    assert "other: the name is outside this file's scope: it must start with 'acme-' " \
           "(settings.scope.name_prefix)" in text
    assert "acme-gone: the thing is also listed under removed: (released from management)" in text
    assert "things[4]: name contains the invisible character U+200B ZERO WIDTH SPACE at position 6" in text
    assert "acme-a: thing_id t1 is already used at line 2" in text


def test_named_rules_hooks_a_kinds_own_name_rule_and_wording():
    rules = _Things("things:\n  - {name: acme-a}\n  - {name: acme-a}\n  - {name: bad name}\n",
                    duplicate_note=": names are unique", scope_note="the scope, as a thing name holds it",
                    name_problem=lambda self, n: None if " " not in n else "no spaces in a thing name")
    entries = rules.doc.root["things"]
    assert rules.rule_name(("things", 2), entries[2]["name"], None) == ("things[2]", False)
    for i in (0, 1):
        rules.rule_name(("things", i), entries[i]["name"], "zz-")
    text = "\n".join(rules.diags.render())
    assert "things[2]: no spaces in a thing name" in text
    assert "(first declared at line 2): names are unique" in text and "(the scope, as a thing name holds it)" in text


def test_named_rules_warn_on_a_tag_twice_and_an_unset_variable_outside_the_identity():
    import textwrap

    from reconciler.engine.checks import NamedRules
    from reconciler.engine.yamlpos import Builder, Diagnostics

    rules = type("ThingRules", (NamedRules,), {"key": "things", "noun": "thing", "id_key": "thing_id",
                                               "needed_when": "created"})()
    rules.diags = Diagnostics("f.yaml")
    rules.doc = Builder(textwrap.dedent("""\
        things:
          - {name: "${NAME:-acme-a}", thing_id: "${ID:-}", tags: [a, b, a], url: "${URL}"}
        """), rules.diags, {}).build()
    entry = rules.doc.root["things"][0]
    rules.rule_tags(("things", 0), entry, "acme-a")
    assert rules.rule_vars(("things", 0), "acme-a") == {"URL"}
    warnings = "\n".join(rules.diags.rendered_warnings())
    assert "acme-a: tag 'a' is listed twice" in warnings and "${URL} is not set (needed when acme-a is created)" \
        in warnings, warnings
