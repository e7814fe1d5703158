"""Adaptive concurrency (AIMD, as TCP does) for everything the tool sends in parallel.

Tavus does not document its rate limits, so no fixed parallelism is right: :class:`AIMDLimiter` starts at a
moderate number of requests in flight, grows while answers come back fast and clean (one more per answer
until the first sign of overload, "slow start"; then one more per window of answers), halves on a 429, a
5xx, a timeout or a dropped connection (once per window: the answers to requests sent before the cut do not
cut again), and pauses dispatching for as long as a ``Retry-After`` asks. The ceiling is never exceeded.
A server that said ``Retry-After: T`` measures its limit over about T seconds, far longer than one answer
takes, so after such a cut the limit grows by at most one every T seconds (TCP's "one per round trip" with
the server's own feedback period as the round trip); otherwise it would refill to far above the sustainable
rate between two 429s and every refill would end in a burst of them.

:meth:`AIMDLimiter.map` is the one way work is fanned out. It dispatches lazily (never more started than the
current limit allows), stops starting work as soon as ``should_stop`` says so, and streams results.

The HTTP client reports every attempt with :func:`report`: the report goes to the limiter whose task runs in
the calling thread (so a 429 that the client retries internally still backs off the fan-out it belongs to),
or to the ``default`` limiter given.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

OK, OVERLOAD, FAILURE = "ok", "overload", "failure"
_local = threading.local()


def current() -> AIMDLimiter | None:
    """The limiter whose task runs in this thread, if any."""
    return getattr(_local, "limiter", None)


def report(outcome: str, *, started: float, latency: float, retry_after: float | None = None,
           default: AIMDLimiter | None = None) -> None:
    """Tell the limiter in charge of this thread (else ``default``) how one request went."""
    limiter = current() or default
    if limiter is not None:
        limiter.observe(outcome, started=started, latency=latency, retry_after=retry_after)


def backoff(delay: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait ``delay`` seconds before a retry. A task of a limiter gives its slot back while it waits and takes
    one again only when the limit (cut since, most likely) allows, ahead of work not yet started: retries
    must not refire all at once above the limit that their 429s just lowered."""
    limiter = current()
    if limiter is None:
        sleep(delay)
        return
    with limiter._cond:
        limiter.in_flight -= 1
        limiter._waiting += 1
        limiter._cond.notify_all()
    try:
        sleep(delay)
    finally:
        with limiter._cond:
            while limiter.in_flight >= int(limiter._limit) or limiter._clock() < limiter._paused_until:
                limiter._cond.wait(min(0.5, max(0.01, limiter._paused_until - limiter._clock())))
            limiter._waiting -= 1
            limiter.in_flight += 1


