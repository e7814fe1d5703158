"""``apply --replace NAME`` on the kinds of issue 27 (a guardrail, an objectives set, a document), through the
real CLI against the simulator: the successor is made first (a document's is READY before the old one goes:
blue/green), the persona citing it is re-pointed in one PATCH before the old one is deleted, the persona never
cites a deleted object, and a re-run finds nothing to do (never a second successor)."""

from __future__ import annotations

import pytest
from e2e import run_cli, write

from reconciler.kinds.documents import sim as dsim
from reconciler.kinds.guardrails import sim as gsim
from reconciler.kinds.objectives import sim as osim
from reconciler.kinds.personas import sim as psim
from reconciler.kinds.pronunciation_dictionaries import sim as pdsim
from reconciler.kinds.tools import sim as tsim

pytestmark = pytest.mark.e2e

PROCESS = 0.6  # seconds a document takes to process in the simulator


def wired_file(tmp_path, sim) -> str:
    """A file declaring one object of every kind of issue 27 and a persona wired to each of them."""
    return write(tmp_path, f"""\
version: 1
settings:
  prune: true
  scope: {{name_prefix: acme-}}
documents:
  - name: acme-handbook
    document_url: {sim.video_url("handbook.pdf")}
guardrails:
  - name: acme_no_salary
    guardrail_prompt: Never discuss salary or compensation.
objectives:
  - name: acme-screening
    data:
      - objective_name: ask_experience
        objective_prompt: Ask about the candidate's last role.
pronunciation_dictionaries:
  - name: acme-terms
    rules: [{{text: Tavus, pronunciation: TAH-vus, type: alias}}]
tools:
  - name: acme_lookup_candidate
    description: Look a candidate up by email.
    parameters: {{type: object, properties: {{email: {{type: string}}}}}}
    delivery: {{api: {{url: "https://hr.example.com/lookup", method: POST}}}}
personas:
  - name: acme-interviewer
    system_prompt: You interview candidates.
    documents: [acme-handbook]
    guardrails: [acme_no_salary]
    objectives: acme-screening
    tools: [acme_lookup_candidate]
    layers: {{tts: {{pronunciation_dictionary: acme-terms}}}}
""", name="account.yaml")


def _apply(sim, path, *extra):
    return run_cli(sim, "apply", path, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1", *extra)


def object_ids(sim) -> dict[str, list[str]]:
    return {"documents": [d["document_id"] for d in dsim.documents(sim)],
            "guardrails": [g["uuid"] for g in gsim.guardrails(sim)],
            "objectives": [o["objectives_id"] for o in osim.objectives(sim)],
            "pronunciation_dictionaries": [d["pronunciation_dictionary_id"] for d in pdsim.dictionaries(sim)],
            "tools": [t["tool_id"] for t in tsim.tools(sim)]}


def wired_ids(sim) -> dict[str, list[str]]:
    (p,) = psim.personas(sim)
    return {"documents": list(p.get("document_ids") or []), "guardrails": list(p.get("guardrail_ids") or []),
            "objectives": [p["objectives_id"]] if p.get("objectives_id") else [],
            "pronunciation_dictionaries": [i for i in [((p.get("layers") or {}).get("tts") or {}).get(
                "pronunciation_dictionary_id")] if i],
            "tools": list(p.get("tool_ids") or [])}


@pytest.mark.parametrize(("name", "kind", "path"), [
    ("acme_no_salary", "guardrails", "/v2/guardrails"),
    ("acme-screening", "objectives", "/v2/objectives"),
    ("acme-handbook", "documents", "/v2/documents"),
    ("acme-terms", "pronunciation_dictionaries", "/v2/pronunciation-dictionaries"),
    ("acme_lookup_candidate", "tools", "/v2/tools"),  # delete first (unique names): re-attached from a snapshot
])
def test_replace_makes_the_successor_repoints_the_persona_then_deletes_the_old_one(sim, tmp_path, name, kind, path):
    dsim.configure(sim, process_seconds=PROCESS)
    f = wired_file(tmp_path, sim)
    first = _apply(sim, f)
    assert first.code == 0, first.all
    before = object_ids(sim)
    assert wired_ids(sim) == before  # the persona cites each declared object
    (old,) = before[kind]
    (persona,) = psim.personas(sim)
    plan = run_cli(sim, "plan", f, "--replace", name)
    assert plan.code == 0 and "-/+ replace" in plan.out and name in plan.out, plan.all
    assert sum("-/+ replace" in line for line in plan.out.splitlines()) == 1, plan.out  # only the one asked for
    sim.reset_requests()
    res = _apply(sim, f, "--replace", name)
    assert res.code == 0, res.all
    assert "re-pointed from " + old in res.out, res.out  # the apply says what it did to the persona
    after = object_ids(sim)
    (new,) = after[kind]
    assert new != old and wired_ids(sim) == after  # one successor; the persona cites it, never the deleted one
    assert {k: v for k, v in after.items() if k != kind} == {k: v for k, v in before.items() if k != kind}
    writes = [r for r in sim.requests if r["method"] in ("POST", "PATCH", "DELETE")]
    order = [(r["method"], r["path"]) for r in writes]
    created = [i for i, (m, p) in enumerate(order) if m == "POST" and p == path]
    deleted = order.index(("DELETE", f"{path}/{old}"))
    if kind == "tools":  # unique names: delete first, then the new tool, then attached where the old one was
        attach = f"/{persona['persona_id']}/tools"
        repoint = next(i for i, (m, p) in enumerate(order) if m == "POST" and p.endswith(attach))
        assert len(created) == 1 and deleted < created[0] < repoint, order
    else:
        repoint = order.index(("PATCH", f"/v2/personas/{persona['persona_id']}"))
        assert len(created) == 1 and created[0] < repoint < deleted, order  # successor, re-point, delete
    assert [m for m, _ in order].count("DELETE") == 1 and order.count(order[repoint]) == 1, order
    if kind == "documents":  # blue/green: the old document served until its successor finished processing
        assert writes[deleted]["t"] - writes[created[0]]["t"] >= PROCESS, order
        assert "Waiting for 1 document(s) to finish processing" in res.out, res.out
    sim.reset_requests()
    again = _apply(sim, f)  # a re-run: nothing left to do, never a second successor
    assert again.code == 0 and "No changes" in again.out, again.all
    assert [r for r in sim.requests if r["method"] != "GET"] == []
    assert object_ids(sim) == after
