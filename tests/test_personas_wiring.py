"""kinds/personas/wiring.py: a persona's references to documents, guardrails, objectives, a pronunciation
dictionary and tools, by declared name (resolved to ids) or by id."""

from __future__ import annotations

import textwrap

from reconciler.engine.validation import Semantics
from reconciler.engine.yamlpos import Builder, Diagnostics
from reconciler.kinds.personas.wiring import (
    WIRES,
    WiringRules,
    bind_created,
    bound_document,
    cited_by,
    cited_ids,
    pending_placeholders,
    placeholder,
    resolve_names,
    resolved_document,
    wire,
    without_names,
)

DECLARED = {"documents": {"acme-handbook", "acme-faq"}, "guardrails": {"acme_no_salary"},
            "objectives": {"acme-screening"}, "pronunciation_dictionaries": {"acme-terms"},
            "tools": {"lookup_candidate"}}


def check(text: str, declared=DECLARED, env=None):
    text = textwrap.dedent(text)
    diags = Diagnostics("f.yaml")
    doc = Builder(text, diags, env or {}).build()
    sem = Semantics(doc, diags, "f.yaml", text)
    entry = doc.root["personas"][0]
    cited = WiringRules(sem, declared).run(("personas", 0), entry, entry["name"])
    return cited, diags.render() if diags.errors else [], list(diags.rendered_warnings())


def test_the_table():
    assert [w.kind for w in WIRES] == ["documents", "guardrails", "objectives", "pronunciation_dictionaries", "tools"]
    assert wire("objectives").id_key == "objectives_id" and not wire("objectives").many
    assert wire("pronunciation_dictionaries").name_key == "layers.tts.pronunciation_dictionary"
    assert wire("tools").attached


def test_every_reference_by_name():
    cited, errors, warnings = check("""
        personas:
          - name: acme-interviewer
            documents: [acme-handbook, acme-faq]
            guardrails: [acme_no_salary]
            objectives: acme-screening
            tools: [lookup_candidate]
            layers: {tts: {pronunciation_dictionary: acme-terms}}
    """)
    assert errors == [] and warnings == []
    assert cited == {"documents": ("acme-handbook", "acme-faq"), "guardrails": ("acme_no_salary",),
                     "objectives": ("acme-screening",), "pronunciation_dictionaries": ("acme-terms",),
                     "tools": ("lookup_candidate",)}


def test_undeclared_names_are_located_errors_with_did_you_mean():
    _, errors, _ = check("""
        personas:
          - name: p
            documents: [acme-handbok]
            guardrails: [other]
            objectives: acme-screening
            objectives_id: o123
    """)
    assert ("f.yaml:4:17: p: documents 'acme-handbok' is not declared under documents: in this file (did you mean "
            "'acme-handbook'?)") in errors
    assert ("f.yaml:5:18: p: guardrails 'other' is not declared under guardrails: in this file (declare it under "
            "guardrails:, or cite an object this file does not declare by id with guardrail_ids)") in errors
    assert any(e.startswith("f.yaml:7:5: p: declare either objectives") for e in errors)
    assert len(errors) == 3


def test_a_kind_the_file_does_not_declare():
    _, errors, _ = check("personas:\n  - name: p\n    documents: [hb]\n", declared={"documents": None})
    assert errors == ["f.yaml:3:17: p: documents 'hb' is not declared under documents: in this file (declare it "
                      "under documents:, or cite an object this file does not declare by id with document_ids)"]


def test_lists_mix_names_and_ids_and_duplicates_warn():
    cited, errors, warnings = check("""
        personas:
          - name: p
            documents: [acme-faq, acme-faq]
            document_ids: [d-unmanaged]
    """)
    assert errors == [] and cited == {"documents": ("acme-faq",)}
    assert any("lists 'acme-faq' twice" in w for w in warnings)


def test_unset_var_in_a_reference():
    _, errors, _ = check("personas:\n  - name: p\n    objectives: ${OBJ}\n")
    assert any("${OBJ} is not set" in e for e in errors)


def test_without_names():
    attrs = {"documents": ["a"], "system_prompt": "x", "layers": {"tts": {"pronunciation_dictionary": "t"}},
             "tools": ["x"]}
    assert without_names(attrs) == {"system_prompt": "x"}
    assert without_names({"layers": {"tts": {}}}) == {"layers": {"tts": {}}}  # declared empty: kept
    attrs = {"layers": {"tts": {"pronunciation_dictionary": "t", "tts_engine": "cartesia"}}}
    assert without_names(attrs) == {"layers": {"tts": {"tts_engine": "cartesia"}}}
    assert attrs["layers"]["tts"]["pronunciation_dictionary"] == "t"  # a copy


