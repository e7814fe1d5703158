"""The rollout engine (reconciler.kinds.replicas.rolling), tick by tick, against the in-process simulator.

The waiter's part (polling) is played by ``poll``: it copies each successor's state from the account onto the
rows, as ``Waiter._poll`` does, so every tick here is deterministic: training ends when the test says so.
"""

from __future__ import annotations

import threading

import pytest
from e2e import API_KEY

from reconciler.api.client import TavusClient
from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.engine.rollout import RolloutSettings
from reconciler.engine.status import Phase
from reconciler.engine.successor import parse_successor
from reconciler.kinds.personas import sim as sim_personas
from reconciler.kinds.replicas.models import DesiredReplica
from reconciler.kinds.replicas.rolling import Rolling


@pytest.fixture
def client(sim):
    sim.train_seconds = 3600  # training ends only when a test calls sim.finish
    with TavusClient(sim.url, API_KEY, backoff_base=0.01, create_settle=1.0) as c:
        yield c


def fleet(sim, n=5, **rollout):
    names = [f"acme-{i}" for i in range(1, n + 1)]
    olds = {name: sim.add_replica(replica_name=name, model_name="phoenix-3")["replica_id"] for name in names}
    config = Config("f.yaml", replicas=tuple(DesiredReplica(name, train_video_url=sim.video_url(f"{name}.mp4"),
                                                   synthetic=True, model_name="phoenix-4") for name in names),
                    settings=Settings(rollout=RolloutSettings(**rollout)))
    return names, olds, config


def rolling_for(sim, client, config, *, may_start=True, emit=None):
    remote = client.list_replicas()
    plan = compute_plan(config, remote)
    lines = emit if emit is not None else []
    return Rolling(plan, client, known_ids={r.replica_id for r in remote}, may_start=may_start,
                   emit=lines.append, parallelism=4)


def poll(sim, rolling):
    """What the waiter does between ticks: read each started successor's state off the account."""
    by_id = {r["replica_id"]: r for r in sim.replicas()}
    for row in rolling.rows:
        r = by_id.get(row.object_id)
        if r is not None and not row.done:
            row.status = r["status"]
            row.phase = {"completed": Phase.READY, "error": Phase.FAILED}.get(r["status"], Phase.PENDING)
            row.error_message = r.get("error_message")


def training(sim) -> dict[str, str]:
    """declared name -> successor id of every successor on the account."""
    return {parse_successor(r["replica_name"])[0]: r["replica_id"] for r in sim.replicas()
            if parse_successor(r["replica_name"])}


def step(sim, rolling, *finished, status="completed"):
    for name in finished:
        sim.finish(training(sim)[name], status, "no face" if status == "error" else None)
    poll(sim, rolling)
    rolling.tick()


def test_the_canary_alone_first_then_at_most_max_replacing_in_file_order(sim, client):
    names, olds, config = fleet(sim, 5, max_replacing=2, canary=1)
    r = rolling_for(sim, client, config)
    r.tick()
    assert list(training(sim)) == ["acme-1"]  # the canary alone, though two slots are free
    step(sim, r)  # still training: nothing new
    assert list(training(sim)) == ["acme-1"]
    step(sim, r, "acme-1")  # trained, verified, swapped: now two at a time
    assert sorted(training(sim)) == ["acme-2", "acme-3"]
    assert r.summary() == "1 of 5 replaced (2 training, 2 waiting)"
    step(sim, r, "acme-3")  # one slot frees: the next in file order starts
    assert sorted(training(sim)) == ["acme-2", "acme-4"]
    step(sim, r, "acme-2", "acme-4")
    assert sorted(training(sim)) == ["acme-5"]
    step(sim, r, "acme-5")
    assert not training(sim) and not r.busy and r.summary() == "5 of 5 replaced"
    assert sorted(x["replica_name"] for x in sim.replicas()) == names
    assert not {x["replica_id"] for x in sim.replicas()} & set(olds.values())


def test_without_a_canary_the_first_batch_starts_at_once(sim, client):
    _, _, config = fleet(sim, 5, max_replacing=3, canary=0)
    r = rolling_for(sim, client, config)
    r.tick()
    assert sorted(training(sim)) == ["acme-1", "acme-2", "acme-3"]


