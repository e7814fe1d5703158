"""reconciler.kinds.replicas.kind: identity, the replace rule, in-place changes and readiness words."""

from reconciler.engine.status import Phase
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica


def test_identity_is_the_pinned_id_else_the_name():
    assert REPLICAS.identity(DesiredReplica("acme-a")) == ("name", "acme-a")
    assert REPLICAS.identity(DesiredReplica("acme-a", replica_id="r1")) == ("id", "r1")


def test_a_failed_training_a_changed_model_or_replace_forces_a_replace_else_none():
    d = DesiredReplica("acme-a", model_name="phoenix-4")
    assert REPLICAS.replace_reason(d, RemoteReplica("r1", "acme-a", "completed", model_name="phoenix-4"), ()) is None
    assert "model_name changed" in REPLICAS.replace_reason(
        d, RemoteReplica("r1", "acme-a", "completed", model_name="phoenix-3"), ())
    assert REPLICAS.replace_reason(d, RemoteReplica("r1", "acme-a", "error", model_name="phoenix-4"), ()).startswith(
        "training failed")
    assert REPLICAS.replace_reason(d, RemoteReplica("r1", "acme-a", "completed"), {"acme-a"}) == (
        "replacement requested with --replace")
    # undeclared model: the server's default, never compared
    assert REPLICAS.replace_reason(DesiredReplica("acme-a"), RemoteReplica("r1", "acme-a", "completed",
                                                                          model_name="phoenix-3"), ()) is None


def test_only_a_pinned_replica_is_renamed_in_place():
    remote = RemoteReplica("r1", "old-name", "completed")
    assert REPLICAS.in_place_changes(DesiredReplica("acme-a", replica_id="r1"), remote) == {
        "replica_name": ("old-name", "acme-a")}
    assert REPLICAS.in_place_changes(DesiredReplica("acme-a"), remote) == {}


def test_not_ready_says_why_in_one_line():
    assert REPLICAS.not_ready(RemoteReplica("r1", "a", "completed")) is None
    assert REPLICAS.phase(RemoteReplica("r1", "a", "started")) is Phase.PENDING
    assert "still training" in REPLICAS.not_ready(RemoteReplica("r1", "a", "started"))
    assert "failed training" in REPLICAS.not_ready(RemoteReplica("r1", "a", "error", error_message="bad video"))
