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
    declares_personas = ("a persona",)
    assert object_inventory(None, NS(objects={}, personas=())) == {}
    assert object_inventory(None, NS(objects={"a": ()}, personas=declares_personas)) == {"a": [NS(id="a-1")]}
    got = object_inventory(None, NS(objects={"a": (), "c": ()}, personas=declares_personas))
    assert set(got) == {"a", "c"} and (a.calls, b.calls, c.calls) == (2, 0, 1)


def test_without_declared_personas_the_accounts_are_listed_for_what_they_hold(monkeypatch):
    from reconciler.workflows.inventory import HOLDERS, known_ids

    a = _K("a")
    monkeypatch.setattr(planner, "generic_kinds", lambda: [a])
    client = NS(list_personas=lambda: [NS(persona_id="p1")])
    got = object_inventory(client, NS(objects={"a": ()}, personas=()))
    assert got == {"a": [NS(id="a-1")], HOLDERS: [NS(persona_id="p1")]}
    monkeypatch.setattr("reconciler.kinds.kind", lambda key: a)
    assert known_ids(got) == {"a": {"a-1"}}  # the personas are not the generic kinds' baseline
