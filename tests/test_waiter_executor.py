"""Waiter and executor logic with an in-memory fake client and a fake clock: no sleeping, no network."""

from __future__ import annotations

import threading

import pytest

from reconciler.errors import ApiError, BadRequestError, NotFoundError
from reconciler.executor import execute
from reconciler.models import Action, Change, DesiredReplica, Plan, RemoteReplica
from reconciler.progress import LineReporter
from reconciler.status import Phase
from reconciler.waiter import EXIT_FAILED, EXIT_OK, EXIT_TIMEOUT, GONE, Tracked, Waiter


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeClient:
    """Replicas advance through a scripted list of statuses, one step per poll."""

    def __init__(self, scripts, fail_polls=()):
        self.scripts = {rid: list(s) for rid, s in scripts.items()}
        self.polls = 0
        self.fail_polls = set(fail_polls)
        self.calls = []
        self.lock = threading.Lock()
        self.deleted = set()
        self.appeared = []

    def _current(self, rid):
        s = self.scripts[rid]
        status = s[min(self.polls - 1, len(s) - 1)]
        return None if status is None else RemoteReplica(
            rid, f"n-{rid}", status=status, error_message="bad video" if status == "error" else None)

    def list_replicas(self, *, ids=None, replica_type="user"):
        if ids is None:  # the executor's re-check before creating
            self.calls.append(("list-all",))
            return list(self.appeared)
        self.polls += 1
        self.calls.append(("list", tuple(ids or ())))
        if self.polls in self.fail_polls:
            raise ApiError("503 Service Unavailable")
        return [r for rid in ids if (r := self._current(rid)) is not None]

    def get_replica(self, rid):
        self.calls.append(("get", rid))
        raise NotFoundError("not found")

    # executor side
    def rename_replica(self, rid, name):
        with self.lock:
            self.calls.append(("rename", rid, name))

    def create_replica(self, payload, *, known_ids=None):
        with self.lock:
            self.calls.append(("create", payload["replica_name"]))
            if "bad" in payload["replica_name"]:
                raise BadRequestError("train_video_url is not reachable")
            return f"r-new-{payload['replica_name']}"

    def delete_replica(self, rid):
        with self.lock:
            self.calls.append(("delete", rid))


def run_wait(client, targets, timeout=100.0, poll=10.0, out=None):
    clock = FakeClock()
    reporter = LineReporter(out if out is not None else _Sink(), clock=clock)
    result = Waiter(client, reporter, poll_interval=poll, clock=clock, sleep=clock.sleep).wait(targets, timeout=timeout)
    return result, clock


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


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


def test_line_reporter_prints_status_changes_and_no_ansi():
    sink = _Sink()
    client = FakeClient({"a": ["started", "completed"]})
    run_wait(client, {"a": "A"}, out=sink)
    assert "A (a): started" in sink.text and "A (a): completed" in sink.text
    assert "\x1b" not in sink.text


# ----------------------------------------------------------------------------- executor

def d(name):
    return DesiredReplica(name=name, train_video_url=f"https://v/{name}.mp4", synthetic=True)


def plan_of(*changes):
    return Plan(changes=tuple(changes))


def test_order_renames_then_creates_then_deletes_and_a_replace_only_creates_its_marked_successor():
    plan = plan_of(
        Change(Action.DELETE, "old", "prune", replica_id="r-old"),
        Change(Action.REPLACE, "x", "failed", replica_id="r-x", desired=d("x")),
        Change(Action.CREATE, "y", "new", desired=d("y")),
        Change(Action.RENAME, "z", "pinned", replica_id="r-z"),
    )
    client = FakeClient({})
    report = execute(plan, client, known_ids=(), parallelism=2, emit=lambda s: None)
    assert report.ok
    kinds = [c[0] for c in client.calls if c[0] != "list-all"]
    assert kinds[0] == "rename" and set(kinds[1:3]) == {"create"} and set(kinds[3:]) == {"delete"}
    assert {c[1] for c in client.calls if c[0] == "delete"} == {"r-old"}  # the old half waits for training
    assert report.created == {"x": "r-new-x~next~r-x", "y": "r-new-y"}


def test_failed_create_stops_every_destructive_step_and_says_so():
    plan = plan_of(
        Change(Action.CREATE, "bad", "new", desired=d("bad")),
        Change(Action.REPLACE, "x", "failed", replica_id="r-x", desired=d("x")),
        Change(Action.DELETE, "old", "prune", replica_id="r-old"),
    )
    client = FakeClient({})
    report = execute(plan, client, known_ids=(), emit=lambda s: None)
    assert not report.ok and [o.change.name for o in report.failed] == ["bad"]
    assert not [c for c in client.calls if c[0] == "delete"]
    skipped = {(c.action, c.replica_id) for c, _ in report.skipped}
    assert skipped == {(Action.DELETE, "r-old")}


def test_a_replica_created_by_a_concurrent_apply_is_adopted_not_created_again():
    plan = plan_of(Change(Action.CREATE, "y", "new", desired=d("y")), Change(Action.CREATE, "z", "new", desired=d("z")),
                   Change(Action.DELETE, "old", "prune", replica_id="r-old"))
    client = FakeClient({})
    client.appeared = [RemoteReplica("r-other-run", "y"), RemoteReplica("r-known", "z")]
    report = execute(plan, client, known_ids={"r-known"}, emit=lambda s: None)
    assert [c for c in client.calls if c[0] == "create"] == [("create", "z")]
    assert report.ok and report.created == {"y": "r-other-run", "z": "r-new-z"}
    assert "another apply created r-other-run" in report.outcomes[0].detail


