"""The Mermaid diagram of what a plan touches (reconciler/views/mermaid.py): golden output, hostile names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reconciler.views import mermaid

GOLDEN = Path(__file__).parent / "golden"
NOUNS = {"personas": "persona", "replicas": "replica", "documents": "document", "guardrails": "guardrail",
         "objectives": "objectives", "tools": "tool", "pronunciation_dictionaries": "pronunciation dictionary"}


@dataclass(frozen=True)
class C:  # the fields of a plan change the diagram reads
    action: str
    name: str
    kind: str
    refs: tuple = ()


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (UPDATE_GOLDEN=1)"


WIRED = [
    C("create", "acme_no_salary", "guardrails"),
    C("update", "acme-screening", "objectives"),
    C("replace", "acme-handbook", "documents"),
    C("delete", "acme_old_rule", "guardrails"),
    C("update", "acme-interviewer", "personas", (
        ("default_replica", "replicas", "acme-anna", "r1"), ("documents", "documents", "acme-handbook", None),
        ("guardrails", "guardrails", "acme_no_salary", None), ("objectives", "objectives", "acme-screening", "o1"),
        ("tools", "tools", "lookup_candidate", "t1"),
        ("layers.tts.pronunciation_dictionary", "pronunciation_dictionaries", "acme-terms", "d1"))),
    C("create", "acme-recruiter", "personas", (("guardrails", "guardrails", "acme_no_salary", None),)),
]


def test_golden_diagram_of_a_wired_plan():
    golden("plan_diagram.md", "\n".join(mermaid.diagram(WIRED, NOUNS)))


def test_states_and_edges():
    nodes, edges = mermaid.graph(WIRED)
    state = {(n.kind, n.name): n.state for n in nodes}
    assert state[("guardrails", "acme_no_salary")] == "new" and state[("replicas", "acme-anna")] == "unchanged"
    assert state[("documents", "acme-handbook")] == "replaced" and state[("guardrails", "acme_old_rule")] == "deleted"
    assert len(edges) == 7 and len(set(edges)) == 7  # the shared guardrail is one node with two arrows in


def test_omitted_when_the_plan_touches_nothing_or_nothing_references():
    assert mermaid.diagram([]) == []
    assert mermaid.diagram([C("create", "acme-anna", "replicas"), C("delete", "old", "replicas")]) == []


HOSTILE = ['x"]:::new\n  click n0 call alert()', "```\n</details><script>alert(1)</script>", "%%{init: {}}%%",
           "a --> b", "evil\u202egnp.exe", "tab\there", "[link](https://evil.example)", "#quot;", "n0", "ok; x"]


def test_no_name_can_break_the_diagram_or_inject_markdown():
    changes = [C("update", "p", "personas", tuple(("guardrails", "guardrails", h, None) for h in HOSTILE))]
    lines = mermaid.diagram(changes, NOUNS)
    body = lines[lines.index("```mermaid") + 1:lines.index("```")]
    node = re.compile(r'  n\d+\["[A-Za-z0-9 _.,:/@+=#;()-]*"\]:::(new|changed|replaced|deleted|unchanged)')
    edge = re.compile(r"  n\d+ --> n\d+")
    style = re.compile(r"  classDef (new|changed|replaced|deleted|unchanged) [a-z#0-9:,\- ]+")
    assert body[0] == "flowchart LR"
    for line in body[1:]:
        assert node.fullmatch(line) or edge.fullmatch(line) or style.fullmatch(line), line
    text = "\n".join(lines)
    assert "<" not in text and ">" not in text.replace("-->", "") and "[link]" not in text
    assert not any(line.lstrip().startswith(("click", "%%")) for line in body)
    assert text.count("```") == 2 and "\u202e" not in text and "\t" not in text


def test_labels_are_redacted_then_escaped_and_capped():
    label = mermaid.escape_label("secret-TOKEN1234-x", redact=lambda s: s.replace("TOKEN1234", "REDACTED"))
    assert label == "secret-REDACTED-x"
    assert mermaid.escape_label('a"b') == "a#34;b" and mermaid.escape_label("`") == "#96;"
    long = mermaid.escape_label("x" * 100)
    assert long.endswith("#8230;") and long.count("x") == mermaid.MAX_LABEL - 1


@given(st.text(max_size=80))
def test_any_label_is_plain_ascii_and_entities(text):
    out = mermaid.escape_label(text)
    assert re.fullmatch(r"(?:[A-Za-z0-9 _.,:/@+=-]|#\d+;)*", out)


def test_a_huge_plan_is_capped():
    changes = [C("update", "p", "personas", tuple(("guardrails", "guardrails", f"g{i}", None)
                                                   for i in range(mermaid.MAX_NODES + 5)))]
    lines = mermaid.diagram(changes, NOUNS)
    assert sum(1 for line in lines if line.startswith("  n") and "[" in line) == mermaid.MAX_NODES
    assert any("6 more not shown" in line for line in lines)


def test_plan_markdown_carries_the_diagram_after_the_changes():
    from reconciler.engine.models import Action, Change, Plan
    from reconciler.views.render import plan_markdown

    persona = Change(Action.UPDATE, "acme-interviewer", "declared attributes differ", kind="personas",
                     refs=(("guardrails", "guardrails", "acme_no_salary", None),))
    guardrail = Change(Action.CREATE, "acme_no_salary", "not found remotely", kind="guardrails")
    md = plan_markdown(Plan(changes=(guardrail, persona)), file="f.yaml")
    block = md[md.index("```mermaid"):]
    assert '["persona: acme-interviewer"]:::changed' in block and '["guardrail: acme_no_salary"]:::new' in block
    assert md.index("Attribute changes") < md.index("```mermaid")
    assert "```mermaid" not in plan_markdown(Plan(changes=(guardrail,)), file="f.yaml")  # nothing references
