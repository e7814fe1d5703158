"""Make the tests' helper modules (``e2e``) importable as top-level modules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)


def _hypothesis_profiles() -> None:
    """In CI (``CI`` set, as every CI service does), hypothesis draws the same examples on every run and keeps
    no example database: a failure there is reproducible from the commit alone, and a pass is not luck. Locally
    the default (random, with a database) keeps exploring; ``HYPOTHESIS_PROFILE=ci`` gives CI's draws."""
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
    if profile:
        settings.load_profile(profile)


_hypothesis_profiles()


@pytest.fixture
def sim():
    """A simulator on a free loopback port, training in half a second, expecting the e2e API key."""
    from e2e import API_KEY

    from reconciler.sim.simulator import Simulator

    with Simulator(api_key=API_KEY, train_seconds=0.5) as s:
        yield s


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id):
    """A folder of this session that every pytest-xdist worker sees: what is built once (tests/artifacts.py)."""
    base = tmp_path_factory.getbasetemp()
    return (base if worker_id == "master" else base.parent) / "artifacts"
