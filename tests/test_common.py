"""workflows/common.py: the listings every workflow starts from, and the rollout jitter."""

from __future__ import annotations

import pytest

from reconciler.engine.config import load_config
from reconciler.workflows import common


def test_the_replicas_and_the_personas_are_listed_at_the_same_time(tmp_path):
    """Issue 29: a plan waits for its slowest listing, not the sum (each listing here waits for the other to
    have started: run one after the other, the barrier would break)."""
    import threading

    from reconciler.errors import ApiError
    from reconciler.kinds.personas.models import RemotePersona
    from reconciler.kinds.replicas.models import RemoteReplica

    f = tmp_path / "both.yaml"
    f.write_text("version: 1\nreplicas:\n  - name: a\n    train_video_url: https://v.example.com/a.mp4\n"
                 "    synthetic: true\npersonas:\n  - name: p\n    system_prompt: hi\n")
    config = load_config(str(f))
    both = threading.Barrier(2, timeout=20)

    class Both:
        fail = None

        def list_replicas(self, **kw):
            both.wait()
            if self.fail == "replicas":
                raise ApiError("replicas down")
            return [RemoteReplica("r1", "a", status="completed")]

        def list_personas(self, **kw):
            both.wait()
            if self.fail:
                raise ApiError("personas down")
            return [RemotePersona("p1", name="p")]

    remote, personas = common.inventories(Both(), config)
    assert [r.replica_id for r in remote] == ["r1"] and [p.persona_id for p in personas] == ["p1"]
    client = Both()
    client.fail = "replicas"
    both.reset()
    with pytest.raises(ApiError, match="replicas down"):  # the replicas' error wins, as when run in turn
        common.inventories(client, config)
    client.fail = "personas"
    both.reset()
    with pytest.raises(ApiError, match="personas down"):
        common.inventories(client, config)


def test_rollout_jitter_defaults_to_3s_is_clamped_and_refuses_a_non_number():
    from reconciler.errors import UsageError

    assert common.rollout_jitter({}) == 3.0 and common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": " "}) == 3.0
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "0.5"}) == 0.5
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "-4"}) == 0.0
    assert common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "9999"}) == 60.0
    with pytest.raises(UsageError, match="must be a number of seconds"):
        common.rollout_jitter({"TAVUS_ROLLOUT_JITTER_SECONDS": "soon"})


def test_a_file_without_replicas_costs_no_replica_request(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("version: 1\npersonas:\n  - name: p\n    system_prompt: hi\n")

    class NoReplicas:
        def list_replicas(self, **kw):
            raise AssertionError("a file without replicas: does not manage them")

    assert common.inventory(NoReplicas(), load_config(str(f))) == []
