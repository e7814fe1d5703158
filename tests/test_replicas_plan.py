"""The replicas' part of the plan (kinds/replicas/plan.py, through engine.planner.compute_plan) is pure: these
tests need no server, no files and no environment."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.engine.models import Action, Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica


def desired(name, **kw):
    kw.setdefault("train_video_url", f"https://v.example.com/{name}.mp4")
    kw.setdefault("consent_video_url", f"https://v.example.com/{name}-consent.mp4")
    return DesiredReplica(name=name, **kw)


def remote(rid, name, status="completed", model="phoenix-4", rtype="user", **kw):
    return RemoteReplica(replica_id=rid, name=name, status=status, model_name=model, replica_type=rtype, **kw)


def config(*replicas, prune=False, prefix=None):
    return Config(path="replicas.yaml", replicas=tuple(replicas), settings=Settings(prune=prune, name_prefix=prefix))


def actions(plan):
    return [(c.action.value, c.name, c.object_id) for c in plan.changes]


def test_declared_and_absent_is_created_with_its_payload():
    plan = compute_plan(config(desired("a")), [])
    assert actions(plan) == [("create", "a", None)]
    assert plan.changes[0].after["train_video_url"] == "https://v.example.com/a.mp4"
    assert plan.summary == {"create": 1, "rename": 0, "replace": 0, "delete": 0}


def test_matching_completed_replica_is_no_change_and_reported_ready():
    plan = compute_plan(config(desired("a")), [remote("r1", "a")])
    assert plan.changes == () and [r.replica_id for r in plan.ready] == ["r1"]


def test_training_replica_is_pending_not_changed():
    plan = compute_plan(config(desired("a")), [remote("r1", "a", status="started", training_progress="40/100")])
    assert plan.changes == ()
    assert plan.pending[0].progress_percent == 40.0


def test_changed_url_alone_never_replaces():
    d = desired("a", train_video_url="https://v.example.com/a.mp4?X-Amz-Signature=new")
    assert compute_plan(config(d), [remote("r1", "a")]).changes == ()


def test_failed_replica_is_replaced_with_the_error_as_reason():
    plan = compute_plan(config(desired("a")), [remote("r1", "a", status="error", error_message="bad video")])
    assert actions(plan) == [("replace", "a", "r1")]
    assert "bad video" in plan.changes[0].reason


def test_model_change_forces_replace_and_shows_the_attribute():
    plan = compute_plan(config(desired("a", model_name="phoenix-4")), [remote("r1", "a", model="phoenix-3")])
    (change,) = plan.changes
    assert change.action is Action.REPLACE and "model_name" in change.reason
    assert change.before["model_name"] == "phoenix-3" and change.after["model_name"] == "phoenix-4"


def test_unknown_remote_model_is_not_a_change():
    assert compute_plan(config(desired("a")), [remote("r1", "a", model=None)]).changes == ()


def test_forced_replace():
    plan = compute_plan(config(desired("a")), [remote("r1", "a")], force_replace={"a"})
    assert actions(plan) == [("replace", "a", "r1")]


def test_forced_replace_of_undeclared_name_is_an_error():
    plan = compute_plan(config(desired("a")), [remote("r1", "a")], force_replace={"zzz"})
    assert plan.changes == () and "zzz" in plan.errors[0]


def test_pinned_replica_with_another_name_is_renamed():
    plan = compute_plan(config(desired("a", replica_id="r9")), [remote("r9", "old")])
    (change,) = plan.changes
    assert (change.action, change.object_id, change.before, change.after) == (
        Action.RENAME, "r9", {"replica_name": "old"}, {"replica_name": "a"})


def test_missing_pinned_replica_is_an_error_never_a_create():
    plan = compute_plan(config(desired("a", replica_id="r404")), [remote("r1", "a")])
    assert plan.changes == ()
    assert plan.errors == ("pinned replica r404 not found (declared as 'a'): it will not be created; "
                           "remove replica_id to create a new one",)


def test_pinned_replica_is_never_replaced():
    d = desired("a", replica_id="r1", model_name="phoenix-4")
    plan = compute_plan(config(d), [remote("r1", "a", model="phoenix-3")], force_replace={"a"})
    assert plan.changes == () and plan.errors and plan.warnings


def test_pinned_stock_replica_is_a_read_only_reference():
    stock = remote("rs", "Anna", rtype="system")
    plan = compute_plan(config(desired("a", replica_id="rs")), [stock], prune=True)
    assert plan.changes == () and plan.errors == () and plan.ready == (stock,)
    forced = compute_plan(config(desired("a", replica_id="rs")), [stock], force_replace={"a"})
    assert forced.changes == () and "stock" in forced.errors[0]


def test_duplicate_remote_names_are_an_error_naming_the_ids():
    plan = compute_plan(config(desired("a")), [remote("r1", "a"), remote("r2", "a")])
    assert plan.changes == ()
    assert "r1, r2" in plan.errors[0]


def test_two_unmarked_replicas_are_an_error_never_a_guess():
    """Issue 13: an older phoenix-3 replica renamed by hand to a declared name was taken for the old half of
    an interrupted replace and deleted. Two unmarked replicas under one name are always an error."""
    old = remote("r1", "a", status="error", created_at="2026-11-01T00:00:00Z")
    new = remote("r2", "a", status="started", created_at="2026-11-02T00:00:00Z")
    plan = compute_plan(config(desired("a")), [old, new])
    assert plan.changes == () and "r1, r2" in plan.errors[0]
    hand = remote("r0", "a", model="phoenix-3", created_at="2025-01-01T00:00:00Z")
    plan = compute_plan(config(desired("a")), [hand, remote("r5", "a", created_at="2026-11-02T00:00:00Z")])
    assert plan.changes == () and "r0, r5" in plan.errors[0]


def test_a_replace_is_blue_green_and_every_phase_is_read_from_the_account():
    from reconciler.engine.successor import parse_successor, successor_name

    cfg = config(desired("a", model_name="phoenix-4"), prefix="a", prune=True)
    old = remote("r1", "a", model="phoenix-3")
    start = compute_plan(cfg, [old])
    (c,) = start.changes
    assert (c.action, c.phase, c.object_id, c.successor_id) == (Action.REPLACE, "create", "r1", None)
    name = successor_name("a", "r1")
    assert parse_successor(name) == ("a", "r1") and parse_successor("a") is None
    for status, present, phase in (("started", True, "training"), ("completed", True, "swap"),
                                   ("completed", False, "rename")):
        s = remote("r2", name, status=status)
        plan = compute_plan(cfg, [old, s] if present else [s])
        assert not plan.errors and not plan.unmanaged
        (c,) = plan.changes  # the successor is never a prune candidate nor a duplicate of "a"
        assert (c.action, c.phase, c.object_id, c.successor_id) == (Action.REPLACE, phase, "r1", "r2"), status
    done = compute_plan(cfg, [remote("r2", "a")])
    assert done.changes == ()


def test_a_failed_successor_is_removed_and_the_old_replica_kept():
    from reconciler.engine.successor import successor_name

    cfg = config(desired("a"))
    old = remote("r1", "a")
    failed = remote("r2", successor_name("a", "r1"), status="error", error_message="blurry")
    plan = compute_plan(cfg, [old, failed])
    assert actions(plan) == [("delete", successor_name("a", "r1"), "r2")] and "blurry" in plan.changes[0].reason
    assert "r1 keeps the name" in plan.changes[0].reason and plan.ready == (old,)


def test_in_flight_replace_conflicts_are_errors():
    from reconciler.engine.successor import successor_name

    name = successor_name("a", "r1")
    two = compute_plan(config(desired("a")), [remote("r1", "a"), remote("r2", name), remote("r3", name)])
    assert two.changes == () and "r2, r3" in two.errors[0]
    other = compute_plan(config(desired("a")), [remote("r1", "a"), remote("r9", "a"), remote("r2", name)])
    assert other.changes == () and "r9" in other.errors[0]
    protected = compute_plan(config(desired("a", protect=True)), [remote("r1", "a"), remote("r2", name)])
    assert protected.changes == () and "protected" in protected.errors[0]
    marked = compute_plan(config(desired("a~next~r1")), [])
    assert marked.changes == () and "~next~" in marked.errors[0]


def test_two_healthy_duplicates_stay_ambiguous():
    a = remote("r1", "a", created_at="2026-11-01T00:00:00Z")
    b = remote("r2", "a", created_at="2026-11-02T00:00:00Z")
    assert compute_plan(config(desired("a")), [a, b]).errors


def test_older_healthy_duplicate_is_not_a_successor():
    a = remote("r1", "a", created_at="2026-11-01T00:00:00Z")
    b = remote("r2", "a", status="error", created_at="2026-11-02T00:00:00Z")
    assert compute_plan(config(desired("a")), [a, b]).errors


def test_duplicates_resolved_by_pinning_one():
    plan = compute_plan(config(desired("a", replica_id="r2")), [remote("r1", "a"), remote("r2", "a")])
    assert plan.changes == () and [r.replica_id for r in plan.unmanaged] == ["r1"]


def test_undeclared_in_scope_is_unmanaged_without_prune_and_deleted_with_it():
    inventory = [remote("r1", "acme-x"), remote("r2", "other"), remote("rs", "acme-stock", rtype="system")]
    plan = compute_plan(config(prefix="acme-"), inventory)
    assert plan.changes == () and [r.replica_id for r in plan.unmanaged] == ["r1"]
    for pruned in (compute_plan(config(prefix="acme-", prune=True), inventory),
                   compute_plan(config(prefix="acme-"), inventory, prune=True)):
        assert actions(pruned) == [("delete", "acme-x", "r1")]


def test_protected_replica_is_never_replaced():
    d = desired("a", protect=True)
    plan = compute_plan(config(d), [remote("r1", "a", status="error")])
    assert plan.changes == () and "protected" in plan.errors[0]


def test_system_replicas_are_never_in_scope():
    plan = compute_plan(config(desired("Anna")), [remote("rs", "Anna", rtype="system")], prune=True)
    assert actions(plan) == [("create", "Anna", None)]


def test_target_limits_creates_and_deletes():
    cfg = config(desired("a"), desired("b"), prune=True)
    inventory = [remote("r1", "x"), remote("r2", "y")]
    plan = compute_plan(cfg, inventory, targets={"b", "y"})
    assert actions(plan) == [("create", "b", None), ("delete", "y", "r2")]
    assert plan.unmanaged == ()


def test_target_that_matches_nothing_is_an_error_naming_the_nearest():
    plan = compute_plan(config(desired("acme-anna"), desired("b")), [], targets={"acme-ana"})
    assert plan.changes == () and plan.warnings == ()
    assert plan.errors == ("--target acme-ana: no replica or persona of that name is declared in replicas.yaml or "
                           "found on the account; did you mean acme-anna?",)
    far = compute_plan(config(desired("a")), [], targets={"zzzz"})
    assert far.errors[0].endswith("; declared: a")
    remote_only = compute_plan(config(desired("a")), [remote("r9", "y")], targets={"y"})
    assert remote_only.errors == ()  # an unmanaged replica on the account is a target too


def test_missing_vars_are_flagged_only_for_creates():
    d = desired("a", train_video_url="${A_URL}", missing_vars=("A_URL",))
    assert compute_plan(config(d), []).missing_vars == ("A_URL",)
    assert compute_plan(config(d), [remote("r1", "a")]).missing_vars == ()


# ----------------------------------------------------------------------------- property: apply then re-plan

NAMES = [f"acme-{i}" for i in range(6)] + ["other-1"]
ids = (f"r{i:010x}" for i in itertools.count())

remote_st = st.builds(
    lambda name, status, model, rtype: (name, status, model, rtype),
    st.sampled_from(NAMES), st.sampled_from(["started", "completed", "error", "weird"]),
    st.sampled_from(["phoenix-3", "phoenix-4", None]), st.sampled_from(["user", "user", "system"]),
)


@st.composite
def scenario(draw):
    drawn = draw(st.lists(remote_st, max_size=8))
    inventory = [remote(f"r{i:03d}", n, s, m, t) for i, (n, s, m, t) in enumerate(drawn)]
    prefix = draw(st.sampled_from([None, "acme-"]))
    names = draw(st.lists(st.sampled_from([n for n in NAMES if n.startswith(prefix or "")]), unique=True, max_size=6))
    replicas = []
    for name in names:
        pin = draw(st.one_of(st.none(), st.sampled_from([r.replica_id for r in inventory] or [None])))
        replicas.append(desired(name, replica_id=pin, model_name=draw(st.sampled_from(["phoenix-3", "phoenix-4"])),
                                protect=draw(st.booleans())))
    pins = [r.replica_id for r in replicas if r.replica_id]
    if len(pins) != len(set(pins)):  # the validator rejects a replica_id pinned twice
        replicas = [r for i, r in enumerate(replicas) if not r.replica_id or pins.index(r.replica_id) == i
                    or r.replica_id not in pins[:i]]
    cfg = config(*replicas, prune=draw(st.booleans()), prefix=prefix)
    force = draw(st.sets(st.sampled_from(names or ["x"]), max_size=2))
    return cfg, inventory, force


def apply_to_model(plan, inventory, stop_replaces_at=None):
    """What apply does, on a list: creates train (status started); a replace creates its marked successor,
    and (once trained) deletes the old replica and renames the successor. ``stop_replaces_at`` leaves every
    replace at that intermediate state (a kill)."""
    from reconciler.engine.successor import successor_name

    state = {r.replica_id: r for r in inventory}
    for c in plan.changes:
        if c.action is Action.REPLACE:
            sid = c.successor_id or next(ids)
            if c.successor_id is None:
                state[sid] = remote(sid, successor_name(c.name, c.object_id), "started", c.desired.model_name)
            if stop_replaces_at == "training":
                continue
            state[sid] = remote(sid, state[sid].name, "completed", state[sid].model_name)
            if stop_replaces_at == "swap":
                continue
            state.pop(c.object_id, None)
            if stop_replaces_at == "rename":
                continue
            state[sid] = remote(sid, c.name, "completed", state[sid].model_name)
            continue
        if c.action is Action.RENAME:
            state[c.object_id] = remote(c.object_id, c.name, state[c.object_id].status,
                                         state[c.object_id].model_name)
        if c.action is Action.CREATE:
            rid = next(ids)
            state[rid] = remote(rid, c.name, "started", c.desired.model_name)
        if c.action is Action.DELETE:
            del state[c.object_id]
    return list(state.values())


@settings(max_examples=400, deadline=None)
@given(scenario())
def test_applying_a_plan_converges(case):
    cfg, inventory, force = case
    plan = compute_plan(cfg, inventory, force_replace=force)
    if plan.errors:
        return
    after = apply_to_model(plan, inventory)
    replan = compute_plan(cfg, after)
    assert replan.changes == (), (plan.changes, replan.changes)
    assert not replan.errors
    # nothing the file declares was deleted without a successor, and system replicas are untouched
    assert {r.replica_id for r in inventory if r.replica_type == "system"} <= {r.replica_id for r in after}
    stock = {r.replica_id for r in inventory if r.replica_type == "system"}
    assert {d.name for d in cfg.replicas if d.replica_id not in stock} <= {r.name for r in after}
    # a kill in any phase of a replace: the next plan carries it on without errors and converges
    for phase in ("training", "swap", "rename"):
        stopped = apply_to_model(plan, inventory, stop_replaces_at=phase)
        resumed = compute_plan(cfg, stopped)
        assert not resumed.errors, (phase, resumed.errors)
        assert {c.phase for c in resumed.changes if c.action is Action.REPLACE} <= {phase}
        assert compute_plan(cfg, apply_to_model(resumed, stopped)).changes == ()


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_plan_never_touches_out_of_scope_or_system_replicas(case):
    cfg, inventory, force = case
    plan = compute_plan(cfg, inventory, force_replace=force, prune=True)
    by_id = {r.replica_id: r for r in inventory}
    protected = {d.replica_id for d in cfg.replicas if d.protect and d.replica_id}
    protected |= {r.replica_id for d in cfg.replicas if d.protect and not d.replica_id
                  for r in inventory if r.name == d.name}
    for c in plan.changes:
        if c.action in (Action.DELETE, Action.REPLACE):
            r = by_id[c.object_id]
            assert r.replica_type == "user" and cfg.settings.in_scope(r.name)
            assert c.object_id not in protected


def test_a_replace_records_the_variables_its_successor_needs():
    """Mutation (issue 24): a replace that no longer recorded its ${VAR}s would pass the preflight and POST raw
    ``${TRAIN}`` text. Both ways into a replace: a changed model, and a failed successor over a kept old one."""
    d = desired("acme-a", model_name="phoenix-4", train_video_url="${TRAIN}", missing_vars=("TRAIN",))
    plan = compute_plan(config(d), [remote("r1", "acme-a", model="phoenix-3")])
    assert [c.action.value for c in plan.changes] == ["replace"] and plan.missing_vars == ("TRAIN",)
    failed = remote("r2", "acme-a~next~r1", status="error")
    again = compute_plan(config(d), [remote("r1", "acme-a", model="phoenix-3"), failed])
    assert "replace" in [c.action.value for c in again.changes] and again.missing_vars == ("TRAIN",)
