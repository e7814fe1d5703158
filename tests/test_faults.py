"""reconciler.sim.faults: the fault configuration (validated, defaults restored) and its draws, seeded."""

from __future__ import annotations

import pytest

from reconciler.sim.faults import FAULT_DEFAULTS, _retry_after_text
from reconciler.sim.sim_account import ApiError
from reconciler.sim.simulator import Simulator


class Headers(dict):
    pass


class H:
    def __init__(self, key="k"):
        self.headers = Headers({"x-api-key": key})


def sim(**faults):
    return Simulator(api_key="k", stock_replicas=False, faults=faults)


def test_unknown_faults_are_refused_and_unset_ones_go_back_to_defaults():
    s = sim(server_error=0.5)
    with pytest.raises(ValueError, match="unknown fault"):
        s.set_faults(nope=1)
    assert s.set_faults(latency=0) == {**FAULT_DEFAULTS, "latency": 0.0}


def test_a_wrong_key_is_401_and_fail_next_counts_down():
    s = sim(fail_next=2)
    with pytest.raises(ApiError) as e:
        s._faults_for(H("bad"), "GET", ["v2", "x"])
    assert e.value.status == 401
    for _ in range(2):
        with pytest.raises(ApiError) as e:
            s._faults_for(H(), "GET", ["v2", "x"])
        assert e.value.status == 503
    assert s._faults_for(H(), "GET", ["v2", "x"]) == (False, 0.0, 0.0, False)


def test_create_faults_are_drawn_for_posts_only():
    s = sim(drop_create_response=1.0, gateway_504=1.0, slow_create=0.25)
    drop, late, slow, malformed = s._faults_for(H(), "POST", ["v2", "x"])
    assert drop and 1.0 <= late <= 1.5 and slow == 0.25 and not malformed
    assert s._faults_for(H(), "GET", ["v2", "x"]) == (False, 0.0, 0.0, False)


def test_seeded_draws_repeat():
    def draws():
        s = sim(server_error=0.5, fault_seed=7)
        out = []
        for _ in range(20):
            try:
                s._faults_for(H(), "GET", ["v2", "x"])
                out.append(200)
            except ApiError as e:
                out.append(e.status)
        return out

    first = draws()
    assert first == draws() and 200 in first and any(c >= 500 for c in first)


def test_the_token_bucket_answers_429_with_whole_seconds():
    s = sim(rate_limit_rps=0.5, rate_limit_burst=1)
    s._faults_for(H(), "GET", ["v2", "x"])
    with pytest.raises(ApiError) as e:
        s._faults_for(H(), "GET", ["v2", "x"])
    assert e.value.status == 429 and e.value.headers["Retry-After"] == "2"
    assert _retry_after_text(3.0) == "3" and _retry_after_text(0.5) == "0.5"
