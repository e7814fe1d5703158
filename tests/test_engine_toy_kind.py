"""The generic engine proven with TOY kinds defined only here (issue 26): plan, apply, wait and prune through
``reconciler.engine.objects`` against a toy route (an in-memory account), with references resolved through
the reference graph: a single name, a list of names, a nested path, and the ``*_id`` form."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.engine import objects
from reconciler.engine.kind import Kind, Reference, WithInPlaceUpdate, WithReadiness, get_path, has, set_path
from reconciler.engine.models import Action
from reconciler.engine.status import Phase
from reconciler.errors import NotFoundError


@dataclass(frozen=True)
class Obj:  # the toy kinds' remote model
    id: str
    name: str
    doc: Mapping[str, Any]
    status: str = "ready"
    created_at: str = ""


@dataclass(frozen=True)
class Entry:  # the toy kinds' desired model
    name: str
    doc: Mapping[str, Any] = field(default_factory=dict)
    pinned: str | None = None


class ToyRoute:
    """A tiny account: one collection per kind; widgets "process" for ``ticks`` polls before they are ready."""

    def __init__(self, ticks: int = 2):
        self.store: dict[str, dict[str, Obj]] = {}
        self.ticks = ticks
        self.polls: dict[str, int] = {}
        self.seq = itertools.count(1)
        self.calls: list[tuple[str, str]] = []

    def list_collection(self, kind: str) -> list[Obj]:
        self.calls.append(("list", kind))
        return list(self.store.get(kind, {}).values())

    def get_object(self, kind: str, object_id: str) -> Obj:
        obj = self.store.get(kind, {}).get(object_id)
        if obj is None:
            raise NotFoundError(f"{kind} {object_id} not found")
        if obj.status == "processing":
            self.polls[object_id] = self.polls.get(object_id, 0) + 1
            if self.polls[object_id] >= self.ticks:
                obj = Obj(obj.id, obj.name, obj.doc, "ready", obj.created_at)
                self.store[kind][object_id] = obj
        return obj

    def create_object(self, kind: str, body: Mapping[str, Any], status: str = "ready") -> str:
        n = next(self.seq)
        oid = f"{kind[0]}{n:03d}"
        self.calls.append(("create", kind))
        self.store.setdefault(kind, {})[oid] = Obj(oid, body["name"], dict(body), status, f"2026-12-02T00:{n:02d}")
        return oid

    def update_object(self, kind: str, object_id: str, changes: Mapping[str, tuple[object, object]]) -> None:
        obj = self.store[kind][object_id]
        doc = dict(obj.doc)
        for attr, (_old, new) in changes.items():
            doc = set_path(doc, attr, new)
        self.calls.append(("update", kind))
        self.store[kind][object_id] = Obj(obj.id, doc.get("name", obj.name), doc, obj.status, obj.created_at)

    def delete_object(self, kind: str, object_id: str) -> None:
        self.calls.append(("delete", kind))
        if self.store.get(kind, {}).pop(object_id, None) is None:
            raise NotFoundError(f"{kind} {object_id} not found")


class ToyKind:
    def __init__(self, key: str, references: tuple[Reference, ...] = (), status: str = "ready"):
        self.key, self.noun, self.references, self.status = key, key[:-1], references, status

    def identity(self, d: Entry) -> tuple[str, str]:
        return ("id", d.pinned) if d.pinned else ("name", d.name)

    def name_of(self, d: Entry) -> str:
        return d.name

    def document(self, d: Entry) -> Mapping[str, Any]:
        return {"name": d.name, **d.doc}

    def remote_id(self, r: Obj) -> str:
        return r.id

    def remote_name(self, r: Obj) -> str:
        return r.name

    def managed(self, r: Obj) -> bool:
        return not r.name.startswith("stock-")

    def desired_attributes(self, d: Entry) -> dict[str, object]:
        return dict(self.document(d))

    def remote_attributes(self, r: Obj) -> dict[str, object]:
        return dict(r.doc)

    def list(self, client: ToyRoute) -> list[Obj]:
        return client.list_collection(self.key)

    def get(self, client: ToyRoute, object_id: str) -> Obj:
        return client.get_object(self.key, object_id)

    def create(self, client: ToyRoute, body: Mapping[str, Any], *, known_ids: Collection[str] = ()) -> str:
        return client.create_object(self.key, body, self.status)

    def delete(self, client: ToyRoute, object_id: str) -> None:
        client.delete_object(self.key, object_id)


class UpdatableToy(ToyKind):
    def in_place_changes(self, d: Entry, r: Obj, body: Mapping[str, Any]) -> dict[str, tuple[object, object]]:
        return {k: (r.doc.get(k), v) for k, v in _flat(body).items() if _flat(r.doc).get(k) != v}

    def update(self, client: ToyRoute, object_id: str, changes) -> None:
        client.update_object(self.key, object_id, changes)


class AsyncToy(ToyKind):
    def phase(self, r: Obj) -> Phase:
        return {"ready": Phase.READY, "error": Phase.FAILED}.get(r.status, Phase.PENDING)

    def not_ready(self, r: Obj) -> str | None:
        return None if self.phase(r) is Phase.READY else f"{r.id} is {r.status}"


def _flat(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in doc.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


WIDGETS = AsyncToy("widgets", status="processing")
DICTS = ToyKind("dicts")
GADGETS = UpdatableToy("gadgets", (
    Reference("main_widget", "widgets", "main_widget_id"),  # one name -> one id
    Reference("widgets", "widgets", "widget_ids", many=True),  # a list of names -> a list of ids
    Reference("layers.tts.dictionary", "dicts", "layers.tts.dictionary_id"),  # a nested path
))
KINDS = (GADGETS, WIDGETS, DICTS)  # registry order is NOT the order of work: the graph is


def _desired(**entries) -> dict[str, list[Entry]]:
    return {k: list(v) for k, v in entries.items()}


def _remote(route: ToyRoute) -> dict[str, list[Obj]]:
    return {k.key: k.list(route) for k in KINDS}


def _known(route: ToyRoute) -> dict[str, set[str]]:
    return {k: set(v) for k, v in route.store.items()}


def test_toy_kinds_satisfy_the_protocol_and_abilities_are_discovered():
    assert all(isinstance(k, Kind) for k in KINDS)
    assert has(GADGETS, WithInPlaceUpdate) and not has(WIDGETS, WithInPlaceUpdate)
    assert has(WIDGETS, WithReadiness) and not has(GADGETS, WithReadiness)


def test_plan_apply_wait_then_no_changes_then_update_then_prune():
    route = ToyRoute(ticks=2)
    desired = _desired(
        widgets=[Entry("w1"), Entry("w2")], dicts=[Entry("d1")],
        gadgets=[Entry("g1", {"main_widget": "w1", "widgets": ["w1", "w2"], "layers": {"tts": {"dictionary": "d1"}},
                              "color": "red"})])
    plan = objects.plan_objects(KINDS, desired, _remote(route))
    assert not plan.errors
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        (Action.CREATE, "widgets", "w1"), (Action.CREATE, "widgets", "w2"), (Action.CREATE, "dicts", "d1"),
        (Action.CREATE, "gadgets", "g1")]
    g1 = plan.changes[-1]
    assert g1.after["main_widget_id"] == "(known after apply: w1)" and "main_widget" not in g1.after

    report = objects.apply_objects(plan, KINDS, route, known_ids=_known(route))
    assert report.ok, report.outcomes
    w1, w2, d1 = (report.created[k] for k in (("widgets", "w1"), ("widgets", "w2"), ("dicts", "d1")))
    made = route.store["gadgets"][report.created[("gadgets", "g1")]].doc
    assert made["main_widget_id"] == w1 and made["widget_ids"] == [w1, w2]
    assert made["layers"] == {"tts": {"dictionary_id": d1}} and "widgets" not in made
    creates = [k for op, k in route.calls if op == "create"]
    assert creates.index("gadgets") > max(creates.index("widgets"), creates.index("dicts"))

    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    phases = objects.wait_objects(KINDS, route, report.created, timeout=60, interval=5, clock=lambda: now[0],
                                  sleep=sleep)
    assert phases == {("widgets", "w1"): Phase.READY, ("widgets", "w2"): Phase.READY}
    assert sleeps == [5]  # polled twice: no real time passes

    assert objects.plan_objects(KINDS, desired, _remote(route)).changes == ()  # converged

    desired["gadgets"] = [Entry("g1", {"main_widget": "w2", "widgets": ["w1", "w2"],
                                       "layers": {"tts": {"dictionary": "d1"}}, "color": "blue"})]
    plan = objects.plan_objects(KINDS, desired, _remote(route))
    assert [(c.action, dict((a, new) for a, _old, new in c.diff)) for c in plan.changes] == [
        (Action.UPDATE, {"main_widget_id": w2, "color": "blue"})]
    assert objects.apply_objects(plan, KINDS, route, known_ids=_known(route)).ok

    del desired["widgets"][0]  # g1 still names w1, which the file no longer declares: an error
    plan = objects.plan_objects(KINDS, desired, _remote(route), prune=True)
    assert plan.errors == ("gadget g1: widgets 'w1' does not exist and is not created by this plan "
                           "(add it to the file, or apply it first)",)
    desired["gadgets"] = [Entry("g1", {"main_widget": "w2", "widgets": ["w2"], "layers": {"tts": {"dictionary": "d1"}},
                                       "color": "blue"})]
    plan = objects.plan_objects(KINDS, desired, _remote(route), prune=True)
    assert [c.action for c in plan.changes] == [Action.UPDATE]  # w1 kept while g1 still references it
    assert any("references it: kept, not pruned" in w for w in plan.warnings)
    assert objects.apply_objects(plan, KINDS, route, known_ids=_known(route)).ok
    plan = objects.plan_objects(KINDS, desired, _remote(route), prune=True)
    assert [(c.action, c.object_id) for c in plan.changes] == [(Action.DELETE, w1)]
    assert objects.apply_objects(plan, KINDS, route, known_ids=_known(route)).ok
    assert w1 not in route.store["widgets"]


def test_a_dangling_reference_is_a_located_error():
    plan = objects.plan_objects(KINDS, _desired(gadgets=[Entry("g1", {"main_widget": "nope"})]), {})
    assert plan.changes == ()
    assert plan.errors == ("gadget g1: main_widget 'nope' does not exist and is not created by this plan "
                           "(add it to the file, or apply it first)",)


def test_the_id_form_passes_through_and_stock_objects_are_never_pruned():
    route = ToyRoute()
    route.store["widgets"] = {"wx": Obj("wx", "stock-w", {"name": "stock-w"})}
    desired = _desired(gadgets=[Entry("g1", {"main_widget_id": "wx"})])
    plan = objects.plan_objects(KINDS, desired, _remote(route), prune=True)
    assert [(c.action, c.after) for c in plan.changes] == [(Action.CREATE, {"name": "g1", "main_widget_id": "wx"})]


def test_a_create_is_never_duplicated_when_the_name_appeared_since_the_plan():
    route = ToyRoute()
    plan = objects.plan_objects(KINDS, _desired(dicts=[Entry("d1")]), _remote(route))
    route.create_object("dicts", {"name": "d1"})  # someone else, after the plan
    report = objects.apply_objects(plan, KINDS, route, known_ids={})
    assert not report.ok and "appeared since the plan" in report.outcomes[0][2]
    assert len(route.store["dicts"]) == 1


def test_concurrent_duplicate_the_oldest_survives():
    route = ToyRoute()
    plan = objects.plan_objects(KINDS, _desired(dicts=[Entry("d1")]), _remote(route))

    class Racing(ToyKind):
        def create(self, client, body, *, known_ids=()):
            theirs = client.create_object("dicts", body)  # a concurrent apply wins the race by one id
            mine = client.create_object("dicts", body)
            assert theirs < mine
            return mine

    racing = Racing("dicts")
    kinds = (GADGETS, WIDGETS, racing)
    report = objects.apply_objects(plan, kinds, route, known_ids={})
    assert report.ok
    assert list(route.store["dicts"]) == ["d001"] and report.created[("dicts", "d1")] == "d001"


def test_a_renamed_object_is_not_deleted():
    route = ToyRoute()
    oid = route.create_object("dicts", {"name": "old"})
    plan = objects.plan_objects(KINDS, {}, _remote(route), prune=True)
    route.store["dicts"][oid] = Obj(oid, "renamed", {"name": "renamed"})
    report = objects.apply_objects(plan, KINDS, route, known_ids=_known(route))
    assert not report.ok and "is now named 'renamed'" in report.outcomes[0][2]
    assert oid in route.store["dicts"]


def test_a_reference_cycle_is_a_plan_error_naming_it():
    a = ToyKind("alphas", (Reference("beta", "betas", "beta_id"),))
    b = ToyKind("betas", (Reference("alpha", "alphas", "alpha_id"),))
    plan = objects.plan_objects((a, b), {}, {})
    assert plan.errors == ("the kinds' references form a cycle: alphas.beta -> betas, betas.alpha -> alphas "
                           "(no kind can be created first)",)


@pytest.mark.parametrize("path", ["x", "a.b.c"])
def test_nested_paths_round_trip(path):
    assert get_path(set_path({}, path, 1), path) == 1


def test_a_registered_toy_kind_goes_through_the_real_planner_executor_and_renderers(monkeypatch):
    import json

    import reconciler.kinds as registry
    from reconciler.engine.executor import execute
    from reconciler.engine.models import Config
    from reconciler.engine.planner import compute_plan
    from reconciler.views import render

    real = registry.registered()
    monkeypatch.setattr(registry, "registered", lambda: (*real, *KINDS))
    route = ToyRoute()
    route.create_object("dicts", {"name": "old-d"})
    config = Config(path="f.yaml", replicas=(), objects={"dicts": (Entry("d1"),), "gadgets": (
        Entry("g1", {"layers": {"tts": {"dictionary": "d1"}}}),)})
    plan = compute_plan(config, [], objects=_remote(route), prune=True)
    assert not plan.errors
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        (Action.CREATE, "dicts", "d1"), (Action.CREATE, "gadgets", "g1"), (Action.DELETE, "dicts", "old-d")]
    text = render.plan_text(plan, file="f.yaml")
    assert "+ create dict d1" in text and "- delete dict old-d (d001)" in text
    assert "layers.tts.dictionary_id" in text or "dictionary_id" in text
    doc = json.loads(render.plan_json(plan, file="f.yaml"))
    assert [(c["kind"], c["object_id"]) for c in doc["changes"]] == [("dicts", None), ("gadgets", None),
                                                                     ("dicts", "d001")]
    report = execute(plan, route, known_ids=(), emit=lambda line: None, known_objects=_known(route))
    assert report.ok, report.outcomes
    made = report.created_objects[("gadgets", "g1")]
    assert route.store["gadgets"][made].doc["layers"] == {"tts": {"dictionary_id": report.created_objects[
        ("dicts", "d1")]}}
    assert "d001" not in route.store["dicts"]
    again = compute_plan(config, [], objects=_remote(route), prune=True)
    assert again.changes == () and not again.errors
