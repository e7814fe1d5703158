"""workflows/reporting.py: ``output`` (and ``status``) in process, against the simulator."""

from __future__ import annotations

import pytest
from captured import Captured, sim_client
from e2e import replicas_file

from reconciler import exitcodes
from reconciler.engine.config import load_config
from reconciler.errors import UsageError
from reconciler.workflows import reporting


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_output_refuses_a_partial_map_unless_allowed(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="completed")
    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b"]))
    cap = Captured()
    with pytest.raises(UsageError, match="1 declared replica"):
        reporting.output(config, client, cap.console())
    assert cap.out == [] and cap.err == ["error: acme-b: not created yet"]
    cap = Captured()
    assert reporting.output(config, client, cap.console(), allow_partial=True).exit_code == exitcodes.OK
    assert cap.out == ["acme-a  r1\n"]


def test_status_of_a_file_without_replicas_shows_no_empty_replica_table(sim, client, tmp_path):
    f = tmp_path / "g.yaml"
    f.write_text("version: 1\nguardrails:\n  - name: acme_a\n    guardrail_prompt: Never.\n")
    cap = Captured()
    assert reporting.status(load_config(f), client, cap.console()).exit_code == exitcodes.OK
    text = "".join(cap.out)
    assert "REPLICA_ID" not in text and "0 declared" not in text and "acme_a" in text
    cap = Captured()
    reporting.status(load_config(replicas_file(tmp_path, sim, ["acme-a"])), client, cap.console())
    assert "REPLICA_ID" in "".join(cap.out)  # a file with a replicas: section keeps its table, even empty