class AIMDLimiter:
    """A thread-safe additive-increase / multiplicative-decrease concurrency limit.

    ``clock`` (monotonic seconds) is injectable so tests are deterministic. ``slow_factor``: an answer slower
    than that many times the fastest recent one (plus 50 ms) is not "fast" and does not grow the limit.
    """

    def __init__(self, ceiling: int, *, initial: int = 8, floor: int = 1, backoff: float = 0.5,
                 slow_factor: float = 4.0, max_pause: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.ceiling = max(1, int(ceiling))
        self.floor = max(1, min(int(floor), self.ceiling))
        self.backoff = backoff
        self.slow_factor = slow_factor
        self.max_pause = max_pause
        self._clock = clock
        self._limit = float(max(self.floor, min(int(initial), self.ceiling)))
        self._threshold = float(self.ceiling)  # slow start below this, additive increase above
        self._last_cut = -float("inf")
        self._credit = 0.0  # additive increase: fractions of one more slot earned by answers
        self._period = 0.0  # the last Retry-After: after a cut, grow at most one per period
        self._grow_at = -float("inf")
        self._paused_until = -float("inf")
        self._fastest: float | None = None
        self._cond = threading.Condition()
        self._pool: _Workers | None = None
        self.in_flight = 0
        self._waiting = 0  # tasks waiting to retry (see backoff): they go before work not yet started
        self.max_in_flight = 0
        self.counts = {OK: 0, OVERLOAD: 0, FAILURE: 0}

    # ------------------------------------------------------------------------------ state

    @property
    def limit(self) -> int:
        with self._cond:
            return int(self._limit)

    def pause_remaining(self) -> float:
        with self._cond:
            return max(0.0, self._paused_until - self._clock())

    def __repr__(self) -> str:
        return f"AIMDLimiter(limit={self.limit}, ceiling={self.ceiling}, in_flight={self.in_flight})"

    def observe(self, outcome: str, *, started: float, latency: float, retry_after: float | None = None) -> None:
        """One request's outcome: ``OK`` (any answer that is not overload), ``OVERLOAD`` (429) or ``FAILURE``
        (5xx, timeout, connection error). ``started`` is the clock time the request was sent."""
        with self._cond:
            now = self._clock()
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
            if outcome == OK:
                if self._fastest is None or latency < self._fastest:
                    self._fastest = latency
                else:  # forget a fast answer slowly, so a server that got slower for good is re-learnt
                    self._fastest += (latency - self._fastest) * 0.02
                fast = latency <= self._fastest * self.slow_factor + 0.05
                busy = self.in_flight >= int(self._limit) - 1  # the limit is what held us back
                if fast and busy and started >= self._last_cut:
                    if self._limit < self._threshold:
                        self._limit = min(float(self.ceiling), self._limit + 1.0)
                    else:
                        self._credit += 1.0 / self._limit
                        if self._credit >= 1.0 and now >= self._grow_at:
                            self._limit = min(float(self.ceiling), self._limit + 1.0)
                            self._credit = 0.0
                            self._grow_at = now + self._period
            else:
                if started >= self._last_cut:  # one cut per window of requests
                    self._limit = max(float(self.floor), self._limit * self.backoff)
                    self._threshold = self._limit
                    self._last_cut = now
                if retry_after is not None and retry_after > 0:
                    self._paused_until = max(self._paused_until, now + min(retry_after, self.max_pause))
                    self._period = min(retry_after, self.max_pause)
                    self._grow_at = self._paused_until + self._period
            self._cond.notify_all()

    # ------------------------------------------------------------------------------ fan-out

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *,
            should_stop: Callable[[], bool] | threading.Event | None = None, window: int | None = None) -> Run:
        """Run ``fn`` over ``items`` within the limit. Iterate the returned :class:`Run` for ``(item, result)``
        in completion order, or call :meth:`Run.results` for the results in input order. ``window``: an item
        starts only while it is fewer than that many places past the first item not yet returned (a sliding
        window, as TCP's: a consumer checking results in order never has more than ``window`` to discard)."""
        run = Run(self, fn, list(items), should_stop)
        run._window = window
        return run

    def close(self) -> None:
        with self._cond:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def prestart(self, until: threading.Event) -> None:
        """Start idle worker threads in the background, one by one up to the ceiling, until ``until`` is set:
        while a listing's first page is on the wire, so that its answer sends every other page at once
        instead of starting a thread per page first (a thread start costs as much CPU as a request)."""
        pool = self._workers()

        def spawn() -> None:
            for n in range(1, self.ceiling + 1):
                if until.is_set() or not pool.grow(n):
                    return

        threading.Thread(target=spawn, name="limiter-prestart", daemon=True).start()

    def __enter__(self) -> AIMDLimiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _workers(self) -> _Workers:
        with self._cond:
            if self._pool is None:
                self._pool = _Workers(self.ceiling, "limiter")
            return self._pool

    def _submit(self, task: Callable[[], None]) -> None:
        self._workers().submit(task)


_LIVE: weakref.WeakSet[_Workers] = weakref.WeakSet()


def _close_live() -> None:
    """At interpreter exit (before daemon threads are cut): work already started finishes, as a
    ThreadPoolExecutor's would (the CLI ends with os._exit after its last line and skips this)."""
    for workers in list(_LIVE):
        workers.close()


if hasattr(threading, "_register_atexit"):  # what concurrent.futures uses; runs before threads are joined
    threading._register_atexit(_close_live)


class _Workers:
    """Threads running submitted tasks, started as needed up to ``most`` (or ahead of need, :meth:`grow`) and
    kept until :meth:`close`, which waits for the tasks already submitted. A pool nobody holds any more (a
    limiter that was never closed) ends its threads, as a ThreadPoolExecutor does: they hold it weakly."""

    def __init__(self, most: int, name: str):
        _LIVE.add(self)
        self._most, self._name = max(1, most), name
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0  # workers free for a task not yet handed to them
        self._closed = False
        tasks, threads = self._tasks, self._threads

        def release(_ref: Any) -> None:
            for _ in threads:
                tasks.put(None)

        self._ref = weakref.ref(self, release)

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot start work after close")
            self._tasks.put(task)
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self._most:
                self._spawn()
            # else a busy worker takes it when its task is done

    def grow(self, n: int) -> bool:
        """At least ``min(n, most)`` workers (the new ones idle); False once closed."""
        with self._lock:
            while not self._closed and len(self._threads) < min(n, self._most):
                self._idle += 1
                self._spawn()
            return not self._closed

    def _spawn(self) -> None:  # the lock held
        thread = threading.Thread(target=_work, args=(self._tasks, self._ref), daemon=True,
                                  name=f"{self._name}-{len(self._threads)}")
        self._threads.append(thread)
        thread.start()

    def _finished_one(self) -> None:
        with self._lock:
            self._idle += 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(None)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()


