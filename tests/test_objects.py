"""reconciler.engine.objects, unit level (the whole flow is tests/test_engine_toy_kind.py)."""

from test_engine_toy_kind import DICTS, GADGETS, KINDS, Entry, Obj, ToyKind, ToyRoute

from reconciler.engine import objects
from reconciler.engine.kind import Reference
from reconciler.engine.models import Action, Change
from reconciler.engine.status import Phase
from reconciler.errors import ApiError


def test_bind_names_known_after_apply_then_the_created_id():
    refs = (("main_widget", "widgets", "w1", None),)
    doc = {"name": "g", "main_widget": "w1"}
    assert objects.bind(GADGETS, doc, refs) == {"name": "g", "main_widget_id": "(known after apply: w1)"}
    assert objects.bind(GADGETS, doc, refs, {("widgets", "w1"): "w9"})["main_widget_id"] == "w9"


def test_an_update_binds_a_reference_created_by_the_same_apply():
    c = Change(Action.UPDATE, "g", "x", kind="gadgets", desired=Entry("g", {"main_widget": "w1"}),
               refs=(("main_widget", "widgets", "w1", None),),
               diff=(("main_widget_id", "w0", "(known after apply: w1)"), ("color", "a", "b")))
    assert objects._bound_changes(GADGETS, c, {("widgets", "w1"): "w7"}) == {
        "main_widget_id": ("w0", "w7"), "color": ("a", "b")}


def test_two_objects_of_one_declared_name_or_a_missing_pin_are_errors():
    remote = {"dicts": [Obj("d1", "x", {}), Obj("d2", "x", {})]}
    plan = objects.plan_objects(KINDS, {"dicts": [Entry("x"), Entry("y", pinned="d404")]}, remote)
    assert plan.changes == ()
    assert plan.errors == ("2 remote dicts are named 'x' (d1, d2): pin the one to keep, or delete the others",
                           "pinned dict d404 not found (declared as 'y'): it will not be created")


def test_out_of_scope_objects_are_left_alone():
    remote = {"dicts": [Obj("d1", "team-a", {}), Obj("d2", "other", {})]}
    plan = objects.plan_objects(KINDS, {}, remote, prune=True, in_scope=lambda n: n.startswith("team-"))
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, "d1")]


def test_a_replace_is_planned_and_refused_by_the_generic_apply_until_it_is_supported():
    class Replacing(ToyKind):
        def replace_reason(self, desired, remote, force_replace):
            return "url changed" if desired.doc.get("url") != remote.doc.get("url") else None

    k = Replacing("dicts")
    plan = objects.plan_objects((k,), {"dicts": [Entry("d", {"url": "b"})]}, {"dicts": [Obj("d1", "d", {"url": "a"})]})
    assert [(c.action, c.reason, c.object_id) for c in plan.changes] == [(Action.REPLACE, "url changed", "d1")]
    report = objects.apply_objects(plan, (k,), ToyRoute(), known_ids={})
    assert not report.ok and "not supported by the generic engine" in report.outcomes[0][2]


def test_a_failed_recheck_creates_nothing():
    class Down(ToyRoute):
        def list_collection(self, kind):
            raise ApiError("the API is down")

    route = Down()
    plan = objects.plan_objects(KINDS, {"dicts": [Entry("d")]}, {})
    report = objects.apply_objects(plan, KINDS, route, known_ids={})
    assert not report.ok and "re-check before creating failed: the API is down" in report.outcomes[0][2]
    assert route.store == {}


def test_wait_stops_at_the_deadline_and_reports_pending():
    class Slow(ToyKind):
        def phase(self, r):
            return Phase.PENDING

        def not_ready(self, r):
            return "slow"

    route = ToyRoute()
    oid = route.create_object("dicts", {"name": "d"})
    now = [0.0]

    def sleep(s):
        now[0] += s

    got = objects.wait_objects((Slow("dicts"),), route, {("dicts", "d"): oid}, timeout=10, interval=4,
                               clock=lambda: now[0], sleep=sleep)
    assert got == {("dicts", "d"): Phase.PENDING} and now[0] == 10
    assert objects.wait_objects((DICTS,), route, {("dicts", "d"): oid}, timeout=1) == {}  # not asynchronous


def test_references_to_an_unregistered_kind_are_a_plan_error():
    k = ToyKind("things", (Reference("x", "nope", "x_id"),))
    assert "no such kind is registered" in objects.plan_objects((k,), {}, {}).errors[0]
