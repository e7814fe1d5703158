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
