"""workflows/adopt.py: ``export`` in process, against the simulator: a new file, never overwritten."""

from __future__ import annotations

import pytest
from captured import Captured, sim_client

from reconciler import exitcodes
from reconciler.errors import UsageError
from reconciler.workflows import adopt


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_export_writes_a_new_file_once_and_never_overwrites(sim, client, tmp_path):
    sim.add_replica(replica_id="r1", replica_name="acme-a", status="completed")
    out = tmp_path / "adopt.yaml"
    cap = Captured()
    outcome = adopt.export(client, cap.console(), output_file=str(out), name_prefix="acme-",
                              include_system=False, version="test", schema_ref={})
    assert outcome.exit_code == exitcodes.OK and "replica_id: r1" in out.read_text()
    assert cap.err == [f"Exported 1 replica(s) to {out}"]
    out.write_text("mine")
    with pytest.raises(UsageError, match="exists: not overwriting"):
        adopt.export(client, Captured().console(), output_file=str(out), name_prefix="acme-",
                        include_system=False, version="test", schema_ref={})
    assert out.read_text() == "mine"
