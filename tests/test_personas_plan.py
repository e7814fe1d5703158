"""kinds/personas/plan.py, the planner's persona part (issue 17), pure: DesiredPersona + RemotePersona ->
changes and errors."""

from __future__ import annotations

from reconciler.engine.models import Action, Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.personas.models import DesiredPersona, RemotePersona
from reconciler.kinds.personas.wiring import created_replica
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica


def _config(personas, replicas=(), prefix=None):
    return Config(path="f.yaml", replicas=tuple(replicas), personas=tuple(personas),
                  settings=Settings(name_prefix=prefix))


def _remote(**fields):
    return RemotePersona.from_api({"persona_type": "user", **fields})


def test_only_declared_attributes_are_diffed_and_undeclared_ones_untouched():
    d = DesiredPersona("p", {"system_prompt": "new", "layers": {"llm": {"model": "b"}}})
    r = _remote(persona_id="p1", persona_name="p", system_prompt="old", context="server's",
                layers={"llm": {"model": "a", "speculative_inference": True}}, pipeline_mode="full")
    (c,) = compute_plan(_config([d]), [], personas=[r]).changes
    assert c.action is Action.UPDATE and c.object_id == "p1"
    assert sorted(op["path"] for op in c.patch) == ["/layers/llm/model", "/system_prompt"]
    assert ("layers.llm.model", "a", "b") in c.diff


def test_unreadable_attributes_are_listed_not_compared():
    d = DesiredPersona("p", {"system_prompt": "x", "pipeline_mode": "echo"})
    r = _remote(persona_id="p1", persona_name="p", system_prompt="x")  # pipeline_mode not returned
    plan = compute_plan(_config([d]), [], personas=[r])
    assert plan.changes == () and plan.uncompared == (("p", ("pipeline_mode",)),)


def test_default_replica_resolution():
    rep = DesiredReplica("anna", train_video_url="https://x/v.mp4", synthetic=True)
    d = DesiredPersona("p", {"system_prompt": "x"}, default_replica="anna")
    created = compute_plan(_config([d], [rep]), [], personas=[])
    assert [(c.kind, c.action) for c in created.changes] == [("replicas", Action.CREATE), ("personas", Action.CREATE)]
    assert created_replica(created.changes[1]) == "anna"
    there = RemoteReplica("r1", "anna", status="completed")
    (c,) = compute_plan(_config([d], [rep]), [there], personas=[]).changes
    assert c.after["default_replica_id"] == "r1" and created_replica(c) is None
    missing = compute_plan(_config([d], [rep]), [], personas=[], targets=["p"])
    assert missing.changes == () and "does not exist and is not created by this plan" in missing.errors[0]


def test_stock_personas_out_of_scope_prune_and_ambiguity():
    d = DesiredPersona("acme-p", {"system_prompt": "x"})
    stock = _remote(persona_id="s1", persona_name="acme-stock", persona_type="system")
    extra = _remote(persona_id="u1", persona_name="acme-extra")
    other = _remote(persona_id="o1", persona_name="other")
    mine = _remote(persona_id="p1", persona_name="acme-p", system_prompt="x")
    plan = compute_plan(_config([d], prefix="acme-"), [], personas=[stock, extra, other, mine], prune=True)
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, "u1")]
    twice = compute_plan(_config([d]), [], personas=[mine, _remote(persona_id="p2", persona_name="acme-p")])
    assert twice.changes == () and "p1, p2" in twice.errors[0]
    pinned = compute_plan(_config([DesiredPersona("acme-p", {}, persona_id="gone")]), [], personas=[])
    assert "pinned persona gone not found" in pinned.errors[0]


def test_executor_adopts_a_persona_a_concurrent_apply_created_instead_of_a_duplicate():
    from reconciler.engine.executor import execute

    d = DesiredPersona("p", {"system_prompt": "x"})
    plan = compute_plan(_config([d]), [], personas=[])

    class Client:
        posts = 0

        def list_personas(self):
            return [_remote(persona_id="theirs", persona_name="p")]  # appeared since the plan

        def create_persona(self, payload, known_ids=()):
            Client.posts += 1
            return "mine"

    report = execute(plan, Client(), known_ids=(), known_persona_ids=(), emit=lambda line: None)
    assert Client.posts == 0 and report.ok and "theirs" in report.outcomes[0].detail


