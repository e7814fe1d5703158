"""The waiter with an in-memory fake client and a fake clock: no sleeping, no network."""

from __future__ import annotations

from dataclasses import dataclass

from fakes import FakeClient, FakeClock, _Sink, run_wait

from reconciler.engine.kind import WithRowState, has
from reconciler.engine.status import Phase
from reconciler.engine.waiter import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, GONE, Waiter
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views.progress import LineReporter


def test_all_complete_and_each_poll_lists_only_pending_ids():
    client = FakeClient({"a": ["started", "completed"], "b": ["started", "started", "ready"]})
    result, clock = run_wait(client, {"a": "A", "b": "B"})
    assert result.exit_code == EXIT_OK
    assert client.calls == [("list", ("a", "b")), ("list", ("a", "b")), ("list", ("b",))]
    assert clock.now == 20.0


def test_a_fresh_listing_saves_the_first_poll():
    client = FakeClient({"a": ["completed"]})
    clock = FakeClock()
    known = {"a": RemoteReplica("a", "A", status="started")}
    result = Waiter(client, LineReporter(_Sink(), clock=clock), REPLICAS, poll_interval=10, clock=clock,
                    sleep=clock.sleep).wait({"a": "A"}, timeout=100, known=known)
    assert result.exit_code == EXIT_OK and client.calls == [("list", ("a",))]
    assert clock.now == 10.0  # the known state was shown at once, the first real poll came one interval later


def test_failure_waits_for_the_others_then_exit_3():
    client = FakeClient({"a": ["error"], "b": ["started", "started", "completed"]})
    result, _ = run_wait(client, {"a": "A", "b": "B"})
    assert result.exit_code == EXIT_FAILED
    assert [t.object_id for t in result.having(Phase.FAILED)] == ["a"]
    assert [t.object_id for t in result.having(Phase.READY)] == ["b"] and result.tracked[1].status == "completed"
    assert result.tracked[0].error_message == "bad video"


def test_timeout_exit_4_and_never_sleeps_past_the_deadline():
    client = FakeClient({"a": ["started"]})
    result, clock = run_wait(client, {"a": "A"}, timeout=25.0, poll=10.0)
    assert result.exit_code == EXIT_TIMEOUT and result.timed_out
    assert clock.now == 25.0


def test_transient_poll_failure_is_a_warning_not_the_end():
    client = FakeClient({"a": ["started", "started", "completed"]}, fail_polls={2})
    sink = _Sink()
    result, _ = run_wait(client, {"a": "A"}, out=sink)
    assert result.exit_code == EXIT_OK
    assert "poll failed" in sink.text


def test_replica_deleted_while_waiting_is_confirmed_then_reported():
    client = FakeClient({"a": ["started", None], "b": ["started", "started", "completed"]})
    result, _ = run_wait(client, {"a": "A", "b": "B"})
    assert ("get", "a") in client.calls
    assert result.tracked[0].phase == GONE and result.exit_code == EXIT_FAILED


class _Widgets:
    """A toy asynchronous kind, defined only here: the waiter names no kind (issue 26)."""

    def __init__(self, states):
        self.states, self.calls = states, []  # id -> statuses, one per poll

    def list(self, client, *, ids):
        self.calls.append(tuple(ids))
        return [Widget(i, self.states[i].pop(0) if len(self.states[i]) > 1 else self.states[i][0]) for i in ids]

    def get(self, client, object_id):
        raise AssertionError("every pending widget is listed")

    @staticmethod
    def remote_id(w):
        return w.id

    @staticmethod
    def phase(w):
        return {"ready": Phase.READY, "broken": Phase.FAILED}.get(w.status, Phase.PENDING)

    @staticmethod
    def not_ready(w):
        return None if w.status == "ready" else f"widget {w.id} is {w.status}"


@dataclass(frozen=True)
class Widget:
    id: str
    status: str


def test_the_waiter_polls_any_asynchronous_kind_through_its_listing_by_ids():
    kind = _Widgets({"w1": ["processing", "ready"], "w2": ["processing", "processing", "broken"]})
    clock = FakeClock()
    result = Waiter(None, LineReporter(_Sink(), clock=clock), kind, poll_interval=5, clock=clock,
                    sleep=clock.sleep).wait({"w1": "one", "w2": "two"}, timeout=100)
    assert kind.calls == [("w1", "w2"), ("w1", "w2"), ("w2",)]
    assert result.exit_code == EXIT_FAILED
    assert [(t.object_id, t.status) for t in result.tracked] == [("w1", "ready"), ("w2", "broken")]
    assert result.tracked[1].error_message == "widget w2 is broken" and result.tracked[0].progress == 100.0


def test_a_kind_with_its_own_row_state_shows_it():
    class Shown(_Widgets):
        @staticmethod
        def take(row, w):
            row.status, row.phase, row.progress, row.error_message = f"<{w.status}>", Shown.phase(w), 42.0, None

    assert has(Shown({}), WithRowState) and not has(_Widgets({}), WithRowState)
    kind = Shown({"w1": ["ready"]})
    clock = FakeClock()
    result = Waiter(None, LineReporter(_Sink(), clock=clock), kind, clock=clock,
                    sleep=clock.sleep).wait({"w1": "one"}, timeout=100)
    assert [(t.status, t.progress) for t in result.tracked] == [("<ready>", 42.0)] and result.exit_code == EXIT_OK
