"""Documents (issue 27) through the real CLI against the simulator: validate's located errors, plan (create,
update in place, replace, prune with a scope, unmanaged, removed:), apply waiting for processing (exit 3 with the
error code), a blue/green replace that re-points the persona before the old document goes, a second plan with no
changes, 0-based listing pages, and export/status/output."""

from __future__ import annotations

import json

import pytest
from e2e import run_cli, write

from reconciler.kinds.documents import sim as sim_documents
from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e


def _file(tmp_path, sim, docs: str, personas: str = "", extra: str = "") -> str:
    return write(tmp_path, f"version: 1\nsettings:\n  scope:\n    name_prefix: \"acme-\"\ndocuments:\n{docs}"
                           f"{personas}{extra}")


def _doc(sim, name: str, media: str | None = None, tags: str = "[hiring]") -> str:
    return f"  - name: {name}\n    document_url: {sim.video_url(media or name + '.pdf')}\n    tags: {tags}\n"


PERSONA = "personas:\n  - name: acme-interviewer\n    system_prompt: You interview.\n    documents: [acme-handbook]\n"


def _docs(sim) -> dict[str, dict]:
    return {d["document_name"]: d for d in sim_documents.documents(sim)}


def _requests(sim, method: str | None = None, prefix: str = "/v2/documents"):
    return [r for r in sim.requests if r["path"].startswith(prefix) and (method is None or r["method"] == method)]


def test_validate_locates_every_problem(sim, tmp_path):
    f = _file(tmp_path, sim, "  - name: acme-handbook\n    document_url: ftp://x.example/a.pdf\n"
                             "    crawl: {depth: 11}\n  - name: acme-faq\n",
              "personas:\n  - name: acme-interviewer\n    system_prompt: x\n    documents: [acme-handbok]\n")
    res = run_cli(sim, "validate", f)
    assert res.code == 1, res.all
    assert f"{f}:7:19: acme-handbook: document_url must be an http:// or https:// URL" in res.err
    assert f"{f}:8:" in res.err and "11" in res.err  # crawl.depth at most 10
    assert f"{f}:9:5: acme-faq: missing document_url" in res.err
    assert ("acme-interviewer: documents 'acme-handbok' is not declared under documents: in this file (did you "
            "mean 'acme-handbook'?)") in res.err
    assert "Traceback" not in res.all


def test_a_documents_only_file_plans_applies_waits_and_converges(sim, tmp_path):
    sim_documents.configure(sim, process_seconds=0.3)
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook"))
    plan = run_cli(sim, "plan", f)
    assert plan.code == 0 and "+ create document acme-handbook" in plan.out, plan.all
    # replicas are not managed: never listed; the account's personas are only read (never written), so that
    # prune can never delete a document one of them cites
    assert _requests(sim, prefix="/v2/replicas") == []
    assert {r["method"] for r in _requests(sim, prefix="/v2/personas")} <= {"GET"}
    pages = [r["query"].get("page") for r in _requests(sim, "GET") if r["path"].startswith("/v2/documents")]
    assert pages and all(p in (None, "0") for p in pages)  # 0-based, as the endpoint documents
    applied = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1")
    assert applied.code == 0, applied.all
    assert "Waiting for 1 document(s) to finish processing" in applied.out
    assert "All 1 document(s) are ready" in applied.out
    assert _docs(sim)["acme-handbook"]["status"] == "ready"
    again = run_cli(sim, "plan", f)
    assert again.code == 0 and "No changes." in again.out, again.all
    assert len(_requests(sim, "POST")) == 1  # exactly one create


def test_tags_update_in_place_with_one_plain_json_patch(sim, tmp_path):
    made = sim_documents.add_document(sim, document_name="acme-handbook", document_url=sim.video_url("hb.pdf"),
                                      tags=["old"])
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook", "hb.pdf", "[hiring, faq]"))
    plan = run_cli(sim, "plan", f)
    assert f"~ update in place document acme-handbook ({made['document_id']})" in plan.out, plan.all
    assert '~ tags: ["old"] -> ["hiring", "faq"]' in plan.out
    applied = run_cli(sim, "apply", f, "--auto-approve")
    assert applied.code == 0, applied.all
    (patch,) = _requests(sim, "PATCH")
    assert patch["path"] == f"/v2/documents/{made['document_id']}"
    assert sorted(_docs(sim)["acme-handbook"]["tags"]) == ["faq", "hiring"]
    assert "No changes." in run_cli(sim, "plan", f).out


