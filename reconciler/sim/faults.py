"""The simulator's fault injection, drawn once per API request at the HTTP layer (so every kind's routes get
the same faults): latency, auth, ``fail_next``, a token-bucket rate limit, random 429/5xx, malformed bodies,
list errors, and for creates dropped answers, 504-then-create and slow answers."""

from __future__ import annotations

import math
import random
import time
from typing import Any

from reconciler.sim.sim_account import ApiError

FAULT_DEFAULTS: dict[str, Any] = {
    "rate_limit": 0.0,
    "retry_after": None,
    "rate_limit_rps": 0.0,
    "rate_limit_burst": None,
    "server_error": 0.0,
    "latency": 0.0,
    "drop_create_response": 0.0,
    "fail_next": 0,
    "malformed": 0.0,
    "gateway_504": 0.0,  # share of creates answered 504 at once while the replica lands 1-1.5 s later
    "slow_create": 0.0,  # seconds a create's answer is held back (the replica is created at once)
    "list_error": 0.0,  # share of list requests answered 503
    "fault_seed": None,
}


class _FaultInjection:
    """The fault configuration and its draws (a mixin of :class:`reconciler.sim.simulator.Simulator`, which
    holds ``_lock``, ``_faults``, ``_rng``, ``_bucket`` and ``api_key``)."""

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault configuration (unset keys go back to their defaults); returns it."""
        unknown = set(faults) - set(FAULT_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        config = dict(FAULT_DEFAULTS)
        for key, value in faults.items():
            if value is None or key == "retry_after":
                config[key] = value
            elif key in ("fail_next", "fault_seed"):
                config[key] = int(value)
            else:
                config[key] = float(value)
        with self._lock:
            self._faults = config
            self._rng = random.Random(config["fault_seed"])
            self._bucket = (config["rate_limit_burst"] or max(1.0, config["rate_limit_rps"]), time.monotonic())
            return dict(config)

    @property
    def faults(self) -> dict[str, Any]:
        """A copy of the current fault configuration."""
        with self._lock:
            return dict(self._faults)

    def _take_token(self, rps: float, burst: float | None) -> float:
        """Token bucket of ``rps`` per second: 0 when a token was taken, else the seconds until one is due.
        Call with the lock held."""
        if rps <= 0:
            return 0.0
        capacity = burst or max(1.0, rps)
        tokens, at = self._bucket
        now = time.monotonic()
        tokens = min(capacity, tokens + (now - at) * rps)
        if tokens >= 1:
            self._bucket = (tokens - 1, now)
            return 0.0
        self._bucket = (tokens, now)
        return (1 - tokens) / rps

    def _draw(self, probability: float) -> bool:
        """True with ``probability`` (no RNG draw when it is 0, so seeded runs stay stable)."""
        return probability > 0 and self._rng.random() < probability

    def _faults_for(self, h: Any, method: str, parts: list[str]) -> tuple[bool, float, float, bool]:
        """Latency, auth and the configured faults for one API request: raises the error answer a fault
        injects, else returns (drop the answer, 504-then-create delay, create answer delay, malformed body)."""
        latency = self._faults["latency"]
        if latency > 0:
            time.sleep(latency)
        if h.headers.get("x-api-key") != self.api_key:
            raise ApiError(401, "Invalid access token")
        with self._lock:
            f = self._faults
            if f["fail_next"] > 0:
                f["fail_next"] -= 1
                raise ApiError(503, "service unavailable")
            wait = self._take_token(f["rate_limit_rps"], f["rate_limit_burst"])
            if wait > 0:
                ra = f["retry_after"] if f["retry_after"] is not None else max(1, math.ceil(wait))
                raise ApiError(429, "rate limit exceeded", {"Retry-After": _retry_after_text(ra)})
            if self._draw(f["rate_limit"]):
                ra = f["retry_after"]
                headers = {} if ra is None else {"Retry-After": _retry_after_text(ra)}
                raise ApiError(429, "rate limited", headers)
            if self._draw(f["server_error"]):
                code = self._rng.choice((500, 502, 503))
                raise ApiError(code, {500: "internal server error", 502: "bad gateway",
                                      503: "service unavailable"}[code])
            if method == "GET" and self._draw(f["malformed"]):
                return False, 0.0, 0.0, True
            if method == "GET" and len(parts) == 2 and self._draw(f["list_error"]):
                raise ApiError(503, "service unavailable")
            drop = method == "POST" and self._draw(f["drop_create_response"])
            late = self._rng.uniform(1.0, 1.5) if method == "POST" and self._draw(f["gateway_504"]) else 0.0
            slow = f["slow_create"] if method == "POST" else 0.0
        return drop, late, slow, False


def _retry_after_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
