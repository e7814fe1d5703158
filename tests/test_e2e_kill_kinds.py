"""A kill soak for the kinds of issue 27: ``apply`` (a subprocess) is SIGKILLed after a seeded number of API
requests, mid-run, on a file with a document, a guardrail, an objectives set, a pronunciation dictionary, a tool
and a persona wired to all of them; the re-run converges from the account alone, with exactly one object of each
declared name (never a duplicate, whatever answer the kill lost), the persona citing each of them, and never a
DELETE. Each seed must land mid-run (the run is alive when killed), or the test did not test what it says."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

import pytest
from e2e import cli_env, run_cli
from test_e2e_replace import object_ids, wired_file, wired_ids

from reconciler.kinds.documents import sim as dsim
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.objectives import sim as osim
from reconciler.kinds.personas import sim as psim
from reconciler.kinds.pronunciation_dictionaries import sim as pdsim
from reconciler.kinds.tools import sim as tsim

pytestmark = pytest.mark.e2e

SEEDS = (0, 1, 2, 3, 7, 38, 17)  # kills after request 19, 11, 8, 14, 17, 20, 23: in flight, a create of each kind
# a full apply of the file is 28 requests: 6 listings, then per kind a re-check, its POST, a read-back; the
# persona; then the document's readiness polls. A kill after request 7..23 lands between the first POST and the
# persona's create (the answer of the request in flight is lost: the latency holds it).
FIRST_POST, LAST = 7, 23


def _until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.002)


def _names(sim) -> dict[str, list[str]]:
    return {"documents": sorted(d["document_name"] for d in dsim.documents(sim)),
            "guardrails": sorted(g["guardrail_name"] for g in gsim.guardrails(sim)),
            "objectives": sorted(o["name"] for o in osim.objectives(sim)),
            "pronunciation_dictionaries": sorted(d["name"] for d in pdsim.dictionaries(sim)),
            "tools": sorted(t["name"] for t in tsim.tools(sim)),
            "personas": sorted(p["persona_name"] for p in psim.personas(sim))}


@pytest.mark.parametrize("seed", SEEDS)
def test_a_killed_apply_converges_on_rerun_with_no_duplicate_and_no_delete(sim, tmp_path, seed):
    dsim.configure(sim, process_seconds=0.3)
    f = wired_file(tmp_path, sim)
    k = random.Random(seed).randint(FIRST_POST, LAST)
    sim.set_faults(latency=0.03)
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve", "--skip-url-check",
                             "--poll-interval", "0.1"], env=cli_env(sim), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _until(lambda: len(sim.requests) >= k or proc.poll() is not None)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert alive and proc.returncode == -signal.SIGKILL, f"seed {seed}: the run ended before request {k}"
    posts = sum(r["method"] == "POST" for r in sim.requests)
    assert 1 <= posts <= 6, f"seed {seed}: killed after {k} requests, {posts} POST(s): not mid-run"
    sim.set_faults()
    rerun = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1")
    assert rerun.code == 0, f"seed {seed} (killed after request {k}): {rerun.all}"
    assert _names(sim) == {"documents": ["acme-handbook"], "guardrails": ["acme_no_salary"],
                           "objectives": ["acme-screening"], "pronunciation_dictionaries": ["acme-terms"],
                           "tools": ["acme_lookup_candidate"], "personas": ["acme-interviewer"]}, f"seed {seed}"
    assert wired_ids(sim) == object_ids(sim), f"seed {seed}"  # the persona cites each object, by its one id
    assert [r["path"] for r in sim.requests if r["method"] == "DELETE"] == [], f"seed {seed}"
    plan = run_cli(sim, "plan", f, "--detailed-exitcode")
    assert plan.code == 0 and "No changes." in plan.out, f"seed {seed}: {plan.all}"
