"""The Mermaid diagram of what a plan touches, for ``plan --format markdown`` (GitHub renders it in the PR
comment): every object the plan creates, changes, replaces or deletes, the objects they reference (personas ->
replica, documents, guardrails, objectives, tools, pronunciation dictionary), and an arrow per reference. New /
changed / replaced / deleted / untouched objects carry a ``classDef`` style each.

Generic: it reads only a change's kind key, name, action and references (``refs``: (field, kind key, name, id)),
and the nouns the caller passes (``{kind key: noun}``); it names no kind.

Safe by construction: node ids are generated (``n0``, ``n1``...), never taken from a name; every label goes
through the renderers' redaction (registered secrets, URL signatures) and is then written with Mermaid's
``#<code>;`` entities for every character that is not a plain ASCII letter, digit, space or ``_.,:/@+=-``, so no
name can close the label, start a comment or a directive, add a link or a click handler, break out of the
fenced block (a backtick is an entity too) or carry HTML or invisible characters into the page. Labels are
capped in length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_LABEL = 60
MAX_NODES = 200  # a PR comment stays readable (and under GitHub's size limits): the rest are counted

STATES = ("new", "changed", "replaced", "deleted", "unchanged")
_STYLE = {
    "new": "fill:#dafbe1,stroke:#1a7f37,color:#0f5323",
    "changed": "fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
    "replaced": "fill:#ffe7d1,stroke:#bc4c00,color:#762c00",
    "deleted": "fill:#ffebe9,stroke:#cf222e,color:#82071e,stroke-dasharray:5 3",
    "unchanged": "fill:#f6f8fa,stroke:#8c959f,color:#424a53",
}
_ACTION_STATE = {"create": "new", "update": "changed", "rename": "changed", "replace": "replaced",
                 "delete": "deleted"}
_PLAIN = re.compile(r"[A-Za-z0-9 _.,:/@+=-]")
_LEGEND = ("**Diagram:** green new, yellow changed, orange replaced, red (dashed) deleted, grey referenced and "
           "unchanged; an arrow is a reference.")


@dataclass(frozen=True)
class Node:
    kind: str
    name: str
    state: str


def escape_label(text: str, redact: Callable[[str], str] = lambda s: s) -> str:
    """A label's text as Mermaid entities where needed (see the module's docstring)."""
    text = redact(str(text))
    if len(text) > MAX_LABEL:
        text = text[:MAX_LABEL - 1] + "\u2026"
    return "".join(ch if _PLAIN.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def _action(change: Any) -> str:
    action = getattr(change, "action", "")
    return str(getattr(action, "value", action))


def graph(changes: Iterable[Any]) -> tuple[list[Node], list[tuple[int, int]]]:
    """(nodes, edges as node indexes) of what ``changes`` touch; a referenced object nobody changes is
    ``unchanged``. The first state given to an object wins over ``unchanged``."""
    index: dict[tuple[str, str], int] = {}
    nodes: list[Node] = []
    edges: list[tuple[int, int]] = []

    def node(kind: str, name: str, state: str) -> int:
        key = (kind, name)
        if key in index:
            i = index[key]
            if nodes[i].state == "unchanged" and state != "unchanged":
                nodes[i] = Node(kind, name, state)
            return i
        index[key] = len(nodes)
        nodes.append(Node(kind, name, state))
        return index[key]

    changes = list(changes)
    for c in changes:
        node(str(getattr(c, "kind", "")), str(c.name), _ACTION_STATE.get(_action(c), "changed"))
    for c in changes:
        src = index[(str(getattr(c, "kind", "")), str(c.name))]
        for ref in getattr(c, "refs", None) or ():
            _field, kind, name = ref[0], ref[1], ref[2]
            dst = node(str(kind), str(name), "unchanged")
            if (src, dst) not in edges:
                edges.append((src, dst))
    return nodes, edges


def diagram(changes: Sequence[Any], nouns: Mapping[str, str] | None = None,
            redact: Callable[[str], str] = lambda s: s) -> list[str]:
    """The diagram as Markdown lines (a fenced ``mermaid`` block and a one-line legend), or ``[]`` when the plan
    touches nothing or nothing it touches references anything (a picture of unrelated boxes says no more than
    the table)."""
    nodes, edges = graph(changes)
    if not nodes or not edges:
        return []
    nouns = nouns or {}
    shown = nodes[:MAX_NODES]
    lines = ["```mermaid", "flowchart LR"]
    for i, n in enumerate(shown):
        label = f"{nouns.get(n.kind, n.kind)}: {n.name}"
        lines.append(f'  n{i}["{escape_label(label, redact)}"]:::{n.state}')
    if len(nodes) > MAX_NODES:
        lines.append(f'  more["{len(nodes) - MAX_NODES} more not shown"]:::unchanged')
    lines += [f"  n{a} --> n{b}" for a, b in edges if a < MAX_NODES and b < MAX_NODES]
    used = [s for s in STATES if any(n.state == s for n in shown) or (s == "unchanged" and len(nodes) > MAX_NODES)]
    lines += [f"  classDef {s} {_STYLE[s]}" for s in used]
    lines += ["```", "", _LEGEND, ""]
    return lines