def _work(tasks: queue.SimpleQueue, ref: weakref.ref) -> None:
    """A worker: tasks until a None (close, or the pool was dropped)."""
    while True:
        task = tasks.get()
        if task is None:
            return
        with contextlib.suppress(BaseException):  # a task reports its own errors (Run._task); the worker goes on
            task()
        del task
        pool = ref()
        if pool is None:
            return
        pool._finished_one()
        del pool


class Run:
    """One fan-out. Not thread-safe itself: iterate it from one thread. Stopping (``should_stop``,
    :meth:`stop`, or a task raising) starts nothing more; work already started always finishes."""

    def __init__(self, limiter: AIMDLimiter, fn: Callable[[Any], Any], items: list[Any], should_stop):
        self._lim = limiter
        self._fn = fn
        self._items = items
        self._next = 0  # index of the next item to start
        self._running = 0
        self._done: deque[tuple[int, bool, Any]] = deque()
        self._stopped = False
        if should_stop is None:
            self._should_stop: Callable[[], bool] = lambda: False
        elif hasattr(should_stop, "is_set"):
            self._should_stop = should_stop.is_set
        else:
            self._should_stop = should_stop
        # a task of this limiter fanning out again on it would wait for its own slot: run such work inline
        self._inline = current() is limiter
        self._window: int | None = None
        self._low = 0  # the first index not yet returned
        self._returned: set[int] = set()

    @property
    def not_started(self) -> list[Any]:
        """Items never started (after a stop)."""
        return self._items[self._next:]

    def stop(self) -> None:
        self._stopped = True

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self

    def __next__(self) -> tuple[Any, Any]:
        index, ok, value = self._next_done()
        if not ok:
            self._stopped = True
            for _ in self.drain():  # what has started finishes before the error is raised
                pass
            raise value
        return self._items[index], value

    def drain(self) -> list[tuple[Any, Any]]:
        """Start nothing more; wait for what is running. ``(item, result)`` of every started item not yet
        returned (a task's exception as its result)."""
        self._stopped = True
        out = []
        while True:
            try:
                index, _ok, value = self._next_done()
            except StopIteration:
                return out
            out.append((self._items[index], value))

    def results(self) -> list[Any]:
        """The results in input order (of the items started, should the run be stopped); a task's exception
        is raised once the work already running has finished."""
        got: dict[int, Any] = {}
        while True:
            try:
                index, ok, value = self._next_done()
            except StopIteration:
                return [got[i] for i in sorted(got)]
            if not ok:
                self.drain()
                raise value
            got[index] = value

    # ------------------------------------------------------------------------------ internals

    def _next_done(self) -> tuple[int, bool, Any]:
        lim = self._lim
        if self._inline:
            return self._run_inline()
        with lim._cond:
            while True:
                if self._done:
                    done = self._done.popleft()
                    self._returned.add(done[0])
                    while self._low in self._returned:
                        self._returned.discard(self._low)
                        self._low += 1
                    return done
                if not self._stopped and self._should_stop():
                    self._stopped = True
                more = not self._stopped and self._next < len(self._items)
                if not more and self._running == 0:
                    raise StopIteration
                wait = 0.5
                if more:
                    pause = lim._paused_until - lim._clock()
                    if pause > 0:
                        wait = min(wait, pause)
                    elif lim.in_flight < int(lim._limit) and not lim._waiting and (
                            self._window is None or self._next < self._low + self._window):
                        self._start(self._next)
                        continue
                lim._cond.wait(wait)

    def _start(self, index: int) -> None:
        """Start item ``index`` (called with the limiter's lock held)."""
        lim = self._lim
        lim.in_flight += 1
        lim.max_in_flight = max(lim.max_in_flight, lim.in_flight)
        self._running += 1
        self._next = index + 1
        try:
            lim._submit(lambda: self._task(index))
        except BaseException:
            lim.in_flight -= 1
            self._running -= 1
            self._next = index
            raise

    def _task(self, index: int) -> None:
        lim = self._lim
        _local.limiter = lim
        try:
            result = (index, True, self._fn(self._items[index]))
        except BaseException as e:  # handed to the consuming thread
            result = (index, False, e)
        finally:
            _local.limiter = None
        with lim._cond:
            lim.in_flight -= 1
            self._running -= 1
            self._done.append(result)
            lim._cond.notify_all()

    def _run_inline(self) -> tuple[int, bool, Any]:
        if self._stopped or self._should_stop() or self._next >= len(self._items):
            self._stopped = True
            raise StopIteration
        index = self._next
        self._next += 1
        try:
            return index, True, self._fn(self._items[index])
        except Exception as e:
            return index, False, e