def test_resend_sends_every_uncomparable_attribute_as_add_ops_in_one_patch():
    from reconciler.kinds.personas.sim import apply_patch

    flow = {"turn_detection_model": "sparrow-1"}
    d = DesiredPersona("p", {"system_prompt": "x", "pipeline_mode": "full",
                             "layers": {"tts": {"tts_engine": "cartesia", "api_key": "sk-new-key-123"},
                                        "conversational_flow": flow}})
    remote = _remote(persona_id="p1", persona_name="p", system_prompt="x")  # no layers, uncertain fields hidden
    plain = compute_plan(_config([d]), [], personas=[remote])
    # layers not returned at all: hidden or absent, it cannot be told, so it is not compared (issue 24 #4)
    assert plain.changes == () and set(dict(plain.uncompared)["p"]) == {"pipeline_mode", "layers"}
    forced = compute_plan(_config([d]), [], personas=[remote], resend=["p"])
    (change,) = forced.changes
    assert change.uncomparable == () and forced.uncompared == ()
    assert set(change.resent) == {"pipeline_mode", "layers"}
    assert all(op["op"] in ("add", "replace") for op in change.patch) and "--resend" in change.reason
    result = apply_patch({"persona_id": "p1", "persona_name": "p", "system_prompt": "x"}, list(change.patch))
    assert result["pipeline_mode"] == "full" and result["layers"]["conversational_flow"] == flow
    assert result["layers"]["tts"] == {"tts_engine": "cartesia", "api_key": "sk-new-key-123"}
    (shown,) = [row for row in change.diff if row[0] == "layers"]
    assert shown[2]["tts"]["api_key"] == "[REDACTED]"  # the key itself is only in the patch


def test_resend_of_a_persona_whose_parent_is_missing_adds_it_whole_and_names_are_checked():
    d = DesiredPersona("p", {"system_prompt": "x", "layers": {"conversational_flow": {"turn_taking_patience": "high"}}})
    remote = _remote(persona_id="p1", persona_name="p", system_prompt="x")
    (change,) = compute_plan(_config([d]), [], personas=[remote], resend=["p"]).changes
    assert change.patch == ({"op": "add", "path": "/layers",
                             "value": {"conversational_flow": {"turn_taking_patience": "high"}}},)
    unknown = compute_plan(_config([d]), [], personas=[remote], resend=["nope"])
    assert "--resend nope: no persona of that name is declared" in unknown.errors[0]
    compared = _remote(persona_id="p1", persona_name="p", system_prompt="x",
                       layers={"conversational_flow": {"turn_taking_patience": "high"}})
    nothing = compute_plan(_config([d]), [], personas=[compared], resend=["p"])
    assert nothing.changes == () and "nothing more to send" in nothing.warnings[0]


def test_default_replica_resolves_to_the_successor_of_a_replace_in_its_rename_phase():
    """Issue 24 #1: a run killed between "delete old" and "rename successor" (or a refused rename) leaves only
    the marked successor; the persona's default_replica is that successor, so apply converges (no wedge)."""
    rep = DesiredReplica("acme-anna", train_video_url="https://x/v.mp4", synthetic=True)
    d = DesiredPersona("acme-p", {"system_prompt": "x"}, default_replica="acme-anna")
    successor = RemoteReplica("r2", "acme-anna~next~r1", status="completed")
    persona = _remote(persona_id="p1", persona_name="acme-p", system_prompt="x", default_replica_id="r1")
    plan = compute_plan(_config([d], [rep]), [successor], personas=[persona])
    assert plan.errors == ()
    by_kind = {c.kind: c for c in plan.changes}
    assert by_kind["replicas"].action is Action.REPLACE and by_kind["replicas"].phase == "rename"
    assert by_kind["personas"].patch == ({"op": "replace", "path": "/default_replica_id", "value": "r2"},)
    failed = RemoteReplica("r2", "acme-anna~next~r1", status="error")  # a failed successor is never served
    again = compute_plan(_config([d], [rep]), [failed], personas=[persona])
    assert {c.action for c in again.changes if c.kind == "replicas"} == {Action.DELETE, Action.CREATE}


