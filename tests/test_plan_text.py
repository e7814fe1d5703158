"""The terminal plan (reconciler/views/plan_text.py): blocks in order, each kind's changes by its hook."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views.plan_text import _change_lines, plan_text


def test_blocks_come_in_order_separated_by_a_blank_line():
    plan = Plan(changes=(Change(Action.DELETE, "old", "x", object_id="r1"),),
                unmanaged=(RemoteReplica("r2", "stray", "completed"),), warnings=("w",), errors=("e",))
    text = plan_text(plan, file="f.yaml")
    order = ["will perform", "Unmanaged (in scope", "Warnings:", "Errors:", "Plan: 0 to create"]
    at = [text.index(x) for x in order]
    assert at == sorted(at) and "\n\nWarnings:" in text and text.endswith("it cannot be applied.\n")


def test_an_empty_plan_says_so_or_names_the_drift():
    assert plan_text(Plan(), file="f.yaml") == "No changes. Inventory matches f.yaml.\n"
    drift = plan_text(Plan(unmanaged=(RemoteReplica("r2", "stray", "completed"),)), file="f.yaml")
    assert "1 unmanaged replica(s) in scope" in drift


def test_replicas_use_their_hook_and_other_kinds_the_generic_lines():
    replica = _change_lines(Change(Action.DELETE, "old", "x", object_id="r1"), False)
    assert replica[0] == "  - delete  old (r1)"
    doc = _change_lines(Change(Action.DELETE, "d", "x", kind="documents", object_id="d1",
                               before={"name": "d", "url": "https://e.com/a"}), False)
    assert doc[0] == "  - delete document d (d1)" and doc[2] == '      url: "https://e.com/a"'


def test_persona_notes_name_the_resend_flag():
    c = Change(Action.UPDATE, "p", "x", kind="personas", object_id="p1", uncomparable=("layers.tts.api_key",))
    assert any("`--resend p` sends them" in line for line in _change_lines(c, False))


def test_the_not_compared_note_names_the_persona_or_tool_to_resend():
    """A masked secret may be a tool's (its auth token comes back ``********``): the note says ``--resend NAME``
    naming the persona or tool, never ``PERSONA``; the Markdown table's column is the name, whatever the kind."""
    from reconciler.views.plan_markdown import plan_markdown

    plan = Plan(uncompared=(("acme-lookup", ("delivery.api.auth.token",)),))
    text = plan_text(plan, file="f.yaml")
    assert "`--resend NAME`, naming the persona or tool" in text and "PERSONA" not in text
    assert "  acme-lookup: delivery.api.auth.token" in text
    md = plan_markdown(plan, file="f.yaml")
    assert "\\`--resend NAME\\`, naming the persona or tool" in md and "PERSONA" not in md
    assert "| Name | Attributes |" in md and "| Persona |" not in md
