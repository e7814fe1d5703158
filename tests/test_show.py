"""Showing a saved plan: a plan document read back renders as the plan that was saved."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds.replicas.models import RemoteReplica


def test_show_round_trips_a_plan_document():
    from reconciler.views import render
    from reconciler.workflows.show import plan_from_document

    plan = Plan(changes=(Change(Action.CREATE, "acme-a", "not found remotely",
                                after={"replica_name": "acme-a", "train_video_url": "https://x/a.mp4?sig=s"}),),
                pending=(RemoteReplica("r1", "acme-p", status="started", training_progress="45/100"),),
                unmanaged=(RemoteReplica("r2", "acme-u", status="completed"),),
                forgotten=(RemoteReplica("r3", "acme-f", status="completed"),), warnings=("w",))
    doc = render.plan_document(plan, file="f.yaml")
    again = plan_from_document(doc)
    assert render.plan_text(again, file="f.yaml") == render.plan_text(plan, file="f.yaml").replace("sig=s", "REDACTED")
    assert render.plan_document(again, file="f.yaml") == doc
