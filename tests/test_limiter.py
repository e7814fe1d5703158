"""The adaptive (AIMD) concurrency limiter: deterministic tests with a fake clock and synthetic outcomes."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.api import limiter as lm
from reconciler.api.limiter import FAILURE, OK, OVERLOAD, AIMDLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def busy(lim: AIMDLimiter) -> None:
    """Pretend the limit is what holds the work back (every slot taken), as during a large fan-out."""
    lim.in_flight = lim.limit


def test_slow_start_then_halves_on_429_then_grows_additively():
    clock = Clock()
    lim = AIMDLimiter(64, initial=8, clock=clock)
    assert lim.limit == 8
    for _ in range(8):  # one window of clean, fast answers doubles the limit (slow start)
        busy(lim)
        lim.observe(OK, started=clock.now, latency=0.05)
    assert lim.limit == 16
    clock.now += 1
    lim.observe(OVERLOAD, started=clock.now - 0.05, latency=0.05)
    assert lim.limit == 8
    for _ in range(9):  # after a cut: about one more per window of answers, not one per answer
        busy(lim)
        lim.observe(OK, started=clock.now, latency=0.05)
    assert lim.limit == 9


def test_one_cut_per_window_answers_to_older_requests_do_not_cut_again():
    clock = Clock()
    lim = AIMDLimiter(64, initial=32, clock=clock)
    sent = clock.now
    clock.now += 0.1
    for _ in range(20):  # twenty 429s to requests sent together: one halving, not twenty
        lim.observe(OVERLOAD, started=sent, latency=0.1)
    assert lim.limit == 16
    clock.now += 0.1
    lim.observe(FAILURE, started=clock.now - 0.01, latency=0.01)  # a timeout of a request sent after the cut
    assert lim.limit == 8


@pytest.mark.parametrize("outcome", [OVERLOAD, FAILURE])
def test_backs_off_to_the_floor_never_below(outcome):
    clock = Clock()
    lim = AIMDLimiter(64, initial=8, clock=clock)
    for _ in range(10):
        clock.now += 1
        lim.observe(outcome, started=clock.now, latency=0.01)
    assert lim.limit == 1


def test_never_grows_beyond_the_ceiling():
    clock = Clock()
    lim = AIMDLimiter(5, initial=8, clock=clock)
    assert lim.limit == 5
    for _ in range(100):
        busy(lim)
        lim.observe(OK, started=clock.now, latency=0.01)
    assert lim.limit == 5


def test_slow_answers_and_idle_slots_do_not_grow_the_limit():
    clock = Clock()
    lim = AIMDLimiter(64, initial=8, clock=clock)
    busy(lim)
    lim.observe(OK, started=clock.now, latency=0.05)
    assert lim.limit == 9
    for _ in range(10):
        busy(lim)
        lim.observe(OK, started=clock.now, latency=5.0)  # 100x slower than the fastest: the server is struggling
    assert lim.limit == 9
    lim.in_flight = 1  # sequential calls give no evidence that more at once would be fine
    for _ in range(10):
        lim.observe(OK, started=clock.now, latency=0.05)
    assert lim.limit == 9


def test_retry_after_pauses_dispatch_for_that_long():
    clock = Clock()
    lim = AIMDLimiter(8, initial=4, clock=clock)
    lim.observe(OVERLOAD, started=clock.now, latency=0.01, retry_after=2.0)
    assert lim.pause_remaining() == pytest.approx(2.0)
    clock.now += 1.5
    assert lim.pause_remaining() == pytest.approx(0.5)
    clock.now += 1.0
    assert lim.pause_remaining() == 0
    lim.observe(OVERLOAD, started=clock.now, latency=0.01, retry_after=10**9)  # a hostile value is capped
    assert lim.pause_remaining() == pytest.approx(lim.max_pause)


def test_map_during_a_pause_starts_nothing_until_it_ends():
    clock = Clock()
    lim = AIMDLimiter(8, initial=4, clock=clock)
    lim.observe(OVERLOAD, started=clock.now, latency=0.01, retry_after=30.0)
    started = []
    run = lim.map(started.append, range(3))
    result: list = []
    t = threading.Thread(target=lambda: result.extend(run.results()))
    t.start()
    t.join(0.3)
    assert started == [] and t.is_alive()
    clock.now += 31  # the pause is over: the run's next wake-up (<= 0.5 s) starts the work
    t.join(10)
    assert not t.is_alive() and sorted(started) == [0, 1, 2]
    lim.close()


def test_map_never_exceeds_the_limit_and_results_keep_input_order():
    lim = AIMDLimiter(6, initial=3)
    gate = threading.Semaphore(0)
    peak = []
    lock = threading.Lock()
    running = [0]

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            peak.append(running[0])
        gate.acquire()
        with lock:
            running[0] -= 1
        return i * i

    out: list = []
    t = threading.Thread(target=lambda: out.extend(lim.map(work, range(40)).results()))
    t.start()
    for _ in range(40):
        gate.release()
    t.join(20)
    assert out == [i * i for i in range(40)]
    assert max(peak) <= 3  # no answer reported: the limit stayed where it started
    assert lim.max_in_flight <= 3 and lim.in_flight == 0
    lim.close()


def test_client_reports_reach_the_limiter_of_the_task_thread():
    """A 429 seen inside a task (e.g. retried by the client) backs off the fan-out the task belongs to."""
    lim, other = AIMDLimiter(64, initial=16), AIMDLimiter(64, initial=16)

    def task(i: int) -> None:
        lm.report(OVERLOAD, started=0.0, latency=0.01, default=other)  # sent together: one cut

    lim.map(task, range(4)).results()
    assert lim.limit == 8 and other.limit == 16
    lm.report(OVERLOAD, started=0.0, latency=0.01, default=other)  # no task in this thread: the default
    assert other.limit == 8
    lim.close()


def test_ceiling_holds_under_many_concurrent_tasks_with_growth():
    lim = AIMDLimiter(10, initial=2)
    lock = threading.Lock()
    running = [0]
    peak = [0]

    def work(i: int) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        lm.report(OK, started=lm.current()._clock(), latency=0.0)
        with lock:
            running[0] -= 1

    lim.map(work, range(500)).results()
    assert peak[0] <= 10 and lim.max_in_flight <= 10
    lim.close()


def test_should_stop_starts_nothing_more_and_running_work_finishes():
    lim = AIMDLimiter(2, initial=2)
    stop = threading.Event()
    release = threading.Event()
    began = threading.Semaphore(0)

    def work(i: int) -> int:
        began.release()
        release.wait(10)
        return i

    run = lim.map(work, range(10), should_stop=stop)
    got = []
    t = threading.Thread(target=lambda: got.extend(item for item, _ in run))
    t.start()
    assert began.acquire(timeout=10) and began.acquire(timeout=10)  # both slots taken
    stop.set()
    release.set()
    t.join(10)
    assert sorted(got) == [0, 1]  # what had started finished; nothing started after the stop
    assert run.not_started == list(range(2, 10))
    lim.close()


def test_should_stop_callable_before_start_runs_nothing():
    lim = AIMDLimiter(4)
    ran = []
    run = lim.map(ran.append, range(5), should_stop=lambda: True)
    assert list(run) == [] and ran == [] and run.not_started == [0, 1, 2, 3, 4]


def test_a_failing_task_stops_dispatch_and_is_raised_after_running_work_ends():
    lim = AIMDLimiter(1, initial=1)
    ran = []

    def work(i: int) -> int:
        ran.append(i)
        if i == 2:
            raise ValueError("boom")
        return i

    with pytest.raises(ValueError, match="boom"):
        lim.map(work, range(10)).results()
    assert ran == [0, 1, 2]
    assert lim.in_flight == 0
    lim.close()


def test_nested_map_on_the_same_limiter_runs_inline_instead_of_deadlocking():
    lim = AIMDLimiter(2, initial=1)

    def outer(i: int) -> list[int]:
        return lim.map(lambda j: i * 10 + j, range(3)).results()

    assert lim.map(outer, range(3)).results() == [[0, 1, 2], [10, 11, 12], [20, 21, 22]]
    lim.close()


def test_drain_after_interrupt_returns_started_work_and_lists_the_rest():
    lim = AIMDLimiter(3, initial=3)
    release = threading.Event()
    run = lim.map(lambda i: release.wait(10) and i, range(8))
    first = []
    t = threading.Thread(target=lambda: first.append(next(run)))
    t.start()
    release.set()
    t.join(10)
    rest = run.drain()
    assert len(first) + len(rest) == 3
    assert run.not_started == list(range(3, 8))
    lim.close()


def test_prestart_starts_idle_workers_until_told_to_stop_and_they_then_run_the_work():
    lim = AIMDLimiter(6, initial=6)
    stop = threading.Event()
    lim.prestart(stop)
    deadline = time.monotonic() + 10
    while len(lim._workers()._threads) < 6 and time.monotonic() < deadline:
        time.sleep(0.001)  # a condition with a deadline: the prestart thread is running
    assert len(lim._workers()._threads) == 6  # never more than the ceiling
    stop.set()
    assert lim.map(lambda x: x * 2, range(20)).results() == [x * 2 for x in range(20)]
    assert len(lim._workers()._threads) == 6  # the work ran on the workers started ahead
    lim.close()
    assert lim._pool is None


def test_prestart_stops_at_once_when_already_told():
    lim = AIMDLimiter(50, initial=50)
    stop = threading.Event()
    stop.set()
    lim.prestart(stop)
    assert lim.map(lambda x: x, [1, 2]).results() == [1, 2]
    assert len(lim._workers()._threads) <= 3  # the two tasks' workers, and at most one started ahead
    lim.close()


def test_workers_run_every_task_with_fewer_threads_than_tasks_and_close_waits_for_them():
    from reconciler.api.limiter import _Workers

    done = []
    workers = _Workers(3, "t")
    for i in range(50):
        workers.submit(lambda i=i: done.append(i))
    workers.close()
    assert sorted(done) == list(range(50))
    assert len(workers._threads) <= 3
    try:
        workers.submit(lambda: None)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a closed pool took work")


def test_a_limiter_dropped_without_close_ends_its_threads():
    import gc

    before = threading.active_count()
    lim = AIMDLimiter(8, initial=8)
    assert lim.map(lambda x: x, range(30)).results() == list(range(30))
    assert threading.active_count() > before
    del lim
    gc.collect()
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.005)  # a condition with a deadline: the workers see the pool is gone
    assert threading.active_count() == before
