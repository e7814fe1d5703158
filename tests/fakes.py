"""In-memory fakes shared by the waiter and executor tests: a scripted client and a fake clock."""

from __future__ import annotations

import threading

from reconciler.engine.waiter import Waiter
from reconciler.errors import ApiError, BadRequestError, NotFoundError
from reconciler.kinds.replicas.kind import REPLICAS
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views.progress import LineReporter


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


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def run_wait(client, targets, timeout=100.0, poll=10.0, out=None):
    clock = FakeClock()
    reporter = LineReporter(out if out is not None else _Sink(), clock=clock)
    result = Waiter(client, reporter, REPLICAS, poll_interval=poll, clock=clock,
                    sleep=clock.sleep).wait(targets, timeout=timeout)
    return result, clock
