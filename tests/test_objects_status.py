"""status, output and export for the generic kinds (reconciler/workflows/objects_status.py), over guardrails and
objectives listed from the simulator's handlers."""

from __future__ import annotations

from test_guardrails_engine import Both

from reconciler.engine.models import Config, Settings
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.guardrails.kind import GUARDRAILS
from reconciler.kinds.guardrails.models import DesiredGuardrail
from reconciler.kinds.objectives import sim as osim
from reconciler.kinds.objectives.kind import OBJECTIVES
from reconciler.kinds.objectives.models import DesiredObjectives
from reconciler.workflows import objects_status

KINDS = [GUARDRAILS, OBJECTIVES]
G = DesiredGuardrail("acme_no_salary", {"guardrail_prompt": "Never discuss salary."})
OBJ = DesiredObjectives("acme-screening", ({"objective_name": "a", "objective_prompt": "Ask."},))


def config(**objects):
    return Config(path="f.yaml", replicas=(), settings=Settings(name_prefix="acme-"), objects=objects)


def listed(client):
    return {k.key: k.list(client) for k in KINDS}


def test_status_rows_present_absent_and_unmanaged_in_scope():
    client = Both()
    gid = gsim.add_guardrail(client.sim, guardrail_name="acme_no_salary", guardrail_prompt="p")["uuid"]
    other = gsim.add_guardrail(client.sim, guardrail_name="acme_other", guardrail_prompt="p")["uuid"]
    gsim.add_guardrail(client.sim, guardrail_name="beta_x", guardrail_prompt="p")  # out of scope
    rows = objects_status.status_rows(KINDS, config(guardrails=(G,), objectives=(OBJ,)), listed(client))
    assert rows == [
        {"kind": "guardrail", "name": "acme_no_salary", "id": gid, "phase": "present", "managed": True},
        {"kind": "objectives set", "name": "acme-screening", "id": None, "phase": "absent", "managed": True},
        {"kind": "guardrail", "name": "acme_other", "id": other, "phase": "present", "managed": False}]
    lines = objects_status.status_lines(rows)
    assert lines[1] == "OBJECTS" and lines[3] == "  objectives set acme-screening  absent"
    assert lines[4] == f"  guardrail acme_other  {other} (unmanaged)"


def test_output_ids_and_what_is_absent():
    client = Both()
    oid = osim.add_objectives(client.sim, "acme-screening", [{"objective_name": "a", "objective_prompt": "p"}])[
        "objectives_id"]
    cfg = config(guardrails=(G,), objectives=(OBJ,))
    found = objects_status.output_ids(KINDS, cfg, listed(client))
    assert found == {"objectives set:acme-screening": oid}
    assert objects_status.absent(cfg, found) == ["guardrail:acme_no_salary"]


def test_export_sections_in_scope_spelled_the_kinds_way_never_a_legacy_set():
    client = Both()
    gsim.add_guardrail(client.sim, guardrail_name="acme_a", guardrail_prompt="p")
    gsim.add_guardrail(client.sim, guardrail_name="beta_b", guardrail_prompt="p")
    gsim.add_legacy_set(client.sim, "acme_set", [])
    osim.add_objectives(client.sim, "acme-s", [{"objective_name": "a", "objective_prompt": "p"}])
    warnings: list[str] = []
    out = objects_status.export_sections(KINDS, listed(client), name_prefix="acme-", warnings=warnings)
    assert [e["name"] for e in out["guardrails"]] == ["acme_a"] and [e["name"] for e in out["objectives"]] == ["acme-s"]
    assert set(objects_status.export_sections(KINDS, listed(client), name_prefix=None, warnings=warnings)) == {
        "guardrails", "objectives"}
