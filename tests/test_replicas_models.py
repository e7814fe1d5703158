"""reconciler.kinds.replicas.models (issue 29): a remote replica is small (100,000 are held in memory at once)."""

from __future__ import annotations

import json

from reconciler.kinds.replicas.models import RemoteReplica


def _api(i: int) -> dict:
    # decoded from JSON, as the client gets them: equal strings, distinct objects
    return json.loads(json.dumps({"replica_id": f"r{i:08d}", "replica_name": f"n-{i}", "status": "completed",
                                  "training_progress": "100/100", "model_name": "phoenix-4", "replica_type": "user",
                                  "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}))


def test_a_remote_replica_has_no_per_instance_dict_and_shares_its_repeated_words():
    a, b = RemoteReplica.from_api(_api(1)), RemoteReplica.from_api(_api(2))
    assert not hasattr(a, "__dict__")
    assert a.status is b.status and a.model_name is b.model_name and a.replica_type is b.replica_type
    assert a.training_progress is b.training_progress
    assert a.updated_at is a.created_at  # one string when they are equal
    assert (a.replica_id, a.name, a.status, a.created_at) == ("r00000001", "n-1", "completed", "2026-01-01T00:00:00Z")


def test_a_long_or_odd_value_is_kept_as_given():
    data = _api(3) | {"status": "x" * 100, "model_name": 4, "updated_at": "2026-02-02T00:00:00Z"}
    r = RemoteReplica.from_api(data)
    assert r.status == "x" * 100 and r.model_name == "4" and r.updated_at == "2026-02-02T00:00:00Z"


def test_the_thumbnail_url_is_not_kept():
    """Issue 29: nothing shows or compares a replica's thumbnail_video_url (a URL: one more thing to redact);
    100,000 of them were 10 MB of a large plan's memory."""
    from dataclasses import fields

    from reconciler.kinds.replicas.models import RemoteReplica

    r = RemoteReplica.from_api({"replica_id": "r1", "replica_name": "a", "status": "completed",
                                "thumbnail_video_url": "https://cdn.example.com/t.mp4?sig=1"})
    assert "thumbnail_video_url" not in {f.name for f in fields(RemoteReplica)}
    assert "cdn.example.com" not in repr(r)


def test_the_fast_constructor_sets_every_field_in_order():
    """from_api builds through the slots' setters called one by one (issue 29): each field gets its own value,
    the same object the dataclass's constructor makes (a field added or reordered breaks this, not a listing)."""
    import dataclasses

    from reconciler.kinds.replicas import models

    values = [f"v{i}" for i, _ in enumerate(dataclasses.fields(RemoteReplica))]
    assert models._new_replica(RemoteReplica, *values) == RemoteReplica(*values)
    assert len(models._SETTERS) == len(values)