def test_a_canary_of_two_must_both_be_replaced_before_the_rest(sim, client):
    _, _, config = fleet(sim, 5, max_replacing=1, canary=2)
    r = rolling_for(sim, client, config)
    r.tick()
    assert list(training(sim)) == ["acme-1"]  # max_replacing bounds the canary too
    step(sim, r, "acme-1")
    assert list(training(sim)) == ["acme-2"]
    step(sim, r, "acme-2")
    assert list(training(sim)) == ["acme-3"]


def test_a_failed_training_halts_in_flight_finish_and_nothing_new_starts(sim, client):
    names, olds, config = fleet(sim, 6, max_replacing=2, canary=1)
    r = rolling_for(sim, client, config)
    r.tick()
    step(sim, r, "acme-1")
    step(sim, r, "acme-3", status="error")  # acme-3's successor fails: halt; acme-2 still trains
    assert r.halted and r.halted.startswith("acme-3: successor") and "no face" in r.halted
    assert list(training(sim)) == ["acme-2"]  # the failed successor was removed; no new start
    assert r.busy is False or r.count("training") == 1
    step(sim, r, "acme-2")  # the one in flight finishes and is swapped in
    assert not training(sim) and not r.busy
    assert r.summary().startswith("2 of 6 replaced, halted at acme-3")
    on = {x["replica_name"]: x["replica_id"] for x in sim.replicas()}
    assert sorted(on) == names and all(on[n] == olds[n] for n in names[2:])  # 3-6 keep their old replica
    assert {row.name: row.phase for row in r.rows}["acme-5"] == "halted"
    assert r.halt_code == 3


def test_a_verification_failure_halts_and_keeps_both_replicas(sim, client):
    _, olds, config = fleet(sim, 3, max_replacing=2, canary=1)
    pid = sim_personas.add_persona(sim, persona_name="acme-p", default_replica_id=olds["acme-1"])["persona_id"]
    sim_personas.configure(sim, reject_test_mode={pid})
    lines = []
    r = rolling_for(sim, client, config, emit=lines)
    r.tick()
    successor = training(sim)["acme-1"]
    step(sim, r, "acme-1")
    assert r.halted and "verification" in r.halted and "acme-p" in r.halted
    assert training(sim) == {"acme-1": successor}  # kept (trained): the next run verifies it again
    assert olds["acme-1"] in {x["replica_id"] for x in sim.replicas()}
    assert sim_personas.personas(sim)[0]["default_replica_id"] == olds["acme-1"]  # not re-pointed
    assert not r.busy and r.halt_code == 3
    # the next run: verification passes now; the kept successor is swapped in without training again
    sim_personas.configure(sim, reject_test_mode=set())
    r2 = rolling_for(sim, client, config)
    poll(sim, r2)
    r2.tick()
    assert {x["replica_name"]: x["replica_id"] for x in sim.replicas()}["acme-1"] == successor
    assert sim_personas.personas(sim)[0]["default_replica_id"] == successor  # the persona followed


def test_verify_none_swaps_without_a_conversation(sim, client):
    _, _, config = fleet(sim, 1, verify="none")
    r = rolling_for(sim, client, config)
    r.tick()
    step(sim, r, "acme-1")
    assert r.summary() == "1 of 1 replaced"
    assert not [q for q in sim.requests if q["path"] == "/v2/conversations"]


def test_a_replica_changed_under_the_rollout_is_not_started_and_halts_it(sim, client):
    _, olds, config = fleet(sim, 3, max_replacing=1, canary=0)
    r = rolling_for(sim, client, config)
    sim.delete(olds["acme-1"])  # someone removed it since the plan
    r.tick()
    assert not training(sim) and r.halted and "acme-1" in r.halted and "run plan again" in r.halted
    assert r.halt_code == 1


def test_a_successor_a_concurrent_run_started_is_adopted_not_created_again(sim, client):
    _, olds, config = fleet(sim, 2, max_replacing=1, canary=1)
    r = rolling_for(sim, client, config)
    theirs = sim.add_replica(replica_name=f"acme-1~next~{olds['acme-1']}", status="started")["replica_id"]
    r.tick()
    assert training(sim) == {"acme-1": theirs}
    assert not [q for q in sim.requests if q["method"] == "POST" and q["path"] == "/v2/replicas"]


