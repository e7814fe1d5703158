"""The generic calls a kind makes (reconciler.api.objects), against an in-memory collection described only
by data: a 0-based listing (documents), fixed params and ids in ``uuid`` (guardrails), lost create answers,
JSON Patch and plain JSON patches, deletes of what is already gone."""

from __future__ import annotations

import json

import httpx
import pytest
from test_engine_toy_kind import DICTS, GADGETS, KINDS, Entry, Obj, ToyKind, ToyRoute

from reconciler.api.client import TavusClient
from reconciler.api.listing import Listing
from reconciler.engine import objects
from reconciler.engine.kind import Reference
from reconciler.engine.models import Action, Change
from reconciler.engine.status import Phase
from reconciler.errors import ApiError, CreateOutcomeUnknownError, InvalidPatchError, NotFoundError

KEY = "objects-test-key-0123456789"
DOCUMENTS = Listing(path="/v2/documents", noun="document", id_field="document_id", name_field="document_name",
                    first_page=0)
GUARDRAILS = Listing(path="/v2/guardrails", noun="guardrail", id_field="guardrail_id",
                     name_field="guardrail_name", params={"legacy": "false"}, id_aliases=("uuid",))


class Collection:
    """One collection on a fake account: pages from ``base``; ids answered in ``id_key``."""

    def __init__(self, path, id_key, name_key, n=0, base=1, max_page=100, need=None):
        self.path, self.id_key, self.name_key, self.base, self.max_page = path, id_key, name_key, base, max_page
        self.need = need or {}  # query params a listing must carry, or it answers something else
        self.items = [{id_key: f"x{i:04d}", name_key: f"n{i}"} for i in range(n)]
        self.log: list[httpx.Request] = []
        self.faults: list = []
        self.answer: httpx.Response | None = None

    def client(self, **kw) -> TavusClient:
        kw.setdefault("backoff_base", 0.0)
        kw.setdefault("create_settle", 0.0)
        return TavusClient("https://api.test", KEY, transport=httpx.MockTransport(self.handle),
                           sleep=lambda s: None, **kw)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, httpx.Response):
            return fault
        if request.method == "GET" and request.url.path == self.path:
            return self.page(request.url.params)
        if request.method == "POST":
            payload = json.loads(request.content)
            item = {self.id_key: f"new{len(self.items)}", self.name_key: payload[self.name_key]}
            self.items.insert(0, item)
            if isinstance(fault, Exception):
                raise fault
            return httpx.Response(200, json={self.id_key: item[self.id_key]})
        return self.answer or httpx.Response(200, json={"ok": True})

    def page(self, q) -> httpx.Response:
        if any(q.get(k) != v for k, v in self.need.items()):
            return httpx.Response(200, json={"data": [{"name": "legacy set", "data": []}], "total_count": 1})
        size, page = min(int(q["limit"]), self.max_page), int(q["page"]) - self.base
        if page < 0:
            return httpx.Response(400, json={"error": "page out of range"})
        return httpx.Response(200, json={"data": self.items[page * size:(page + 1) * size],
                                         "total_count": len(self.items)})


def documents(n=0, **kw):
    return Collection("/v2/documents", "document_id", "document_name", n, base=0, **kw)


def guardrails(n=0, **kw):
    return Collection("/v2/guardrails", "uuid", "guardrail_name", n, need={"legacy": "false"}, **kw)


def test_a_zero_based_listing_reads_every_page_from_page_0():
    api = documents(250, max_page=100)
    with api.client() as c:
        got = c.list_objects(DOCUMENTS)
    assert [d["document_id"] for d in got] == [d["document_id"] for d in api.items]
    assert sorted(r.url.params["page"] for r in api.log) == ["0", "1", "2"]


def test_fixed_params_and_an_id_in_uuid_are_honoured():
    api = guardrails(3)
    with api.client() as c:
        got = c.list_objects(GUARDRAILS, params={"tags": "a"})
    assert [g["guardrail_id"] for g in got] == ["x0000", "x0001", "x0002"]
    assert api.log[0].url.params["legacy"] == "false" and api.log[0].url.params["tags"] == "a"


def test_a_create_answer_with_the_id_in_uuid_is_read():
    api = guardrails(0)
    with api.client() as c:
        assert c.create_object(GUARDRAILS, {"guardrail_name": "g"}) == "new0"


def test_a_lost_create_answer_is_adopted_from_the_listing_never_sent_twice():
    api = documents(5)
    api.faults = [httpx.ReadTimeout("lost")]
    with api.client() as c:
        got = c.create_object(DOCUMENTS, {"document_name": "kb", "document_url": "https://x"},
                              known_ids=[d["document_id"] for d in api.items])
    assert got == "new5"
    assert [r.method for r in api.log] == ["POST", "GET"]


def test_a_lost_create_answer_whose_check_fails_is_unknown_not_retried():
    api = documents(1)
    api.faults = [httpx.ReadTimeout("lost")] + [httpx.Response(500, json={})] * 20
    with api.client(max_attempts=2) as c, pytest.raises(CreateOutcomeUnknownError):
        c.create_object(DOCUMENTS, {"document_name": "kb"})
    assert [r.method for r in api.log].count("POST") == 1


@pytest.mark.parametrize("body,sent", [({"document_name": "b"}, {"document_name": "b"}),
                                       ([{"op": "replace", "path": "/tags", "value": []}],
                                        [{"op": "replace", "path": "/tags", "value": []}])])
def test_patch_sends_plain_json_or_json_patch(body, sent):
    api = documents(1)
    with api.client() as c:
        assert c.patch_object(DOCUMENTS, "x0000", body) is True
    assert api.log[0].method == "PATCH" and api.log[0].url.path == "/v2/documents/x0000"
    assert json.loads(api.log[0].content) == sent


