"""reconciler.workflows.inventory: the generic kinds the file declares are listed, each once, the others not."""

from types import SimpleNamespace as NS

import reconciler.engine.planner as planner
from reconciler.workflows.inventory import object_inventory


class _K:
    def __init__(self, key):
        self.key, self.calls = key, 0

    def list(self, client):
        self.calls += 1
        return [NS(id=f"{self.key}-1")]

    def remote_id(self, o):
        return o.id


def test_only_declared_generic_kinds_are_listed(monkeypatch):
    a, b, c = _K("a"), _K("b"), _K("c")
    monkeypatch.setattr(planner, "generic_kinds", lambda: [a, b, c])
    assert object_inventory(None, NS(objects={})) == {}
    assert object_inventory(None, NS(objects={"a": ()})) == {"a": [NS(id="a-1")]}
    got = object_inventory(None, NS(objects={"a": (), "c": ()}))
    assert set(got) == {"a", "c"} and (a.calls, b.calls, c.calls) == (2, 0, 1)
