"""reconciler.engine.outcome: a run's account and the one concurrent fan-out."""

from __future__ import annotations

import threading

from reconciler.engine.models import Action, Change
from reconciler.engine.outcome import ExecutionReport, Outcome, fan_out


def test_the_report_tells_failed_blocking_unknown_and_deleted_apart():
    delete = Change(Action.DELETE, "a", "pruned", object_id="r1")
    held = Outcome(Change(Action.UPDATE, "p", "drift", kind="personas"), False, "draft", held=True)
    unknown = Outcome(Change(Action.CREATE, "b", "declared"), False, "lost", unknown=True)
    report = ExecutionReport(outcomes=[Outcome(delete, True, "deleted r1"), held, unknown])
    assert report.failed == [held, unknown] and report.blocking == [unknown] and report.unknown == [unknown]
    assert report.deleted == {"r1"} and not report.ok
    assert ExecutionReport(outcomes=[Outcome(delete, True, "deleted r1")]).ok


def test_fan_out_stops_dispatching_once_the_flag_is_set():
    stop, seen = threading.Event(), []

    def fn(i):
        stop.set()
        return i

    left = fan_out(range(5), fn, seen.append, parallelism=1, stop=stop)
    assert seen == [0] and list(left) == [1, 2, 3, 4]