def test_a_stop_flag_starts_nothing_and_finishes_nothing(sim, client):
    _, _, config = fleet(sim, 2)
    r = rolling_for(sim, client, config)
    r.stop = threading.Event()
    r.stop.set()
    r.tick()
    assert not training(sim) and not r.busy and not r.halted


def test_wait_only_finishes_what_is_in_flight(sim, client):
    _, olds, config = fleet(sim, 3, max_replacing=2, canary=0)
    rolling_for(sim, client, config).tick()  # an apply started two, then went away
    sim.finish(training(sim)["acme-1"])
    r = rolling_for(sim, client, config, may_start=False)
    assert r.not_started == 1 and len(r.runs) == 2
    poll(sim, r)
    r.tick()
    assert list(training(sim)) == ["acme-2"]  # acme-1 swapped in, acme-3 not started by wait
    assert olds["acme-3"] in {x["replica_id"] for x in sim.replicas()}


def test_a_failed_swap_halts_without_spinning_and_the_next_run_finishes_it(sim, client):
    """The old replica's delete fails (the API refuses): the rollout halts with exit 1, the successor is kept,
    nothing is left 'busy' (the wait would otherwise spin until its timeout), and a re-run finishes the swap."""
    from reconciler.errors import ApiError

    class RefusingDeletes:
        def __getattr__(self, name):
            return getattr(client, name)

        def delete_replica(self, rid):
            raise ApiError("internal server error", status_code=500, method="DELETE", path=f"/v2/replicas/{rid}")

    _, olds, config = fleet(sim, 2, max_replacing=1, canary=0)
    r = rolling_for(sim, client, config)
    r.client = RefusingDeletes()
    r.tick()
    successor = training(sim)["acme-1"]
    step(sim, r, "acme-1")
    assert r.halted and "swapping in" in r.halted and r.halt_code == 1 and not r.busy
    assert training(sim) == {"acme-1": successor}
    r2 = rolling_for(sim, client, config)
    poll(sim, r2)
    r2.tick()
    assert {x["replica_name"]: x["replica_id"] for x in sim.replicas()}["acme-1"] == successor


def test_a_failed_rename_after_the_old_one_is_gone_halts_without_spinning(sim, client):
    from reconciler.errors import ApiError

    class RefusingRenames:
        def __getattr__(self, name):
            return getattr(client, name)

        def rename_replica(self, rid, name):
            raise ApiError("internal server error", status_code=500, method="PATCH", path=f"/v2/replicas/{rid}")

    _, olds, config = fleet(sim, 1)
    sim.add_replica(replica_name=f"acme-1~next~{olds['acme-1']}", status="completed")
    sim.delete(olds["acme-1"])  # a run was killed between the delete and the rename: phase "rename"
    r = rolling_for(sim, client, config)
    r.client = RefusingRenames()
    poll(sim, r)
    r.tick()
    assert r.halted and "swapping in" in r.halted and not r.busy and r.halt_code == 1


def _ids(sim) -> dict[str, str]:
    return {x["replica_id"]: x["replica_name"] for x in sim.replicas()}


def test_an_old_replica_renamed_out_of_scope_while_its_successor_trained_is_not_deleted(sim, client):
    """Issue 24 #3: identity is re-read right before the swap: a person renamed the old replica (out of the
    declared name and scope) while the successor trained; the swap stops, both replicas are kept."""
    _, olds, config = fleet(sim, 1, max_replacing=1, canary=0, verify="none")
    r = rolling_for(sim, client, config)
    r.tick()
    successor = training(sim)["acme-1"]
    sim.rename(olds["acme-1"], "keep-this-one")
    step(sim, r, "acme-1")
    assert r.halted and "now named 'keep-this-one'" in r.halted and "both replicas are kept" in r.halted
    assert _ids(sim) == {olds["acme-1"]: "keep-this-one", successor: f"acme-1~next~{olds['acme-1']}"}


def test_the_successor_is_not_renamed_onto_a_name_a_person_just_took(sim, client):
    _, olds, config = fleet(sim, 1, max_replacing=1, canary=0, verify="none")
    successor = sim.add_replica(replica_name=f"acme-1~next~{olds['acme-1']}", status="completed")["replica_id"]
    sim.delete(olds["acme-1"])  # phase "rename"
    r = rolling_for(sim, client, config)
    taken = sim.add_replica(replica_name="acme-1", status="completed")["replica_id"]  # after the plan
    poll(sim, r)
    r.tick()
    assert r.halted and f"{taken} took the name 'acme-1'" in r.halted
    assert _ids(sim) == {taken: "acme-1", successor: f"acme-1~next~{olds['acme-1']}"}


