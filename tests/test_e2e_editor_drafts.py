"""Issue 25: editor drafts are drift a person made. A PATCH answers 409 ``"conflict": "maker_changes"`` while
someone's unpublished draft from Tavus's visual editor is pending; ``?force=true`` discards it. The real CLI
against the simulator (``POST /_sim/personas/{id}/draft`` leaves a draft)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from e2e import api_requests, run_cli, write

from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e

LINE = ("acme-interviewer has unpublished changes in the Tavus editor; re-run with --discard-editor-drafts "
        "acme-interviewer to overwrite them, or publish them and update the file")


def _setup(sim, tmp_path, settings: str = ""):
    """Two personas on the account, both changed in the file; a draft left on acme-interviewer; and a replica the
    file creates (the other changes of the apply)."""
    ids = {n: sim_personas.add_persona(sim, persona_name=n, system_prompt="old")["persona_id"]
           for n in ("acme-interviewer", "acme-helper")}
    req = urllib.request.Request(f"{sim.url}/_sim/personas/{ids['acme-interviewer']}/draft", method="POST", data=b"")
    with urllib.request.urlopen(req) as resp:  # the control endpoint: a person leaves a draft in the editor
        assert resp.status == 200
    f = write(tmp_path, "version: 1\nsettings:\n  scope:\n    name_prefix: acme-\n" + settings + "replicas:\n"
                        f"  - name: acme-new\n    synthetic: true\n    train_video_url: {sim.video_url('n.mp4')}\n"
                        "personas:\n  - name: acme-interviewer\n    system_prompt: new\n"
                        "  - name: acme-helper\n    system_prompt: new\n")
    return ids, f


def _prompts(sim) -> dict[str, str]:
    return {p["persona_name"]: p["system_prompt"] for p in sim_personas.personas(sim)}


def _patches(sim) -> list[dict]:
    return [r for r in api_requests(sim, "PATCH", "/v2/personas")]


def test_a_draft_holds_back_only_its_persona_with_one_clear_line_and_exit_1(sim, tmp_path):
    ids, f = _setup(sim, tmp_path)
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1")
    assert res.code == 1, res.all
    assert f"~ update acme-interviewer: HELD: {LINE}" in res.out, res.all
    assert f"HELD   update acme-interviewer: {LINE}" in res.err and "Traceback" not in res.all, res.all
    assert "HTTP 409" not in res.all  # the one line says it all
    # the other changes of the apply ran: the other persona is updated, the replica created and trained
    assert _prompts(sim) == {"acme-interviewer": "old", "acme-helper": "new"}
    assert [r["replica_name"] for r in sim.replicas()] == ["acme-new"]
    assert [r["status"] for r in sim.replicas()] == ["completed"]
    assert all("force" not in r["query"] for r in _patches(sim))  # never forced silently

    # the opt-in, for this persona and this run: ?force=true, and the run says a draft was discarded
    sim.reset_requests()
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1",
                  "--discard-editor-drafts", "acme-interviewer")
    assert res.code == 0, res.all
    assert "discarded the unpublished changes left in the Tavus editor (discarded_maker_changes)" in res.out, res.all
    assert _prompts(sim)["acme-interviewer"] == "new"
    assert [r["query"] for r in _patches(sim)] == [{"force": "true"}]
    assert ids["acme-interviewer"] not in sim_personas.store(sim).drafts


def test_the_opt_in_is_shown_by_plan_and_recorded_in_a_saved_plan(sim, tmp_path):
    ids, f = _setup(sim, tmp_path)
    out = str(tmp_path / "p.plan")
    plan = run_cli(sim, "plan", f, "--out", out, "--discard-editor-drafts", "acme-interviewer")
    assert plan.code == 0 and "overwrites any unpublished changes left in the Tavus editor" in plan.out, plan.all
    shown = run_cli(sim, "show", out)
    assert "--discard-editor-drafts acme-interviewer" in shown.all, shown.all
    saved = json.loads(Path(out).read_text())
    assert saved["options"]["discard_editor_drafts"] == ["acme-interviewer"]
    refused = run_cli(sim, "apply", out, "--discard-editor-drafts", "acme-helper")
    assert refused.code == 1 and "cannot be used with a saved plan" in refused.err, refused.all
    res = run_cli(sim, "apply", out, "--skip-url-check", "--poll-interval", "0.1")
    assert res.code == 0, res.all
    assert _prompts(sim) == {"acme-interviewer": "new", "acme-helper": "new"}
    forced = {r["path"].rsplit("/", 1)[1]: r["query"] for r in _patches(sim)}
    assert forced == {ids["acme-interviewer"]: {"force": "true"}, ids["acme-helper"]: {}}  # only the opted-in one


def test_settings_opt_in_and_an_unknown_name_is_a_plan_error(sim, tmp_path):
    _ids, f = _setup(sim, tmp_path, settings="  discard_editor_drafts: [acme-interviewer]\n")
    res = run_cli(sim, "apply", f, "--auto-approve", "--skip-url-check", "--poll-interval", "0.1")
    assert res.code == 0 and "discarded_maker_changes" in res.out, res.all
    bad = run_cli(sim, "plan", f, "--discard-editor-drafts", "acme-nobody")
    assert bad.code == 1 and "--discard-editor-drafts acme-nobody: no persona of that name is declared" in bad.all
