"""reconciler.engine.models: the shared values (the replicas' own models are tests/test_replicas_models.py's)."""

from __future__ import annotations

from reconciler.engine.models import Action, Change, Config, Plan, Settings
from reconciler.kinds.replicas.models import DesiredReplica


def test_scope_and_lookup_by_name():
    assert Settings().in_scope("anything") and Settings(name_prefix="acme-").in_scope("acme-a")
    assert not Settings(name_prefix="acme-").in_scope("other-a")
    a = DesiredReplica(name="acme-a", train_video_url="https://v/a.mp4", synthetic=True)
    assert Config(path="f.yaml", replicas=(a,)).by_name() == {"acme-a": a}


def test_a_plan_summary_shows_update_only_when_there_is_one():
    create = Change(Action.CREATE, "a", "declared")
    assert "update" not in Plan(changes=(create,)).summary
    assert Plan(changes=(create, Change(Action.UPDATE, "p", "drift", kind="personas"))).summary["update"] == 1
    assert Plan(changes=(create,)).has_changes and not Plan().has_changes
