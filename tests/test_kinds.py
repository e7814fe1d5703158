"""The resource-kind interface, replicas as the first kind (issue 16)."""

from __future__ import annotations

import pytest

from reconciler.kinds import Kind, kind, kinds
from reconciler.kinds.replicas import REPLICAS
from reconciler.models import DesiredReplica, RemoteReplica


def test_replicas_are_the_first_kind_and_satisfy_the_interface():
    assert [k.key for k in kinds()] == ["replicas", "personas"] and kind("replicas") is REPLICAS
    for attr in Kind.__annotations__:
        assert hasattr(REPLICAS, attr), attr
    assert kind("personas").noun == "persona"  # issue 17: after the replicas they reference
    with pytest.raises(KeyError):
        kind("conversations")


def test_identity_is_the_pin_else_the_name():
    assert REPLICAS.identity(DesiredReplica("a")) == ("name", "a")
    assert REPLICAS.identity(DesiredReplica("a", "r1")) == ("id", "r1")


@pytest.mark.parametrize("desired,remote,reason", [
    (DesiredReplica("a", model_name="phoenix-4"), RemoteReplica("r1", "a", model_name="phoenix-3"),
     "model_name changed: forces replacement"),
    (DesiredReplica("a"), RemoteReplica("r1", "a", model_name="phoenix-3"), None),  # undeclared: never compared
    (DesiredReplica("a", train_video_url="https://x/new.mp4"), RemoteReplica("r1", "a"), None),  # create-only
    (DesiredReplica("a"), RemoteReplica("r1", "a", status="error", error_message="no face"),
     "training failed: no face"),
])
def test_replace_rules(desired, remote, reason):
    assert REPLICAS.replace_reason(desired, remote, ()) == reason


def test_only_a_pinned_replicas_name_is_updated_in_place():
    assert REPLICAS.in_place_changes(DesiredReplica("b", "r1"), RemoteReplica("r1", "a")) == {
        "replica_name": ("a", "b")}
    assert REPLICAS.in_place_changes(DesiredReplica("b"), RemoteReplica("r1", "a")) == {}


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *a, **k: self.calls.append((name, a, k)) or "r-new"


def test_api_calls_go_through_the_one_client():
    client = Recorder()
    d = DesiredReplica("a", train_video_url="https://x/a.mp4", synthetic=True)
    assert REPLICAS.create(client, d, name="a~next~r1", known_ids={"r1"}) == "r-new"
    REPLICAS.update(client, "r1", {"replica_name": ("a", "b")})
    REPLICAS.delete(client, "r1")
    assert client.calls == [
        ("create_replica", ({"replica_name": "a~next~r1", "train_video_url": "https://x/a.mp4"},),
         {"known_ids": {"r1"}}),
        ("rename_replica", ("r1", "b"), {}),
        ("delete_replica", ("r1",), {})]
    with pytest.raises(ValueError, match="model_name"):
        REPLICAS.update(client, "r1", {"model_name": ("phoenix-3", "phoenix-4")})
