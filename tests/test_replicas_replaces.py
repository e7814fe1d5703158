"""reconciler.kinds.replicas.replaces: the blue/green swap with an in-memory fake client (moved from
test_executor.py; start_successors is tested in tests/test_replicas_rolling.py)."""

from __future__ import annotations

from fakes import FakeClient

from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.status import Phase
from reconciler.kinds.replicas.replaces import InFlight, changed_before_delete, created_name, finish_replaces, in_flight


def test_finish_replaces_swaps_ready_removes_failed_and_leaves_training():
    items = [InFlight("a", "r-a", "s-a", "training"), InFlight("b", "r-b", "s-b", "training"),
             InFlight("c", "r-c", "s-c", "training"), InFlight("e", "r-e", "s-e", "rename")]
    phases = {"s-a": Phase.READY, "s-b": Phase.FAILED, "s-c": Phase.PENDING, "s-e": Phase.READY}
    client = FakeClient({})
    report = finish_replaces(items, phases, client, emit=lambda s: None)
    calls = sorted(c for c in client.calls if c[0] in ("delete", "rename"))
    assert calls == [("delete", "r-a"), ("delete", "s-b"), ("rename", "s-a", "a"), ("rename", "s-e", "e")]
    assert [o.change.name for o in report.failed] == ["b"] and "r-b keeps the name" in report.failed[0].detail


def test_the_swap_re_points_every_persona_before_the_old_replica_is_deleted():
    """Mutation (issue 24): re-pointing was caught only by e2e runs. The persona that used the old replica is
    PATCHed to the successor, and that happens before the delete; other personas are left alone."""
    from reconciler.kinds.personas.models import RemotePersona

    class WithPersonas(FakeClient):
        def list_personas(self):
            return [RemotePersona.from_api({"persona_id": "p1", "persona_type": "user", "default_replica_id": "r-a"}),
                    RemotePersona.from_api({"persona_id": "p2", "persona_type": "user", "default_replica_id": "r-x"})]

        def update_persona(self, pid, ops):
            self.calls.append(("patch", pid, tuple(op["value"] for op in ops)))
            return True

    client = WithPersonas({})
    report = finish_replaces([InFlight("a", "r-a", "s-a", "training")], {"s-a": Phase.READY}, client,
                             emit=lambda s: None)
    assert report.ok if hasattr(report, "ok") else not report.failed
    done = [c for c in client.calls if c[0] in ("patch", "delete", "rename")]
    assert done == [("patch", "p1", ("s-a",)), ("delete", "r-a"), ("rename", "s-a", "a")]


def test_a_ready_successor_renamed_by_a_person_keeps_both_replicas():
    client = FakeClient({})
    client.get_replica = lambda rid: type("R", (), {"name": "someone-elses", "phase": Phase.READY})()
    report = finish_replaces([InFlight("a", "r-a", "s-a", "training")], {"s-a": Phase.READY}, client,
                             emit=lambda s: None)
    assert not [c for c in client.calls if c[0] in ("delete", "rename")]
    (failed,) = report.failed
    assert "both replicas are kept" in failed.detail and "now named 'someone-elses'" in failed.detail


def test_in_flight_and_the_names_a_create_posts():
    replace = Change(Action.REPLACE, "a", "model", object_id="r-a", successor_id="s-a", phase="swap")
    fresh = Change(Action.REPLACE, "b", "model", object_id="r-b")
    assert in_flight(Plan(changes=(replace, fresh)), {"b": "s-b"}) == [InFlight("a", "r-a", "s-a", "swap"),
                                                                       InFlight("b", "r-b", "s-b", "create")]
    assert created_name(Change(Action.CREATE, "c", "declared")) == "c"
    assert created_name(fresh) != "b" and created_name(fresh).startswith("b")


def test_a_delete_is_refused_when_the_replica_was_renamed_since_the_plan():
    client = FakeClient({})
    client.get_replica = lambda rid: type("R", (), {"name": "kept-by-a-person"})()
    why = changed_before_delete(client, Change(Action.DELETE, "old", "pruned", object_id="r1"))
    assert why == "r1 is now named 'kept-by-a-person', not 'old' as when the plan was made"
