"""Small pure pieces of issue 15: line fitting, the tab diagnostic, API URL normalisation, intervals, show."""

from __future__ import annotations

import pytest

from reconciler.cli import _interval
from reconciler.client import TavusClient
from reconciler.models import Action, Change, Plan, RemoteReplica
from reconciler.progress import _width_of, fit, fit_middle
from reconciler.yamlpos import indent_tab as _indent_tab


@pytest.mark.parametrize("text", ["short", "x" * 100, "名前" * 30, "a\u0301" * 50, "acme-" + "名" * 3 + "b" * 60])
@pytest.mark.parametrize("width", [1, 5, 20, 69])
def test_fit_never_exceeds_the_width(text, width):
    for f in (fit, fit_middle):
        out = f(text, width)
        assert _width_of(out) <= max(width, 1)
        assert out == text or "…" in out
    assert fit(text, 10_000) == text


def test_fit_middle_keeps_both_ends():
    assert fit_middle("acme-a-rather-long-replica-name-view-0", 16) == "acme-a-r…-view-0"


def test_indent_tab_position():
    assert _indent_tab("a:\n\tb: 1\n", 2) == (2, 1)
    assert _indent_tab("a:\n  \tb: 1\n", 2) == (2, 3)
    assert _indent_tab("a:\n  b: '\t'\n", 2) is None  # a tab inside a value is not indentation


@pytest.mark.parametrize("given", ["https://tavusapi.com", "https://tavusapi.com/", "https://tavusapi.com/v2",
                                   "https://tavusapi.com/v2/", " https://tavusapi.com/v2 "])
def test_api_url_with_or_without_v2(given):
    client = TavusClient.from_env(api_url=given, environ={"TAVUS_API_KEY": "k"})
    try:
        assert client.base_url == "https://tavusapi.com"
    finally:
        client.close()


def test_api_url_keeps_a_path_prefix():
    client = TavusClient.from_env(api_url="https://proxy.example.com/tavus/v2/", environ={"TAVUS_API_KEY": "k"})
    try:
        assert client.base_url == "https://proxy.example.com/tavus"
    finally:
        client.close()


def test_interval_shows_sub_second_values():
    assert _interval(0.5) == "0.5s" and _interval(0.25) == "0.25s" and _interval(30) == "30s"
    assert _interval(120) == "2m00s" and _interval(1.5) == "1.5s"


def test_show_round_trips_a_plan_document():
    from reconciler import render
    from reconciler.show import plan_from_document

    plan = Plan(changes=(Change(Action.CREATE, "acme-a", "not found remotely",
                                after={"replica_name": "acme-a", "train_video_url": "https://x/a.mp4?sig=s"}),),
                pending=(RemoteReplica("r1", "acme-p", status="started", training_progress="45/100"),),
                unmanaged=(RemoteReplica("r2", "acme-u", status="completed"),),
                forgotten=(RemoteReplica("r3", "acme-f", status="completed"),), warnings=("w",))
    doc = render.plan_document(plan, file="f.yaml")
    again = plan_from_document(doc)
    assert render.plan_text(again, file="f.yaml") == render.plan_text(plan, file="f.yaml").replace("sig=s", "REDACTED")
    assert render.plan_document(again, file="f.yaml") == doc


def test_plan_json_with_forgotten_replicas_matches_the_schema():
    import json

    from jsonschema import Draft202012Validator

    from reconciler import render
    from reconciler.config import load_schema

    plan = Plan(forgotten=(RemoteReplica("r3", "acme-f", status="completed"),))
    doc = json.loads(render.plan_json(plan, file="f.yaml"))
    assert doc["forgotten"] == [{"name": "acme-f", "replica_id": "r3", "status": "completed"}]
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    md = render.plan_markdown(plan, file="f.yaml")
    assert "<summary>Forget (1)</summary>" in md and "No changes. Inventory matches" in md
