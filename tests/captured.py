"""What the workflow tests share: a Console that records what a workflow prints, and a client on the simulator."""

from __future__ import annotations

from e2e import API_KEY

from reconciler.api.client import TavusClient
from reconciler.workflows.common import Console, WaitOptions


class Captured:
    def __init__(self):
        self.out: list[str] = []
        self.err: list[str] = []

    def console(self) -> Console:
        return Console(out=lambda text="", nl=True: self.out.append(text), err=self.err.append)

    @property
    def text(self) -> str:
        return "\n".join(self.out + self.err)


def sim_client(sim):
    """A client on the simulator, for a module's ``client`` fixture (``yield from sim_client(sim)``)."""
    with TavusClient(sim.url, API_KEY, backoff_base=0.01, create_settle=1.0) as c:
        yield c


FAST = WaitOptions(timeout=30, poll_interval=0.1)
