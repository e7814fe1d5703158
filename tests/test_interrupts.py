"""reconciler.engine.interrupts: the stop flag, its exit codes, and signals turned into a flag inside the block."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from reconciler.engine.interrupts import Stop, Terminated, raise_terminated, stopping_on_signals
from reconciler.exitcodes import INTERRUPTED, TERMINATED


def test_the_first_signal_is_kept_and_sets_the_event():
    stop = Stop()
    assert not stop.is_set()
    stop(signal.SIGTERM)
    stop(signal.SIGINT)
    assert stop.is_set() and stop.event.is_set()
    assert (stop.signum, stop.exit_code, stop.what) == (signal.SIGTERM, TERMINATED, "SIGTERM")


def test_ctrl_c_and_a_stop_set_by_code_exit_130():
    stop = Stop()
    stop(signal.SIGINT)
    assert (stop.exit_code, stop.what) == (INTERRUPTED, "Ctrl-C")
    assert Stop().exit_code == INTERRUPTED


def test_terminated_unwinds_like_ctrl_c():
    with pytest.raises(KeyboardInterrupt):
        raise_terminated(signal.SIGTERM, None)
    assert issubclass(Terminated, KeyboardInterrupt)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals: main thread")
def test_inside_the_block_a_signal_only_sets_the_flag_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    stop = Stop()
    with stopping_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to the main thread before kill returns (POSIX)
        assert stop.event.wait(5)
    assert stop.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_nothing_is_installed():
    seen = []

    def worker():
        with stopping_on_signals(Stop()) as s:
            seen.append((s, signal.getsignal(signal.SIGINT)))

    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=worker)
    t.start()
    t.join(5)
    assert seen and seen[0][1] is before
