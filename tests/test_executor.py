"""The generic executor (engine/executor.py): it names no kind; the kinds that carry out their own changes are
asked through their WithExecutor hooks: first, re-check, main, settle in create order, deletes in reverse order
and only once everything before succeeded; the stop flag; the concurrent-duplicate rule. A toy kind, here only."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

import reconciler.kinds as registry
from reconciler.engine.executor import Survivors, execute, executors, keep_oldest
from reconciler.engine.kind import WithExecutor, has
from reconciler.engine.models import Action, Change, Plan
from reconciler.engine.outcome import Outcome
from reconciler.errors import ReconcilerError


class Toy:
    """Carries out its own changes; ``log`` is every hook call, in order."""

    legacy_path = True  # off the generic objects.py path
    records_created = True

    def __init__(self, key, noun, references=(), fail=(), adopted=()):
        self.key, self.noun, self.references = key, noun, references
        self.fail, self.adopted, self.log, self.known = set(fail), set(adopted), [], None

    def work(self, changes, successors):
        return ([c for c in changes if c.action is Action.RENAME],
                [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)],
                [c for c in changes if c.action is Action.DELETE])

    def recheck(self, run, main):
        self.log.append(("recheck", [c.name for c in main]))
        self.known = run.known(self)
        for c in main:
            if c.name in self.adopted:
                run.record(Outcome(c, True, "adopted", f"their-{c.name}"))
        return [c for c in main if c.name not in self.adopted]

    def step(self, run, change):
        self.log.append((change.action.value, change.name))
        if change.name in self.fail:
            raise ReconcilerError(f"{change.name} refused")
        return f"{change.action.value}d", f"id-{change.name}" if change.action is Action.CREATE else None

    def failure(self, change, error):
        return Outcome(change, False, "explained by the kind") if change.name == "explained" else None

    def settle(self, run, outcomes):
        self.log.append(("settle", [o.change.name for o in outcomes]))


@dataclass(frozen=True)
class Ref:
    kind: str


@pytest.fixture
def toys(monkeypatch):
    """Two toy kinds, registered alone: ``outer`` references ``inner`` (so inner is created first)."""
    inner = Toy("inners", "inner")
    outer = Toy("outers", "outer", references=(Ref("inners"),))
    monkeypatch.setattr(registry, "kinds", lambda: (inner, outer))
    return inner, outer


def ch(action, name, kind):
    return Change(action, name, "why", kind=kind)


def test_the_real_kinds_on_their_own_path_carry_out_their_changes():
    assert [k.key for k in executors()] == ["replicas", "personas"]
    assert all(has(k, WithExecutor) for k in executors())


def test_order_first_main_settle_in_create_order_then_deletes_reversed(toys):
    inner, outer = toys
    plan = Plan(changes=(ch(Action.DELETE, "od", "outers"), ch(Action.CREATE, "oc", "outers"),
                         ch(Action.DELETE, "id", "inners"), ch(Action.RENAME, "ir", "inners"),
                         ch(Action.CREATE, "ic", "inners")))
    order: list[str] = []
    report = execute(plan, None, known_ids={"i-1"}, known_outer_ids={"o-1"},
                     emit=lambda line: order.append(line.split(":")[0].split()[-1]))
    assert report.ok
    assert order == ["ir", "ic", "oc", "od", "id"]  # the referencing kind's deletes before the referenced's
    assert inner.log == [("rename", "ir"), ("recheck", ["ic"]), ("create", "ic"), ("settle", ["ic"]),
                         ("delete", "id")]
    assert inner.known == {"i-1"} and outer.known == {"o-1"}  # known_ids: the first kind; known_<noun>_ids
    assert report.created == {"ic": "id-ic", "oc": "id-oc"}


def test_a_failure_stops_every_later_stage_and_the_deletes(toys):
    inner, outer = toys
    inner.fail = {"ic"}
    plan = Plan(changes=(ch(Action.CREATE, "ic", "inners"), ch(Action.CREATE, "oc", "outers"),
                         ch(Action.DELETE, "id", "inners")))
    report = execute(plan, None, known_ids=(), emit=lambda line: None)
    assert [o.detail for o in report.failed] == ["ic refused"]
    assert sorted(c.name for c, why in report.skipped) == ["id", "oc"]
    assert all(why == "not run: an earlier step failed" for _c, why in report.skipped)
    assert outer.log == [] and ("delete", "id") not in inner.log


def test_the_kind_explains_its_own_errors_and_adopted_objects_are_not_created(toys):
    inner, _outer = toys
    inner.fail, inner.adopted = {"explained"}, {"theirs"}
    plan = Plan(changes=(ch(Action.CREATE, "explained", "inners"), ch(Action.CREATE, "theirs", "inners")))
    report = execute(plan, None, known_ids=(), emit=lambda line: None)
    assert {o.change.name: o.detail for o in report.outcomes} == {"explained": "explained by the kind",
                                                                   "theirs": "adopted"}
    assert ("create", "theirs") not in inner.log and report.created == {"theirs": "their-theirs"}


def test_a_set_stop_flag_starts_nothing(toys):
    inner, outer = toys
    stop = threading.Event()
    stop.set()
    plan = Plan(changes=(ch(Action.CREATE, "ic", "inners"), ch(Action.DELETE, "od", "outers")))
    report = execute(plan, None, known_ids=(), emit=lambda line: None, stop=stop)
    assert report.interrupted and not report.outcomes and inner.log == [] == outer.log
    assert sorted(c.name for c, _why in report.skipped) == ["ic", "od"]


@dataclass(frozen=True)
class Obj:
    oid: str
    name: str
    created_at: str


@pytest.mark.parametrize(("theirs_at", "survivor"), [("1", "theirs"), ("3", "mine")])
def test_keep_oldest_deletes_only_our_own_younger_duplicate(theirs_at, survivor):
    listing = [Obj("mine", "n", "2"), Obj("theirs", "n", theirs_at), Obj("known", "n", "0")]
    deleted: list[str] = []
    recorded: list[Outcome] = []
    kind = Survivors("toy ", lambda: listing, lambda oid: None, deleted.append, lambda o: o.oid,
                     lambda name, oid: Change(Action.DELETE, name, "duplicate", kind="toys"))
    ours = {"n": Outcome(Change(Action.CREATE, "n", "absent", kind="toys"), True, "created", "mine")}
    adopted = keep_oldest(kind, ours, frozenset({"known"}), recorded.append)
    assert deleted == ([] if survivor == "mine" else ["mine"])
    assert adopted == ({} if survivor == "mine" else {"n": "theirs"})


def test_known_ids_for_no_such_kind_is_a_type_error_not_ignored():
    with pytest.raises(TypeError, match="known_gizmo_ids"):
        execute(Plan(), None, known_ids=(), known_gizmo_ids=())
