"""workflows/planning.py: ``plan`` in process, against the simulator (issue 16: its Outcome carries the exit code)."""

from __future__ import annotations

import pytest
from captured import Captured, sim_client
from e2e import api_requests, replicas_file

from reconciler import exitcodes
from reconciler.engine.config import load_config
from reconciler.workflows import planning
from reconciler.workflows.common import PlanOptions


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_plan_outcome_carries_the_detailed_exit_code(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"]))
    cap = Captured()
    outcome = planning.plan(config, client, PlanOptions(), cap.console(), file="f.yaml",
                            detailed_exitcode=True)
    assert outcome.exit_code == exitcodes.CHANGES and [c.name for c in outcome.plan.changes] == ["acme-a"]
    assert "acme-a" in cap.text
    plain = planning.plan(config, client, PlanOptions(), Captured().console(), file="f.yaml")
    assert plain.exit_code == exitcodes.OK and api_requests(sim, "POST") == []  # a plan never writes