def test_prune_keeps_a_replica_a_persona_still_references_and_says_why():
    """Issue 24 #8: nothing a declared persona (or any persona the plan keeps) references is deleted."""
    d = DesiredPersona("acme-p", {"system_prompt": "x"}, default_replica_id="r-used")
    used = RemoteReplica("r-used", "acme-used", status="completed")
    spare = RemoteReplica("r-spare", "acme-spare", status="completed")
    other = RemoteReplica("r-other", "acme-other", status="completed")
    mine = _remote(persona_id="p1", persona_name="acme-p", system_prompt="x", default_replica_id="r-used")
    hand = _remote(persona_id="p2", persona_name="hand-made", default_replica_id="r-other")  # out of scope: kept
    plan = compute_plan(_config([d], prefix="acme-"), [used, spare, other], personas=[mine, hand], prune=True)
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, "r-spare")]
    assert {r.replica_id for r in plan.unmanaged} == {"r-used", "r-other"}
    assert any("acme-used (r-used) is not declared, but persona acme-p (p1) uses it" in w for w in plan.warnings)


def test_a_layer_the_server_hides_on_get_is_never_overwritten_and_the_plan_does_not_flap():
    """Issue 24 #4: a server that omits layers.llm (or all of layers) on GET: an update must not ``add`` the
    declared object whole (it would erase the customer's LLM api_key and any undeclared field); it is listed as
    not compared, and the plan is the same on every run."""
    d = DesiredPersona("p", {"system_prompt": "new", "layers": {"llm": {"model": "m"}, "tts": {"tts_engine": "x"}}})
    hidden_llm = _remote(persona_id="p1", persona_name="p", system_prompt="old", layers={"tts": {"tts_engine": "x"}})
    (c,) = compute_plan(_config([d]), [], personas=[hidden_llm]).changes
    assert c.patch == ({"op": "replace", "path": "/system_prompt", "value": "new"},)
    assert c.uncomparable == ("layers.llm",)
    hidden_all = _remote(persona_id="p1", persona_name="p", system_prompt="new")
    twice = [compute_plan(_config([d]), [], personas=[hidden_all]) for _ in range(2)]
    assert [p.changes for p in twice] == [(), ()] and twice[0].uncompared == (("p", ("layers",)),)


def test_a_pinned_stock_persona_is_never_patched():
    """Issue 24 (Low): a pinned Tavus stock persona is read-only, like a stock replica: a difference is an error,
    never a PATCH; equal attributes are fine."""
    stock = _remote(persona_id="s1", persona_name="Tavus Researcher", persona_type="system", system_prompt="stock")
    differs = DesiredPersona("Tavus Researcher", {"system_prompt": "mine"}, persona_id="s1")
    plan = compute_plan(_config([differs]), [], personas=[stock])
    assert plan.changes == () and "pins the Tavus stock persona s1" in plan.errors[0]
    same = DesiredPersona("Tavus Researcher", {"system_prompt": "stock"}, persona_id="s1")
    assert compute_plan(_config([same]), [], personas=[stock]).errors == ()


def test_a_key_echoed_masked_with_dots_is_recognised_as_masked():
    """Issue 24 (Low): ``llm...1111`` is a masked key (not compared), so the plan does not flap forever."""
    from reconciler.kinds.personas.models import looks_masked

    assert looks_masked("llm...1111") and not looks_masked("sk-live-abc.def")
    d = DesiredPersona("p", {"system_prompt": "x", "layers": {"llm": {"model": "m", "api_key": "llm-real-key-1111"}}})
    r = _remote(persona_id="p1", persona_name="p", system_prompt="x", layers={"llm": {"model": "m",
                                                                                     "api_key": "llm...1111"}})
    plan = compute_plan(_config([d]), [], personas=[r])
    assert plan.changes == () and plan.uncompared == (("p", ("layers.llm.api_key",)),)