def test_a_failed_successor_a_person_pointed_a_persona_at_is_kept(sim, client):
    _, olds, config = fleet(sim, 1, max_replacing=1, canary=0)
    r = rolling_for(sim, client, config)
    r.tick()
    successor = training(sim)["acme-1"]
    sim_personas.add_persona(sim, persona_name="hand-made", default_replica_id=successor, system_prompt="x")
    step(sim, r, "acme-1", status="error")
    assert r.halted and successor in _ids(sim)  # kept: the persona would dangle
    assert olds["acme-1"] in _ids(sim)


def test_each_start_waits_a_random_jitter_before_it_re_lists_so_a_second_run_defers(sim, client):
    """Issue 24 #5: the wait comes before the re-listing (so the later of two runs sees the other's successor and
    adopts it); a stop during the wait starts nothing."""
    from reconciler.kinds.replicas.replaces import start_successors

    _, olds, config = fleet(sim, 1)
    plan = compute_plan(config, client.list_replicas())
    events = []

    class Watching:
        def __getattr__(self, name):
            return getattr(client, name)

        def list_replicas(self, **kw):
            events.append("list")
            return client.list_replicas(**kw)

    report = start_successors(list(plan.changes), Watching(), known={olds["acme-1"]}, jitter=2.0,
                              rng=lambda: 0.25, sleep=events.append, emit=lambda s: None)
    assert events[:2] == [0.5, "list"] and list(report.created) == ["acme-1"]
    stop = threading.Event()
    stop.set()
    events.clear()
    stopped = start_successors(list(plan.changes), Watching(), known=(), jitter=2.0, stop=stop,
                               emit=lambda s: None)
    assert stopped.interrupted and "list" not in events and not stopped.created


def test_a_step_a_concurrent_run_already_finished_is_adopted_not_halted(sim, client):
    """The other run was faster: the old replica is gone and its successor holds the name. This run's step
    carries on with that replica (verified, then counted as replaced) instead of halting with exit 1."""
    _, olds, config = fleet(sim, 1, verify="none")
    r = rolling_for(sim, client, config)
    sim.delete(olds["acme-1"])
    theirs = sim.add_replica(replica_name="acme-1", status="completed", model_name="phoenix-4")["replica_id"]
    r.tick()
    poll(sim, r)
    r.tick()
    assert not r.halted and r.count("replaced") == 1
    assert _ids(sim) == {theirs: "acme-1"}


def test_max_replacing_counts_trained_successors_not_yet_swapped(sim, client):
    """Mutation (issue 24): a successor that trained but is not swapped in yet still holds a slot; counting only
    those in training would start a second paid training past max_replacing: 1."""
    _, olds, config = fleet(sim, 2, max_replacing=1, canary=0)
    sim.add_replica(replica_name=f"acme-1~next~{olds['acme-1']}", status="completed")  # phase "swap": trained
    r = rolling_for(sim, client, config)
    assert [run.state for run in r.runs] == ["trained", "waiting"]
    r._start_next()  # what tick does after finishing: the trained one has not been swapped yet
    assert list(training(sim)) == ["acme-1"] and r.count("waiting") == 1


def test_a_successor_that_vanished_mid_rollout_is_a_failure_that_halts(sim, client):
    """Mutation (issue 24): someone deleted the successor while it trained. The step fails and the rollout halts
    (exit 3); nothing new starts; the old replica keeps serving."""
    from reconciler.engine.waiter import GONE

    _, olds, config = fleet(sim, 2, max_replacing=1, canary=0)
    r = rolling_for(sim, client, config)
    r.tick()
    sim.delete(training(sim)["acme-1"])
    r.runs[0].row.phase = GONE  # what the waiter reports for an id the account no longer has
    r.tick()
    assert r.halted and "deleted by someone else" in r.halted and r.halt_code == 3
    assert r.count("failed") == 1 and training(sim) == {} and olds["acme-1"] in _ids(sim)
