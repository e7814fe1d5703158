"""kinds/documents/rules.py and schema.json: located errors and warnings for ``documents:``."""

from __future__ import annotations

import textwrap

from jsonschema import Draft202012Validator

from reconciler.engine.models import Settings
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.kinds.documents.rules import DocumentRules, parse, removed_names, schema


class RuleContext:
    """The loader's rule context as rules.py uses it (reconciler.engine.rules.RuleContext)."""

    def __init__(self, doc, diags, settings, declared):
        self.doc, self.diags, self.settings, self._declared = doc, diags, settings, declared

    def declared(self, key):
        return set(self._declared.get(key, ()))


def run(text: str, env=None, settings=None, removed=()):
    text = textwrap.dedent(text)
    diags = Diagnostics("f.yaml")
    doc = Builder(text, diags, env or {}).build()
    rules = DocumentRules(RuleContext(doc, diags, settings or Settings(), {}))
    out = rules.run(doc.root.get("documents"), settings or Settings(), removed)
    return out, diags.render() if diags.errors else [], list(diags.rendered_warnings()), rules


def test_a_valid_section_builds_desired_documents():
    out, errors, warnings, rules = run("""
        documents:
          - name: acme-handbook
            document_url: https://docs.example.com/handbook.pdf
            tags: [hiring]
            crawl: {depth: 2, max_pages: 20}
          - name: acme-faq
            document_id: d123
    """)
    assert errors == [] and warnings == []
    assert [d.name for d in out] == ["acme-handbook", "acme-faq"]
    hb = out[0]
    assert hb.tags == ("hiring",) and hb.crawl == (("depth", 2), ("max_pages", 20)) and hb.line == 3
    assert out[1].document_id == "d123" and out[1].document_url is None
    assert rules.names == {"acme-handbook": 3, "acme-faq": 7}


def test_errors_are_located_one_line_each():
    _, errors, _, _ = run("""
        documents:
          - name: a
            document_url: ftp://x.example/a.pdf
          - name: a
            document_url: https://x.example/b.pdf
          - name: c
          - name: d
            document_id: d1
          - name: e
            document_id: d1
    """)
    assert "f.yaml:4:19: a: document_url must be an http:// or https:// URL (got 'ftp://x.example/a.pdf')" in errors
    assert "f.yaml:5:11: duplicate document name 'a' (first declared at line 3)" in errors
    assert any(e.startswith("f.yaml:7:5: c: missing document_url") for e in errors)
    assert "f.yaml:11:18: e: document_id d1 is already used at line 8" in errors
    assert len(errors) == 4


def test_scope_removed_and_invisible_names():
    _, errors, _, _ = run("""
        documents:
          - name: other-doc
            document_url: https://x.example/a.pdf
          - name: acme-old
            document_url: https://x.example/a.pdf
          - name: "acme-\u200bx"
            document_url: https://x.example/a.pdf
    """, settings=Settings(name_prefix="acme-"), removed=("acme-old",))
    assert any("other-doc: the name is outside this file's scope" in e for e in errors)
    assert any("acme-old: the document is also listed under removed:" in e for e in errors)
    assert any("invisible character U+200B" in e for e in errors)


def test_unset_vars():
    out, errors, warnings, _ = run("""
        documents:
          - name: hb
            document_url: ${HB_URL}
          - name: ${DOC_NAME}
            document_url: https://x.example/a.pdf
    """)
    assert any("${DOC_NAME} is not set" in e for e in errors)
    assert any("${HB_URL} is not set (needed when hb is created)" in w for w in warnings)
    assert out[0].url_unknown and out[0].missing_vars == ("HB_URL",)
    out, errors, _, _ = run("documents:\n  - name: hb\n    document_url: ${HB_URL}\n",
                            env={"HB_URL": "https://b.s3.example/hb.pdf?X-Amz-Signature=s3cr3t"})
    assert errors == [] and out[0].document_url.endswith("s3cr3t")


def test_unknown_fields_warn_once_and_are_sent():
    out, errors, warnings, _ = run("""
        documents:
          - name: a
            document_url: https://x.example/a.pdf
            tag: [x]
            crawl: {depht: 2}
            new_api_field: 1
          - name: b
            document_url: https://x.example/b.pdf
            new_api_field: 2
            tags: [x, x]
    """)
    assert errors == []
    assert any("field 'tag' is not one this version documents (did you mean 'tags'?)" in w for w in warnings)
    assert any("crawl field 'depht' is not documented (did you mean 'depth'?)" in w for w in warnings)
    assert sum("new_api_field" in w for w in warnings) == 1
    assert any("tag 'x' is listed twice" in w for w in warnings)
    assert dict(out[0].extra) == {"new_api_field": 1, "tag": ["x"]}
    assert out[0].create_payload()["new_api_field"] == 1


def test_parse_is_the_loaders_hook():
    text = "documents:\n  - name: hb\n    document_url: https://x.example/a.pdf\nremoved: [hb, {name: x}]\n"
    diags = Diagnostics("f.yaml")
    doc = Builder(text, diags, {}).build()
    out = parse(doc.root["documents"], RuleContext(doc, diags, Settings(), {}))
    assert [d.name for d in out] == ["hb"]
    assert any("also listed under removed:" in e for e in diags.render())
    assert removed_names(["a", {"name": "b"}, {"replica_id": "r"}, 3]) == ("a", "b") and removed_names(None) == ()


def test_the_schema_fragment():
    fragment = schema()
    assert set(fragment) == {"section", "$defs"}
    section = {**fragment["section"], "$defs": fragment["$defs"]}
    v = Draft202012Validator(section)
    Draft202012Validator.check_schema(section)
    assert v.is_valid([{"name": "a", "document_url": "https://x", "crawl": {"depth": 10, "max_pages": 100},
                        "future_field": True}])  # unknown fields pass (the rules warn)
    assert not v.is_valid([{"name": "a", "crawl": {"depth": 11}}])
    assert not v.is_valid([{"name": "a", "crawl": {"max_pages": 0}}])
    assert not v.is_valid([{"name": " a"}])
    assert not v.is_valid([{"document_url": "https://x"}])
    assert not v.is_valid([{"name": "a", "tags": "hiring"}])
