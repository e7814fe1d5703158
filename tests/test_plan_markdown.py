"""The PR-comment plan (reconciler/views/plan_markdown.py)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views.plan_markdown import plan_markdown


def test_sections_in_order_and_no_trailing_blank_lines():
    plan = Plan(changes=(Change(Action.DELETE, "old", "x", object_id="r1"),), warnings=("w",),
                unmanaged=(RemoteReplica("r2", "stray", "completed"),))
    md = plan_markdown(plan, file="f.yaml")
    order = ["### tavus-reconciler plan: `f.yaml`", "**Plan: 0 to create", "| ➖ delete | `old` | `r1` | x |",
             "<details><summary>Attribute changes</summary>", "> **Warning:** w", "<summary>Unmanaged (1)</summary>"]
    at = [md.index(x) for x in order]
    assert at == sorted(at) and md.endswith("</details>\n")


def test_no_changes():
    expected = "### tavus-reconciler plan: `f.yaml`\n\nNo changes. Inventory matches `f.yaml`.\n"
    assert plan_markdown(Plan(), file="f.yaml") == expected


def test_uncompared_rows_not_already_named_by_a_change():
    plan = Plan(uncompared=(("p", ("layers.tts.api_key",)),))
    md = plan_markdown(plan, file="f.yaml")
    assert "Not compared (1)" in md and "`layers.tts.api_key`" in md
