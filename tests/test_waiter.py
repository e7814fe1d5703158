"""The waiter with an in-memory fake client and a fake clock: no sleeping, no network."""

from __future__ import annotations

from fakes import FakeClient, FakeClock, _Sink, run_wait

from reconciler.engine.status import Phase
from reconciler.engine.waiter import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, GONE, Waiter
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
    result = Waiter(client, LineReporter(_Sink(), clock=clock), poll_interval=10, clock=clock,
                    sleep=clock.sleep).wait({"a": "A"}, timeout=100, known=known)
    assert result.exit_code == EXIT_OK and client.calls == [("list", ("a",))]
    assert clock.now == 10.0  # the known state was shown at once, the first real poll came one interval later


def test_failure_waits_for_the_others_then_exit_3():
    client = FakeClient({"a": ["error"], "b": ["started", "started", "completed"]})
    result, _ = run_wait(client, {"a": "A", "b": "B"})
    assert result.exit_code == EXIT_FAILED
    assert [t.replica_id for t in result.having(Phase.FAILED)] == ["a"]
    assert [t.replica_id for t in result.having(Phase.READY)] == ["b"] and result.tracked[1].status == "completed"
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
