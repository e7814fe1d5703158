"""workflows/waiting.py: ``wait`` in process, against the simulator: what it waits for, how it ends."""

from __future__ import annotations

import pytest
from captured import Captured, sim_client
from e2e import replicas_file

from reconciler import exitcodes
from reconciler.engine.config import load_config
from reconciler.engine.successor import successor_name
from reconciler.errors import PlanError
from reconciler.workflows import waiting
from reconciler.workflows.common import WaitOptions


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_wait_times_out_with_exit_4(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="training")  # a fixed status: never done
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"]))
    cap = Captured()
    waited = waiting.wait(config, client, WaitOptions(timeout=0.3, poll_interval=0.1), cap.console(),
                           file="f.yaml")
    assert waited.exit_code == exitcodes.TIMEOUT and "Timed out" in "\n".join(cap.err)
    assert "acme-a (0%)" in "\n".join(cap.err)


def test_wait_targets_leaves_the_rollouts_names_to_it_resolves_created_ids_and_refuses_ambiguity(sim, client,
                                                                                                   tmp_path):
    from reconciler.kinds.replicas.models import RemoteReplica

    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b", "acme-c"]))
    remote = [RemoteReplica("r1", "acme-a"), RemoteReplica("r9", successor_name("acme-a", "r1"), status="started")]
    ids = waiting.wait_targets(config, remote, file="f.yaml", created={"acme-b": "r2", "acme-c": "r3"},
                                replacing={"acme-a"})
    assert ids == {"r2": "acme-b", "r3": "acme-c"}  # the rollout (kinds/replicas/rolling.py) tracks acme-a's successor
    with pytest.raises(PlanError, match="not created yet: acme-b, acme-c"):
        waiting.wait_targets(config, remote, file="f.yaml")
    twice = [*remote, RemoteReplica("r4", "acme-b"), RemoteReplica("r5", "acme-b"), RemoteReplica("r6", "acme-c")]
    with pytest.raises(PlanError, match=r"acme-b \(r4, r5\)"):
        waiting.wait_targets(config, twice, file="f.yaml")


def test_interval_keeps_a_fraction_of_a_second():
    assert waiting.interval(0.5) == "0.5s" and waiting.interval(30) == "30s"


def test_the_heading_of_replicas_and_documents_fits_80_columns():
    class Rows:
        rows = [object()]

        def what(self):
            return "2 document(s) and 1 pronunciation dictionary(s)"

    opts = WaitOptions(timeout=6 * 3600, poll_interval=30)
    head = waiting._heading({"r1": "a"}, Rows(), None, opts)
    assert head.startswith("\nWaiting for 1 replica(s) and 2 document(s)")
    assert all(len(line) <= 80 for line in head.splitlines()), head

    class NoRows:
        rows: list = []

    assert waiting._heading({"r1": "a"}, NoRows(), None, opts) == (
        "\nWaiting for 1 replica(s) to finish training; timeout 6h00m00s, polling every 30s:")


def test_after_the_wait_a_halted_rollout_is_an_error_and_what_is_left_is_said():
    cap = Captured()

    class Halted:
        runs, halted, not_started = [object()], True, 2

        def summary(self):
            return "1 of 3 swapped, halted"

    waiting._say_rollout(Halted(), "f.yaml", cap.console())
    assert cap.err == ["error: Rollout: 1 of 3 swapped, halted."] and cap.out == []
    cap = Captured()
    Halted.halted = False
    waiting._say_rollout(Halted(), "f.yaml", cap.console())
    assert cap.out == ["Rollout: 1 of 3 swapped, halted.",
                       "2 replace(s) not started yet: `tavus-reconciler apply f.yaml` continues the rollout."]
    waiting._say_rollout(None, "f.yaml", cap.console())
    assert len(cap.out) == 2
