"""The personas' resolver: declared persona -> remote persona(s); unmanaged and released; output ids."""

from __future__ import annotations

from reconciler.engine.models import Config, Settings
from reconciler.kinds.personas.models import DesiredPersona, RemotePersona
from reconciler.kinds.personas.resolve import match_personas, persona_outputs, undeclared_personas


def p(pid, name, persona_type="user"):
    return RemotePersona(pid, name, persona_type=persona_type)


def config(*personas, removed_names=(), removed_ids=()):
    return Config("f.yaml", replicas=(), settings=Settings(name_prefix="acme-"), personas=tuple(personas),
                  removed_names=removed_names, removed_ids=removed_ids)


ANNA, BOB, PIN = (DesiredPersona("acme-anna", {}), DesiredPersona("acme-bob", {}),
                  DesiredPersona("acme-pin", {}, persona_id="p9"))


def test_by_name_in_scope_by_pin_and_never_stock():
    remote = [p("p1", "acme-anna"), p("p2", "acme-bob"), p("p3", "acme-bob"), p("p9", "other"),
              p("p4", "acme-anna", persona_type="system"), p("p5", "acme-pin")]
    found = match_personas(config(ANNA, BOB, PIN), remote)
    assert list(found) == ["acme-anna", "acme-bob", "acme-pin"]  # file order
    assert [x.persona_id for x in found["acme-anna"]] == ["p1"]  # the stock one never matches by name
    assert [x.persona_id for x in found["acme-bob"]] == ["p2", "p3"]  # ambiguous: both
    assert [x.persona_id for x in found["acme-pin"]] == ["p9"]  # the pin wins over the name


def test_undeclared_are_unmanaged_or_released_never_stock_or_out_of_scope():
    remote = [p("p1", "acme-anna"), p("p7", "acme-zed"), p("p6", "acme-gone"), p("p8", "acme-byid"),
              p("p4", "acme-stock", persona_type="system"), p("p5", "elsewhere")]
    cfg = config(ANNA, removed_names=("acme-gone",), removed_ids=("p8",))
    unmanaged, released = undeclared_personas(cfg, remote, match_personas(cfg, remote))
    assert [x.persona_id for x in unmanaged] == ["p7"]
    assert [x.persona_id for x in released] == ["p8", "p6"]  # sorted by name: acme-byid, acme-gone


def test_outputs_name_the_absent_and_the_ambiguous():
    remote = [p("p1", "acme-anna"), p("p2", "acme-bob"), p("p3", "acme-bob")]
    found, notes = persona_outputs(config(ANNA, BOB, DesiredPersona("acme-cat", {})), remote)
    assert found == {"acme-anna": "p1"}
    assert notes == ["acme-bob: ambiguous (p2, p3 share the name)", "acme-cat: persona not created yet"]