def test_a_new_url_is_a_blue_green_replace_and_the_persona_is_repointed_first(sim, tmp_path):
    sim_documents.configure(sim, process_seconds=0.3)
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook", "v1.pdf"), PERSONA)
    assert run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1").code == 0
    old = _docs(sim)["acme-handbook"]["document_id"]
    (persona,) = sim_personas.personas(sim)
    assert persona["document_ids"] == [old]
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook", "v2.pdf"), PERSONA)
    plan = run_cli(sim, "plan", f)
    assert f"-/+ replace document acme-handbook ({old})" in plan.out and "document_url changed" in plan.out, plan.all
    sim.reset_requests()
    applied = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1")
    assert applied.code == 0, applied.all
    new = _docs(sim)["acme-handbook"]["document_id"]
    assert new != old and set(_docs(sim)) == {"acme-handbook"}
    assert sim_personas.personas(sim)[0]["document_ids"] == [new]
    order = [(r["method"], r["path"]) for r in sim.requests if r["method"] in ("PATCH", "DELETE")]
    repoint = order.index(("PATCH", f"/v2/personas/{persona['persona_id']}"))
    assert repoint < order.index(("DELETE", f"/v2/documents/{old}"))  # re-pointed before the old one goes
    assert "No changes." in run_cli(sim, "plan", f).out


def test_a_failed_document_exits_3_with_its_error_code_and_is_replaced_next_time(sim, tmp_path):
    sim_documents.fail_url(sim, sim.video_url("corrupt.pdf"))
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook", "corrupt.pdf"))
    applied = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1")
    assert applied.code == 3, applied.all
    assert "failed: file_download_failed" in applied.err
    plan = run_cli(sim, "plan", f)
    assert "-/+ replace document acme-handbook" in plan.out and "processing failed: file_download_failed" in plan.out


def test_prune_needs_the_scope_spares_what_a_persona_cites_and_forgets_removed(sim, tmp_path):
    stray = sim_documents.add_document(sim, document_name="acme-stray", document_url=sim.video_url("s.pdf"))
    cited = sim_documents.add_document(sim, document_name="acme-cited", document_url=sim.video_url("c.pdf"))
    kept = sim_documents.add_document(sim, document_name="acme-old", document_url=sim.video_url("o.pdf"))
    outside = sim_documents.add_document(sim, document_name="other-team", document_url=sim.video_url("x.pdf"))
    persona = ("personas:\n  - name: acme-interviewer\n    system_prompt: x\n    documents: [acme-handbook]\n"
               f"    document_ids: [{cited['document_id']}]\n")
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook"), persona, "removed: [acme-old]\n")
    plan = run_cli(sim, "plan", f)
    assert "Unmanaged objects" in plan.out and "acme-stray" in plan.out, plan.all
    assert f"forget document acme-old ({kept['document_id']})" in plan.out
    pruned = run_cli(sim, "apply", f, "--prune", "--auto-approve", "--poll-interval", "0.1")
    assert pruned.code == 0, pruned.all
    names = set(_docs(sim))
    assert "acme-stray" not in names and {"acme-cited", "acme-old", "other-team", "acme-handbook"} <= names
    deleted = {r["path"].rsplit("/", 1)[1] for r in _requests(sim, "DELETE")}
    assert deleted == {stray["document_id"]} and outside["document_id"] not in deleted
    doc = json.loads(run_cli(sim, "plan", f, "--prune", "--format", "json").out)
    assert doc["forgotten_objects"] == [{"kind": "documents", "name": "acme-old", "id": kept["document_id"]}]


def test_export_status_and_output_include_documents(sim, tmp_path):
    made = sim_documents.add_document(sim, document_name="acme-handbook", document_url=sim.video_url("hb.pdf") +
                                      "?X-Amz-Signature=s3cr3t-signature", tags=["hiring"])
    sim_personas.add_persona(sim, persona_name="acme-interviewer", system_prompt="hi",
                             document_ids=[made["document_id"]])
    out = tmp_path / "exported.yaml"
    res = run_cli(sim, "export", "--name-prefix", "acme-", "-o", str(out))
    assert res.code == 0, res.all
    text = out.read_text()
    assert "s3cr3t-signature" not in text and "s3cr3t-signature" not in res.all
    assert "documents:\n- name: acme-handbook" in text and "  documents:\n  - acme-handbook" in text
    assert "No changes." in run_cli(sim, "plan", str(out)).out
    status = run_cli(sim, "status", str(out))
    assert "DOCUMENTS" in status.out and f"acme-handbook  {made['document_id']}  ready" in status.out
    doc = json.loads(run_cli(sim, "status", str(out), "--format", "json").out)
    assert doc["documents"][0]["id"] == made["document_id"] and doc["documents"][0]["phase"] == "ready"
    env = run_cli(sim, "output", str(out), "--format", "env")
    assert f"TAVUS_DOCUMENT_ACME_HANDBOOK={made['document_id']}" in env.out, env.all


