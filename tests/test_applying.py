"""workflows/applying.py: ``apply`` in process, against the simulator: exit codes, never a duplicate create."""

from __future__ import annotations

import pytest
from captured import FAST, Captured, sim_client
from e2e import api_requests, names_on, replicas_file

from reconciler import exitcodes
from reconciler.engine.config import load_config
from reconciler.workflows import applying
from reconciler.workflows.common import PlanOptions


@pytest.fixture
def client(sim):
    yield from sim_client(sim)


def test_apply_then_wait_in_process_and_a_rerun_creates_nothing(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a", "acme-b"]))
    cap = Captured()
    outcome = applying.apply(config, client, PlanOptions(), FAST, cap.console(), shown="f.yaml",
                             skip_url_check=True)
    assert outcome.exit_code == exitcodes.OK, cap.text
    assert outcome.report.ok and sorted(outcome.report.created) == ["acme-a", "acme-b"]
    assert names_on(sim) == ["acme-a", "acme-b"] and "All 2 replica(s) are ready" in cap.text
    again = applying.apply(config, client, PlanOptions(), FAST, Captured().console(), shown="f.yaml")
    assert again.exit_code == exitcodes.OK and again.report is None
    assert len(api_requests(sim, "POST")) == 2  # contract 1: never a duplicate create


def test_a_failed_training_is_exit_3_and_a_refused_confirmation_changes_nothing(sim, client, tmp_path):
    config = load_config(replicas_file(tmp_path, sim, ["acme-a"], video=sim.video_url("fail.mp4")))
    refused = applying.apply(config, client, PlanOptions(), FAST, Captured().console(), shown="f.yaml",
                             confirm=lambda plan: False, skip_url_check=True)
    assert refused.exit_code == exitcodes.ERROR and api_requests(sim, "POST") == []
    cap = Captured()
    outcome = applying.apply(config, client, PlanOptions(), FAST, cap.console(), shown="f.yaml",
                             skip_url_check=True)
    assert outcome.exit_code == exitcodes.FAILED and "acme-a" in "\n".join(cap.err)
