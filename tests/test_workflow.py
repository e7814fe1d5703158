"""The workflows run in process (no subprocess), against the simulator: each returns an Outcome whose exit code
is the one the CLI exits with (issue 16). The CLI's own behaviour stays covered by the e2e tests."""

from __future__ import annotations

import pytest
from e2e import API_KEY, api_requests, names_on, replicas_file

from reconciler import exitcodes
from reconciler.api.client import TavusClient
from reconciler.engine.config import load_config
from reconciler.engine.successor import successor_name
from reconciler.errors import PlanError, UsageError
from reconciler.workflows import workflow


class Captured:
    def __init__(self):
        self.out: list[str] = []
        self.err: list[str] = []

    def console(self) -> workflow.Console:
        return workflow.Console(out=lambda text="", nl=True: self.out.append(text), err=self.err.append)

    @property
    def text(self) -> str:
        return "\n".join(self.out + self.err)


@pytest.fixture
def client(sim):
    with TavusClient(sim.url, API_KEY, backoff_base=0.01, create_settle=1.0) as c:
        yield c


FAST = workflow.WaitOptions(timeout=30, poll_interval=0.1)


def test_plan_outcome_carries_the_detailed_exit_code(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"]))
    cap = Captured()
    outcome = workflow.plan(config, client, workflow.PlanOptions(), cap.console(), file="f.yaml",
                            detailed_exitcode=True)
    assert outcome.exit_code == exitcodes.CHANGES and [c.name for c in outcome.plan.changes] == ["acme-a"]
    assert "acme-a" in cap.text
    plain = workflow.plan(config, client, workflow.PlanOptions(), Captured().console(), file="f.yaml")
    assert plain.exit_code == exitcodes.OK and api_requests(sim, "POST") == []  # a plan never writes


def test_apply_then_wait_in_process_and_a_rerun_creates_nothing(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b"]))
    cap = Captured()
    outcome = workflow.apply(config, client, workflow.PlanOptions(), FAST, cap.console(), shown="f.yaml",
                             skip_url_check=True)
    assert outcome.exit_code == exitcodes.OK, cap.text
    assert outcome.report.ok and sorted(outcome.report.created) == ["acme-a", "acme-b"]
    assert names_on(sim) == ["acme-a", "acme-b"] and "All 2 replica(s) are ready" in cap.text
    again = workflow.apply(config, client, workflow.PlanOptions(), FAST, Captured().console(), shown="f.yaml")
    assert again.exit_code == exitcodes.OK and again.report is None
    assert len(api_requests(sim, "POST")) == 2  # contract 1: never a duplicate create


def test_a_failed_training_is_exit_3_and_a_refused_confirmation_changes_nothing(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"], video=sim.video_url("fail.mp4")))
    refused = workflow.apply(config, client, workflow.PlanOptions(), FAST, Captured().console(), shown="f.yaml",
                             confirm=lambda plan: False, skip_url_check=True)
    assert refused.exit_code == exitcodes.ERROR and api_requests(sim, "POST") == []
    cap = Captured()
    outcome = workflow.apply(config, client, workflow.PlanOptions(), FAST, cap.console(), shown="f.yaml",
                             skip_url_check=True)
    assert outcome.exit_code == exitcodes.FAILED and "acme-a" in "\n".join(cap.err)


def test_wait_times_out_with_exit_4(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="training")  # a fixed status: never done
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"]))
    cap = Captured()
    waited = workflow.wait(config, client, workflow.WaitOptions(timeout=0.3, poll_interval=0.1), cap.console(),
                           file="f.yaml")
    assert waited.exit_code == exitcodes.TIMEOUT and "Timed out" in "\n".join(cap.err)
    assert "acme-a (0%)" in "\n".join(cap.err)


def test_wait_targets_leaves_the_rollouts_names_to_it_resolves_created_ids_and_refuses_ambiguity(sim, client,
                                                                                                   tmp_path):
    from reconciler.kinds.replicas.models import RemoteReplica

    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b", "acme-c"]))
    remote = [RemoteReplica("r1", "acme-a"), RemoteReplica("r9", successor_name("acme-a", "r1"), status="started")]
    ids = workflow.wait_targets(config, remote, file="f.yaml", created={"acme-b": "r2", "acme-c": "r3"},
                                replacing={"acme-a"})
    assert ids == {"r2": "acme-b", "r3": "acme-c"}  # the rollout (kinds/replicas/rolling.py) tracks acme-a's successor
    with pytest.raises(PlanError, match="not created yet: acme-b, acme-c"):
        workflow.wait_targets(config, remote, file="f.yaml")
    twice = [*remote, RemoteReplica("r4", "acme-b"), RemoteReplica("r5", "acme-b"), RemoteReplica("r6", "acme-c")]
    with pytest.raises(PlanError, match=r"acme-b \(r4, r5\)"):
        workflow.wait_targets(config, twice, file="f.yaml")


def test_output_refuses_a_partial_map_unless_allowed(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="completed")
    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b"]))
    cap = Captured()
    with pytest.raises(UsageError, match="1 declared replica"):
        workflow.output(config, client, cap.console())
    assert cap.out == [] and cap.err == ["error: acme-b: not created yet"]
    cap = Captured()
    assert workflow.output(config, client, cap.console(), allow_partial=True).exit_code == exitcodes.OK
    assert cap.out == ["acme-a  r1\n"]


def test_export_writes_a_new_file_once_and_never_overwrites(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="completed")
    out = tmp_path / "adopt.yaml"
    cap = Captured()
    outcome = workflow.export(client, cap.console(), output_file=str(out), name_prefix="acme-",
                              include_system=False, version="test", schema_ref={})
    assert outcome.exit_code == exitcodes.OK and "replica_id: r1" in out.read_text()
    assert cap.err == [f"Exported 1 replica(s) to {out}"]
    out.write_text("mine")
    with pytest.raises(UsageError, match="exists: not overwriting"):
        workflow.export(client, Captured().console(), output_file=str(out), name_prefix="acme-",
                        include_system=False, version="test", schema_ref={})
    assert out.read_text() == "mine"


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

    remote, personas = workflow.inventories(Both(), config)
    assert [r.replica_id for r in remote] == ["r1"] and [p.persona_id for p in personas] == ["p1"]
    client = Both()
    client.fail = "replicas"
    both.reset()
    with pytest.raises(ApiError, match="replicas down"):  # the replicas' error wins, as when run in turn
        workflow.inventories(client, config)
    client.fail = "personas"
    both.reset()
    with pytest.raises(ApiError, match="personas down"):
        workflow.inventories(client, config)