def test_smoke_checks_everything_a_persona_is_wired_to(sim, tmp_path):
    replica = sim.add_replica(replica_name="stock-ish", status="completed")
    ready = sim_documents.add_document(sim, document_name="acme-handbook", document_url=sim.video_url("hb.pdf"))
    broken = sim_documents.add_document(sim, document_name="acme-broken", document_url=sim.video_url("b.pdf"),
                                        status="error", error_message="file_download_failed")
    personas = ("personas:\n"
                f"  - name: acme-good\n    system_prompt: x\n    default_replica_id: {replica['replica_id']}\n"
                "    documents: [acme-handbook]\n"
                f"  - name: acme-bad\n    system_prompt: x\n    default_replica_id: {replica['replica_id']}\n"
                "    documents: [acme-broken]\n")
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook", "hb.pdf", "[]") + _doc(sim, "acme-broken", "b.pdf", "[]"),
              personas)
    sim_personas.add_persona(sim, persona_name="acme-good", system_prompt="x",
                             default_replica_id=replica["replica_id"], document_ids=[ready["document_id"]])
    sim_personas.add_persona(sim, persona_name="acme-bad", system_prompt="x",
                             default_replica_id=replica["replica_id"], document_ids=[broken["document_id"]])
    res = run_cli(sim, "smoke", f)
    assert res.code == 1, res.all
    assert "ok     acme-good" in res.out and "with 1 document(s)" in res.out
    assert ("FAILED acme-bad" in res.out and f"document {broken['document_id']} failed processing: "
            "file_download_failed" in res.out)


def test_a_lost_create_answer_never_makes_a_second_document(sim, tmp_path):
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook"))
    sim.set_faults(drop_create_response=1.0)
    applied = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1")
    sim.set_faults()
    assert applied.code == 0, applied.all
    assert [d["document_name"] for d in sim_documents.documents(sim)] == ["acme-handbook"]
    assert len(_requests(sim, "POST")) == 1
    assert "No changes." in run_cli(sim, "plan", f).out


def test_a_presigned_signature_is_never_printed(sim, tmp_path):
    secret = "X-Amz-Signature=0123456789abcdef-very-secret"
    f = _file(tmp_path, sim, "  - name: acme-handbook\n    document_url: ${HB_URL}\n")
    from e2e import cli_env

    env = cli_env(sim, HB_URL=sim.video_url("hb.pdf") + "?" + secret)
    outputs = [run_cli(sim, *args, env=env) for args in (["plan", f], ["plan", f, "--format", "json"],
                                                         ["plan", f, "--format", "markdown"],
                                                         ["apply", f, "--auto-approve", "--poll-interval", "0.1"],
                                                         ["status", f], ["export", "--name-prefix", "acme-"])]
    assert all(r.code == 0 for r in outputs), [r.all for r in outputs]
    assert not any("very-secret" in r.all for r in outputs)
    assert sim_documents.documents(sim)[0]["document_url"].endswith(secret)  # sent as declared


def test_the_mass_change_guard_counts_document_deletes(sim, tmp_path):
    """A prune that would delete most of the documents in scope is refused like one of replicas (issue 28's
    guard, for every kind): nothing is deleted until --allow-mass-change says it is meant."""
    strays = [sim_documents.add_document(sim, document_name=f"acme-stray-{i}", document_url=sim.video_url(f"{i}.pdf"))
              for i in range(4)]
    sim_documents.add_document(sim, document_name="acme-handbook", document_url=sim.video_url("acme-handbook.pdf"),
                               tags=["hiring"])
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook"))
    refused = run_cli(sim, "apply", f, "--prune", "--auto-approve", "--poll-interval", "0.1")
    assert refused.code == 1 and "documents" in refused.all and "mass" in refused.all.lower(), refused.all
    assert _requests(sim, "DELETE") == []
    allowed = run_cli(sim, "apply", f, "--prune", "--auto-approve", "--allow-mass-change", "--poll-interval", "0.1")
    assert allowed.code == 0, allowed.all
    assert {r["path"].rsplit("/", 1)[1] for r in _requests(sim, "DELETE")} == {s["document_id"] for s in strays}


def test_a_saved_plan_is_stale_once_a_document_in_scope_appears_and_not_for_one_outside_it(sim, tmp_path):
    """Issue 26: a saved plan fingerprints the generic kinds too (it did not): another apply's document in the
    file's scope makes it stale, nothing is changed; another team's document outside the scope does not."""
    sim_documents.configure(sim, process_seconds=0)
    f = _file(tmp_path, sim, _doc(sim, "acme-handbook"))
    saved = str(tmp_path / "p.plan")
    assert run_cli(sim, "plan", f, "--out", saved).code == 0
    sim_documents.add_document(sim, document_name="beta-notes", document_url=sim.video_url("b.pdf"))
    sim_documents.add_document(sim, document_name="acme-other", document_url=sim.video_url("o.pdf"))
    stale = run_cli(sim, "apply", saved, "--auto-approve", "--skip-url-check")
    assert stale.code == 1 and "the objects on the account changed since it was made" in stale.err, stale.all
    assert "acme-handbook" not in _docs(sim) and "Traceback" not in stale.all
    assert run_cli(sim, "plan", f, "--out", saved).code == 0
    sim_documents.add_document(sim, document_name="beta-more", document_url=sim.video_url("c.pdf"))
    applied = run_cli(sim, "apply", saved, "--auto-approve", "--skip-url-check")
    assert applied.code == 0, applied.all
    assert "acme-handbook" in _docs(sim)