def test_resolution_and_known_after_apply():
    ids = {("documents", "hb"): "d1", ("documents", "faq"): None, ("objectives", "scr"): "o1",
           ("pronunciation_dictionaries", "terms"): "pd1", ("tools", "t"): "t1"}
    attrs = {"documents": ["hb", "faq"], "document_ids": ["d9"], "objectives": "scr",
             "layers": {"tts": {"pronunciation_dictionary": "terms"}}, "tools": ["t"]}
    cited = {"documents": ("hb", "faq"), "objectives": ("scr",), "pronunciation_dictionaries": ("terms",),
             "tools": ("t",)}
    doc, later = resolved_document(attrs, cited, lambda k, n: ids[(k, n)])
    assert doc == {"document_ids": ["d1", "d9"], "objectives_id": "o1",
                   "layers": {"tts": {"pronunciation_dictionary_id": "pd1"}}, "tool_ids": ["t1"]}
    assert later == {"documents": ("faq",)}


def test_resolution_keeps_the_remote_order_of_the_same_ids():
    doc, _ = resolved_document({"documents": ["a", "b"]}, {"documents": ("a", "b")},
                               lambda k, n: {"a": "d1", "b": "d2"}[n], remote={"document_ids": ["d2", "d1"]})
    assert doc == {"document_ids": ["d2", "d1"]}
    doc, _ = resolved_document({"documents": ["a"]}, {"documents": ("a",)}, lambda k, n: "d1",
                               remote={"document_ids": ["d2", "d1"]})
    assert doc == {"document_ids": ["d1"]}


def test_cited_ids():
    assert cited_ids({"document_ids": ["d1", 3], "objectives_id": "o1", "guardrail_ids": [],
                      "layers": {"tts": {"pronunciation_dictionary_id": "pd"}}}) == {
        "documents": ("d1",), "objectives": ("o1",), "guardrails": (), "pronunciation_dictionaries": ("pd",)}


def test_resolve_names_against_the_account_and_the_plan():
    errors: list[str] = []
    cited = {"documents": ("hb", "new", "gone"), "guardrails": ("g",)}
    ids = resolve_names("p", cited, {("documents", "hb"): "d1"}, {("documents", "new"), ("guardrails", "g"),
                                                                  ("documents", "hb")}, errors)
    assert ids == {("documents", "hb"): "d1", ("documents", "new"): None, ("guardrails", "g"): None}
    assert errors == ["persona p: documents 'gone' does not exist and is not created by this plan (declare it under "
                      "documents:, or add it to --target)"]


def test_placeholders_are_bound_at_apply_time():
    ids = {("documents", "hb"): "d1", ("documents", "new"): None, ("objectives", "o"): None}
    doc = bound_document({"documents": ["hb", "new"], "objectives": "o"},
                         {"documents": ("hb", "new"), "objectives": ("o",)}, ids)
    assert doc == {"document_ids": ["d1", placeholder("documents", "new")],
                   "objectives_id": placeholder("objectives", "o")}
    assert placeholder("documents", "new") == "(known after apply: document new)"
    assert placeholder("pronunciation_dictionaries", "t") == "(known after apply: pronunciation_dictionary t)"
    done = bind_created(doc, {("documents", "new"): "d9", ("objectives", "o"): "o1", ("replicas", "x"): "r1"})
    assert done == {"document_ids": ["d1", "d9"], "objectives_id": "o1"} and pending_placeholders(done) == []
    assert pending_placeholders(bind_created(doc, {})) == [placeholder("documents", "new"),
                                                           placeholder("objectives", "o")]


def test_cited_by():
    assert cited_by([{"document_ids": ["d1"]}, {"document_ids": ["d2"], "guardrail_ids": ["g1"]}, {}]) == {
        "documents": {"d1", "d2"}, "guardrails": {"g1"}}


def test_a_change_of_tools_is_attach_and_detach_calls_not_a_patch():
    from reconciler.kinds.personas.wiring import split_attached

    ops = [{"op": "replace", "path": "/system_prompt", "value": "x"},
           {"op": "replace", "path": "/tool_ids", "value": ["t1", "t2"]}]
    assert split_attached(ops) == ([{"op": "replace", "path": "/system_prompt", "value": "x"}], ["t1", "t2"])
    assert split_attached(ops[:1]) == (ops[:1], None)
    assert split_attached([{"op": "remove", "path": "/tool_ids"}]) == ([], [])


class ToolsClient:
    def __init__(self, attached):
        self.now, self.calls = list(attached), []

    def _call(self, method, path, *, json=None, params=None):
        self.calls.append((method, path, json))
        if method == "GET":
            return {"data": [{"tool_id": t, "name": t} for t in self.now]}
        return {}


def test_reattach_sends_one_post_for_what_to_add_and_one_delete_per_tool_to_remove():
    from reconciler.kinds.personas.wiring import reattach

    c = ToolsClient(["t1", "t3"])
    lines = reattach(c, "p1", ["t1", "t2"])
    assert [(m, p) for m, p, _ in c.calls] == [("GET", "/v2/pals/p1/tools"), ("POST", "/v2/pals/p1/tools"),
                                                ("DELETE", "/v2/pals/p1/tools/t3")]
    assert c.calls[1][2] == {"tool_ids": ["t2"]} and lines == ["attached tool t2", "detached tool t3"]


def test_tools_are_bound_like_the_other_references():
    doc, later = resolved_document({"tools": ["a"]}, {"tools": ("a",)}, lambda k, n: "t1")
    assert doc == {"tool_ids": ["t1"]} and later == {}
