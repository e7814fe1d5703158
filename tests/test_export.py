"""Export (the account as a replicas file) and output (ready ids as environment lines)."""

from __future__ import annotations

import pytest

from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.workflows.export import env_name, export_yaml, format_outputs, ready_outputs


def r(rid, name, status="completed", model="phoenix-4", rtype="user"):
    return RemoteReplica(rid, name, status=status, model_name=model, replica_type=rtype)


def test_export_round_trips_to_an_empty_plan(tmp_path):
    from reconciler.engine.config import load_config

    inventory = [r("r3", "acme-b"), r("r2", "acme-a", model="phoenix-3"), r("r1", "acme-a"), r("r0", "other"),
                 r("rs", "Anna - Office", rtype="system")]
    text, warnings = export_yaml(inventory, source="https://tavusapi.com", when="2026-11-24T00:00:00Z",
                                 version="0.1.0", name_prefix="acme-")
    assert "r1" in text and warnings and "acme-a" in warnings[0]
    path = tmp_path / "replicas.yaml"
    path.write_text(text)
    config = load_config(path)
    assert [(d.name, d.replica_id) for d in config.replicas] == [("acme-a", "r2"), ("acme-b", "r3")]
    plan = compute_plan(config, inventory)
    assert plan.changes == () and plan.errors == ()
    assert [u.replica_id for u in plan.unmanaged] == ["r1"]  # the commented-out duplicate


def test_export_with_system_replicas_plans_clean(tmp_path):
    from reconciler.engine.config import load_config

    inventory = [r("r1", "mine"), r("rs", "Anna - Office", rtype="system")]
    text, _ = export_yaml(inventory, source="x", when="t", version="0", include_system=True)
    path = tmp_path / "replicas.yaml"
    path.write_text(text)
    plan = compute_plan(load_config(path), inventory, prune=True)
    assert plan.changes == () and plan.errors == ()


def test_outputs_only_ready_declared_replicas():
    config = Config("f", replicas=(DesiredReplica("acme-a"), DesiredReplica("acme-b"), DesiredReplica("acme-c")),
                    settings=Settings(name_prefix="acme-"))
    ready, notes = ready_outputs(config, [r("r1", "acme-a"), r("r2", "acme-b", status="started")])
    assert ready == {"acme-a": "r1"}
    assert notes == ["acme-b: not ready (started)", "acme-c: not created yet"]
    assert format_outputs(ready, "env") == "TAVUS_REPLICA_ACME_A=r1\n"
    assert format_outputs(ready, "json") == '{\n  "acme-a": "r1"\n}\n'
    assert env_name("acme news.anchor") == "TAVUS_REPLICA_ACME_NEWS_ANCHOR"
    with pytest.raises(ValueError):
        format_outputs({"a-b": "r1", "a_b": "r2"}, "env")


def test_export_writes_the_persona_fields_the_current_reference_documents():
    """Issue 25: guardrail_ids, tool_ids, greeting... and the newer layers round-trip through export (plan on
    the export shows no change)."""
    from reconciler.kinds.personas.models import RemotePersona
    from reconciler.workflows.export import personas_yaml

    p = RemotePersona.from_api({"persona_id": "p1", "persona_name": "acme-p", "persona_type": "user",
                                "system_prompt": "x", "guardrail_ids": ["g1"], "tool_ids": ["t1"], "greeting": "Hi",
                                "layers": {"transport": {"transport_type": "livekit"}}})
    text, warnings = personas_yaml([p], {})
    assert warnings == []
    for line in ("guardrail_ids:\n  - g1", "tool_ids:\n  - t1", "greeting: Hi", "transport_type: livekit"):
        assert line in text, text
