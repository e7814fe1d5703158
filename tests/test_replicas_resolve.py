"""The one resolver: declared entry -> remote object / absent / ambiguous, with successors (issue 16)."""

from __future__ import annotations

from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.engine.successor import successor_name
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.kinds.replicas.resolve import Found, ready_outputs, resolve, status_rows, undeclared


def r(rid, name, status="completed", replica_type="user"):
    return RemoteReplica(rid, name, status=status, replica_type=replica_type)


def config(*replicas, prefix="acme-", removed_names=()):
    return Config("f.yaml", replicas=tuple(replicas), settings=Settings(name_prefix=prefix),
                  removed_names=removed_names)


ANNA, BOB, PINNED = DesiredReplica("acme-anna"), DesiredReplica("acme-bob"), DesiredReplica("acme-pin", "r9")


def test_one_absent_ambiguous_and_pinned():
    remote = [r("r1", "acme-anna"), r("r2", "acme-bob"), r("r3", "acme-bob"), r("r9", "old-name")]
    res = resolve(config(ANNA, BOB, PINNED, DesiredReplica("acme-cat")), remote)
    assert list(res) == ["acme-anna", "acme-bob", "acme-pin", "acme-cat"]  # file order
    assert res["acme-anna"].found is Found.ONE and res["acme-anna"].remote.replica_id == "r1"
    assert res["acme-bob"].found is Found.AMBIGUOUS and res["acme-bob"].remote is None
    assert res["acme-bob"].ids == "r2, r3"
    assert res["acme-pin"].remote.replica_id == "r9"  # the pin wins over the name (and out of scope)
    assert res["acme-cat"].found is Found.ABSENT


def test_a_pinned_id_is_never_also_a_name_match_and_stock_replicas_only_when_pinned():
    remote = [r("r9", "acme-anna"), r("s1", "acme-anna", replica_type="system")]
    res = resolve(config(ANNA, DesiredReplica("acme-x", "r9")), remote)
    assert res["acme-anna"].found is Found.ABSENT  # r9 is pinned by acme-x; s1 is stock
    assert res["acme-x"].remote.replica_id == "r9"


def test_a_successor_is_not_a_second_match():
    succ = r("r2", successor_name("acme-anna", "r1"), status="started")
    res = resolve(config(ANNA), [r("r1", "acme-anna"), succ])["acme-anna"]
    assert res.found is Found.ONE and res.successors == (succ,)


def test_undeclared_splits_unmanaged_from_released_and_skips_out_of_scope():
    remote = [r("r5", "acme-zed"), r("r4", "acme-gone"), r("r6", "other"), r("r1", "acme-anna")]
    cfg = config(ANNA, removed_names=("acme-gone",))
    unmanaged, released = undeclared(cfg, remote, resolve(cfg, remote))
    assert [x.replica_id for x in unmanaged] == ["r5"] and [x.replica_id for x in released] == ["r4"]


def test_planner_status_and_output_agree_on_every_entry():
    """The same account read by the three commands: one answer per declared name."""
    remote = [r("r1", "acme-anna"), r("r2", "acme-bob", status="started"), r("r3", "acme-bob"),
              r("r4", successor_name("acme-anna", "r1"), status="started"), r("r5", "acme-zed")]
    cfg = config(ANNA, BOB, DesiredReplica("acme-cat"))
    plan = compute_plan(cfg, remote)
    rows = status_rows(cfg, remote)
    ready, notes = ready_outputs(cfg, remote)
    assert ready == {"acme-anna": "r1"}
    assert notes == ["acme-bob: ambiguous (r2, r3 share the name)", "acme-cat: not created yet"]
    assert [(x["name"], x["replica_id"]) for x in rows] == [
        ("acme-anna", "r1"), (successor_name("acme-anna", "r1"), "r4"), ("acme-bob", "r2"), ("acme-bob", "r3"),
        ("acme-cat", None), ("acme-zed", "r5")]
    assert any("acme-bob" in e for e in plan.errors)  # ambiguous: refused by the planner too
    assert [c.name for c in plan.changes] == ["acme-anna", "acme-cat"]  # the replace in flight, the create
    assert [x.replica_id for x in plan.unmanaged] == ["r5"]


def test_undeclared_lists_a_replica_the_listing_repeats_once():
    """Mutation (issue 24): without the duplicate-id dedupe a listing that repeats an item (pages shifting
    under a read) would prune the same replica twice. Deterministic, not left to a hypothesis draw."""
    stray = r("r5", "acme-stray")
    cfg = config(ANNA)
    listed = [stray, r("r1", "acme-anna"), stray]
    unmanaged, released = undeclared(cfg, listed, resolve(cfg, listed))
    assert [x.replica_id for x in unmanaged] == ["r5"] and released == []
    plan = compute_plan(Config("f.yaml", replicas=(ANNA,), settings=Settings(name_prefix="acme-", prune=True)),
                        [stray, r("r1", "acme-anna"), stray])
    assert [(c.action.value, c.object_id) for c in plan.changes] == [("delete", "r5")]


def test_removed_by_id_releases_the_replica_and_never_deletes_it():
    """Mutation (issue 24): ``removed:`` by replica_id (not only by name) releases a replica from management:
    with prune on it is neither deleted nor unmanaged."""
    cfg = Config("f.yaml", replicas=(ANNA,), settings=Settings(name_prefix="acme-", prune=True), removed_ids=("r7",))
    remote = [r("r1", "acme-anna"), r("r7", "acme-gone"), r("r8", "acme-other")]
    unmanaged, released = undeclared(cfg, remote, resolve(cfg, remote))
    assert [x.replica_id for x in released] == ["r7"] and [x.replica_id for x in unmanaged] == ["r8"]
    plan = compute_plan(cfg, remote)
    assert [(c.action.value, c.object_id) for c in plan.changes] == [("delete", "r8")]
    assert [x.replica_id for x in plan.forgotten] == ["r7"]