def test_patch_304_is_no_change_and_an_empty_patch_sends_nothing():
    api = documents(1)
    api.answer = httpx.Response(304)
    with api.client() as c:
        assert c.patch_object(DOCUMENTS, "x0000", [{"op": "add", "path": "/a", "value": 1}]) is False
        assert c.patch_object(DOCUMENTS, "x0000", []) is False
    assert len(api.log) == 1


def test_patch_422_is_an_invalid_patch():
    api = documents(1)
    api.answer = httpx.Response(422, json={"message": "bad op"})
    with api.client() as c, pytest.raises(InvalidPatchError):
        c.patch_object(GUARDRAILS, "g1", [{"op": "remove", "path": "/x"}])


@pytest.mark.parametrize("answer", [httpx.Response(404, json={"message": "Document not found"}),
                                    httpx.Response(400, json={"error": "Invalid document_id"})])
def test_delete_of_what_is_gone_is_false_and_get_is_not_found(answer):
    api = documents(1)
    api.answer = answer
    with api.client() as c:
        assert c.delete_object(DOCUMENTS, "nope") is False
        with pytest.raises(NotFoundError):
            c.get_object(DOCUMENTS, "nope")


def test_another_400_is_not_taken_for_gone():
    from reconciler.errors import BadRequestError

    api = documents(1)
    api.answer = httpx.Response(400, json={"message": "document_url is required"})
    with api.client() as c, pytest.raises(BadRequestError):
        c.delete_object(DOCUMENTS, "x0000")


@pytest.mark.parametrize("answer", [{"uuid": "g1", "guardrail_name": "a"},
                                    {"data": [{"uuid": "g1", "guardrail_name": "a"}]},
                                    {"data": {"uuid": "g1", "guardrail_name": "a"}}])
def test_get_reads_the_item_bare_or_wrapped_in_data(answer):
    api = guardrails(0)
    api.answer = httpx.Response(200, json=answer)
    with api.client() as c:
        assert c.get_object(GUARDRAILS, "g1") == {"uuid": "g1", "guardrail_id": "g1", "guardrail_name": "a"}


# the generic plan/apply/wait of engine/objects.py (same basename as api/objects.py)

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


class Replacing(ToyKind):
    def replace_reason(self, desired, remote, force_replace):
        return "url changed" if desired.doc.get("url") != remote.doc.get("url") else None


def _replaced(k):
    route = ToyRoute()
    route.store["dicts"] = {"d1": Obj("d1", "d", {"url": "a"})}
    remote = {"dicts": list(route.store["dicts"].values())}
    plan = objects.plan_objects((k,), {"dicts": [Entry("d", {"url": "b"})]}, remote)
    assert [(c.action, c.reason, c.object_id) for c in plan.changes] == [(Action.REPLACE, "url changed", "d1")]
    return route, objects.apply_objects(plan, (k,), route, known_ids={"dicts": {"d1"}})


def test_a_replace_creates_the_new_object_then_deletes_the_old_one():
    route, report = _replaced(Replacing("dicts"))
    assert report.ok and report.outcomes[0][2] == "replaced d1 with d001", report.outcomes
    assert [o.doc["url"] for o in route.store["dicts"].values()] == ["b"]
    assert [c for c in route.calls if c[0] != "list"] == [("create", "dicts"), ("delete", "dicts")]
    assert report.created == {("dicts", "d"): "d001"}


def test_a_kind_of_unique_names_deletes_first_and_a_renamed_old_object_is_kept():
    class Unique(Replacing):
        replace_deletes_first = True

    route, report = _replaced(Unique("dicts"))
    assert report.ok and [c for c in route.calls if c[0] != "list"] == [("delete", "dicts"), ("create", "dicts")]

    class Renamed(ToyRoute):
        def get_object(self, kind, object_id):
            return Obj(object_id, "renamed-by-someone", {"url": "a"})

    k = Replacing("dicts")
    plan = objects.plan_objects((k,), {"dicts": [Entry("d", {"url": "b"})]}, {"dicts": [Obj("d1", "d", {"url": "a"})]})
    route = Renamed()
    route.store["dicts"] = {"d1": Obj("d1", "renamed-by-someone", {"url": "a"})}
    report = objects.apply_objects(plan, (k,), route, known_ids={})
    assert not report.ok and "not replaced: d1 is now named 'renamed-by-someone'" in report.outcomes[0][2]
    assert "d1" in route.store["dicts"]


def test_a_blue_green_replace_is_refused_by_the_generic_apply_until_it_is_supported():
    class BlueGreen(Replacing):
        def rename(self, client, object_id, name):
            raise AssertionError("not reached")

    _, report = _replaced(BlueGreen("dicts"))
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


def test_removed_names_are_released_never_deleted_nor_unmanaged():
    remote = {"dicts": [Obj("d1", "gone", {}), Obj("d2", "stale", {})]}
    plan = objects.plan_objects(KINDS, {}, remote, prune=True, removed=("gone",))
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, "d2")]
    assert objects.plan_objects(KINDS, {}, remote, removed=("gone",)).unmanaged == (("dicts", remote["dicts"][1]),)


def test_an_object_held_from_outside_the_generic_kinds_is_never_pruned():
    remote = {"dicts": [Obj("d1", "held", {}), Obj("d2", "stale", {})]}
    plan = objects.plan_objects(KINDS, {}, remote, prune=True, held={"d1": "persona p (p1)"})
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, "d2")]
    assert plan.warnings == ("held (d1) is not declared, but persona p (p1) references it: kept, not pruned (re-point "
                             "the reference first)",)