def test_after_creating_our_younger_duplicate_is_removed_and_the_oldest_adopted():
    class Racing(FakeClient):
        def list_replicas(self, *, ids=None, replica_type="user"):
            made = [c for c in self.calls if c[0] == "create"]
            self.calls.append(("list-all",))
            if not made:
                return []
            return [RemoteReplica("r-new-y", "y", created_at="2026-01-01T00:00:02Z"),
                    RemoteReplica("r-peer", "y", created_at="2026-01-01T00:00:01Z"),
                    RemoteReplica("r-new-z", "z", created_at="2026-01-01T00:00:01Z"),
                    RemoteReplica("r-peer-z", "z", created_at="2026-01-01T00:00:03Z")]

    plan = plan_of(Change(Action.CREATE, "y", "new", desired=d("y")), Change(Action.CREATE, "z", "new", desired=d("z")))
    client = Racing({})
    lines = []
    report = execute(plan, client, known_ids=(), emit=lines.append)
    assert [c for c in client.calls if c[0] == "delete"] == [("delete", "r-new-y")]  # only ever our own
    assert report.ok and report.created == {"y": "r-peer", "z": "r-new-z"}
    assert any("another apply created r-peer first; removed our duplicate r-new-y" in line for line in lines)


def test_a_stop_flag_stops_dispatching_at_once():
    stop = threading.Event()

    class Slow(FakeClient):
        def delete_replica(self, rid):
            super().delete_replica(rid)
            stop.set()  # Ctrl-C arrives while the first DELETE is in flight

    plan = plan_of(*(Change(Action.DELETE, f"o{i}", "prune", replica_id=f"r{i}") for i in range(10)))
    client = Slow({})
    report = execute(plan, client, known_ids=(), parallelism=1, emit=lambda s: None, stop=stop)
    assert [c for c in client.calls if c[0] == "delete"] == [("delete", "r0")]
    assert report.interrupted and len(report.skipped) == 9


def test_finish_replaces_swaps_ready_removes_failed_and_leaves_training():
    from reconciler.executor import InFlight, finish_replaces

    items = [InFlight("a", "r-a", "s-a", "training"), InFlight("b", "r-b", "s-b", "training"),
             InFlight("c", "r-c", "s-c", "training"), InFlight("e", "r-e", "s-e", "rename")]
    phases = {"s-a": Phase.READY, "s-b": Phase.FAILED, "s-c": Phase.PENDING, "s-e": Phase.READY}
    client = FakeClient({})
    report = finish_replaces(items, phases, client, emit=lambda s: None)
    calls = sorted(c for c in client.calls if c[0] in ("delete", "rename"))
    assert calls == [("delete", "r-a"), ("delete", "s-b"), ("rename", "s-a", "a"), ("rename", "s-e", "e")]
    assert [o.change.name for o in report.failed] == ["b"] and "r-b keeps the name" in report.failed[0].detail


def test_delete_of_an_already_deleted_replica_is_fine():
    class Gone(FakeClient):
        def delete_replica(self, rid):
            raise NotFoundError("gone")

    report = execute(plan_of(Change(Action.DELETE, "o", "prune", replica_id="r1")), Gone({}), known_ids=(),
                     emit=lambda s: None)
    assert report.ok and "already gone" in report.outcomes[0].detail


@pytest.mark.parametrize("text,seconds", [("90", 90), ("45s", 45), ("10m", 600), ("6h", 21600), ("1h30m", 5400),
                                          ("0.5s", 0.5)])
def test_durations(text, seconds):
    from reconciler.cli import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "-5", "h"])
def test_bad_durations(text):
    from reconciler.cli import parse_duration

    with pytest.raises(ValueError):
        parse_duration(text)


def test_tty_reporter_redraws_in_place_caps_rows_and_ticks_elapsed():
    from reconciler.progress import TtyReporter

    clock = FakeClock()
    out = _Sink()
    rep = TtyReporter(out, rows=3, clock=clock, sleep=clock.sleep)
    tracked = [Tracked(f"r{i}", f"id{i}", status="completed", phase=Phase.READY) for i in range(4)]
    tracked.append(Tracked("slow", "idS", status="started", progress=45.0))
    tracked.append(Tracked("bad\x1b[2J", "idB", status="error", phase=Phase.FAILED, error_message="blurry"))
    rep.update(tracked, 0.0, [])
    first = out.text
    assert first.index("bad\\x1b[2J") < first.index("slow") < first.index("r0")  # failed, training, then ready
    assert "[#########...........]  45.0%" in first and "... and 3 more (ready)" in first
    assert "\x1b[2J" not in first  # the hostile name is escaped
    rep.sleep(2.0)
    assert out.text[len(first):].count("\x1b[1F") == 2 and "elapsed 2s" in out.text
    rep.update(tracked, 2.0, [])
    assert "\x1b[5F" in out.text  # moved up over the 4 rows + footer it drew before
