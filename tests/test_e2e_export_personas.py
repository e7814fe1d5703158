"""export writes the account's personas (issue 17): prompts, layers, replica references; secrets never written."""

from __future__ import annotations

import pytest
from e2e import run_cli

from reconciler.engine import jsonpatch
from reconciler.engine.config import load_config
from reconciler.kinds.personas import sim as sim_personas
from reconciler.kinds.personas.models import RemotePersona
from reconciler.workflows.export import personas_yaml

LONG_PROMPT = "You are a structured, friendly interviewer.\n\n- Ask one question at a time.\n" \
              "- Never promise an outcome; ${not a var} stays as written.\n  indented line\n"
SECRET = "sk-live-exported-secret-9876"


def _seed(sim):
    anna = sim.add_replica(replica_name="acme-anna", status="completed")
    sim_personas.add_persona(
        sim, persona_id="p-interviewer", persona_name="acme-interviewer", system_prompt=LONG_PROMPT,
        context="Support team hiring.", pipeline_mode="full", default_replica_id=anna["replica_id"],
        document_tags=["hiring"], objectives_id="o1",
        layers={"llm": {"model": "tavus-gpt-4o", "speculative_inference": True, "api_key": SECRET},
                "tts": {"tts_engine": "cartesia", "external_voice_id": "v-1"},
                "conversational_flow": {"turn_detection_model": "sparrow-1", "turn_taking_patience": "high"}})
    sim_personas.add_persona(sim, persona_id="p-ext", persona_name="acme-external", system_prompt="Short.",
                             default_replica_id="r-not-exported")
    sim_personas.add_persona(sim, persona_id="p-other", persona_name="other-team", system_prompt="x")
    return anna


@pytest.mark.e2e
@pytest.mark.parametrize("masked", [False, True], ids=["keys-echoed-in-clear", "keys-masked"])
def test_export_writes_personas_that_validate_and_match_the_account(sim, tmp_path, masked):
    anna = _seed(sim)
    sim_personas.configure(sim, mask_api_keys=masked)
    out = tmp_path / "replicas.yaml"
    res = run_cli(sim, "export", "--name-prefix", "acme-", "-o", str(out))
    assert res.code == 0, res.all
    assert "Exported 1 replica(s) and 2 persona(s)" in res.err
    text = out.read_text()
    # contract 3: the echoed key is never written or printed; a placeholder and a comment stand in its place
    assert SECRET not in text and SECRET not in res.all and "sk-" not in text
    assert ("api_key: ${TAVUS_PERSONA_ACME_INTERVIEWER_LLM_API_KEY}   # layers.llm.api_key is a secret and was "
            "not exported: set TAVUS_PERSONA_ACME_INTERVIEWER_LLM_API_KEY to it") in text
    assert "system_prompt: |" in text  # a long prompt reads as text in review
    assert "other-team" not in text and "Tavus Researcher" not in text  # out of scope; stock personas never
    assert run_cli(sim, "validate", str(out)).code == 0

    config = load_config(out, environ={})
    by_name = {p.name: p for p in config.personas}
    interviewer, external = by_name["acme-interviewer"], by_name["acme-external"]
    assert (interviewer.name, interviewer.persona_id, interviewer.default_replica) == \
        ("acme-interviewer", "p-interviewer", "acme-anna")
    assert {d.name: d for d in config.replicas}["acme-anna"].replica_id == anna["replica_id"]
    assert (external.default_replica, external.default_replica_id) == (None, "r-not-exported")
    # what a plan compares: the declared attributes against the account's document. Nothing differs but the
    # secret (never readable as such): so plan on the export has no changes to make.
    remote = {p.persona_id: p for p in (RemotePersona.from_api(d) for d in sim_personas.personas(sim))}
    for desired in config.personas:
        ops = jsonpatch.diff(remote[desired.persona_id].document, desired.attributes)
        assert [op["path"] for op in ops if op["path"] != "/layers/llm/api_key"] == [], ops
    assert interviewer.attributes["system_prompt"] == LONG_PROMPT

    plan = run_cli(sim, "plan", str(out), "--detailed-exitcode", "--ignore-unmanaged")
    assert plan.code == 0 and "No changes" in plan.out, plan.all
    assert SECRET not in plan.all


def test_duplicate_names_and_personas_without_a_prompt_are_left_as_comments():
    personas = [RemotePersona.from_api(d) for d in (
        {"persona_id": "p1", "persona_name": "acme-a", "system_prompt": "one", "persona_type": "user"},
        {"persona_id": "p2", "persona_name": "acme-a", "system_prompt": "two", "persona_type": "user"},
        {"persona_id": "p3", "persona_name": "acme-b", "persona_type": "user"},
        {"persona_id": "p4", "persona_name": "acme-c", "pipeline_mode": "echo", "persona_type": "user"},
        {"persona_id": "p5", "persona_name": "stock", "system_prompt": "s", "persona_type": "system"},
        {"persona_id": "p6", "persona_name": "acme-d", "system_prompt": "d", "layers": {"video": {"x": 1}}},
    )]
    text, warnings = personas_yaml(personas, {})
    assert "persona_id: p1" in text and "# - name: \"acme-a\"   # same name as p1\n#   persona_id: p2" in text
    assert "#   persona_id: p3" in text and "- name: acme-c" in text and "stock" not in text
    assert "video" not in text
    assert warnings == [
        "2 personas are named 'acme-a': exported p1; p2 is left as a comment",
        "persona p3 ('acme-b') has no system_prompt: left as a comment",
        "persona 'acme-d': layer 'video' is not one this version knows: not exported",
    ]


def test_exported_personas_round_trip_through_the_loader(tmp_path):
    tricky = "line one\n  ${HOME} and $${x}\ttab\n\u00e9t\u00e9 \u2028 separator\n"
    persona = RemotePersona.from_api({"persona_id": "p1", "persona_name": "acme-a", "system_prompt": tricky,
                                      "context": "${USER}", "document_ids": ["d${1}"],
                                      "default_replica_id": "r1", "persona_type": "user"})
    text, _ = personas_yaml([persona], {"r1": "acme-anna"})
    path = tmp_path / "replicas.yaml"
    path.write_text("version: 1\nreplicas:\n  - name: acme-anna\n    replica_id: r1\n" + text)
    (loaded,) = load_config(path, environ={"HOME": "/root", "USER": "me"}).personas
    assert loaded.attributes == {"system_prompt": tricky, "context": "${USER}", "document_ids": ["d${1}"]}
    assert loaded.default_replica == "acme-anna" and loaded.persona_id == "p1"


@pytest.mark.e2e
def test_export_masks_the_key_and_signatures_in_prompts_and_writes_the_file_0600(sim, tmp_path):
    """Issue 24 #6: the Tavus key and a presigned signature quoted in a prompt or context are masked in the
    export (as plan masks them), with a warning; ``-o`` is written with mode 0600."""
    import stat

    from e2e import API_KEY

    sig = "X-Amz-Signature=abcdef0123456789deadbeef"
    sim_personas.add_persona(sim, persona_id="p1", persona_name="acme-leaky", system_prompt=f"key {API_KEY} here",
                             context=f"video https://b.s3.amazonaws.com/v.mp4?{sig}")
    out = tmp_path / "exported.yaml"
    res = run_cli(sim, "export", "--name-prefix", "acme-", "-o", str(out))
    assert res.code == 0, res.all
    text = out.read_text()
    for leaked in (API_KEY, "abcdef0123456789deadbeef"):
        assert leaked not in text and leaked not in res.all
    assert "its system_prompt holds a secret" in res.err and "its context holds a secret" in res.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    shown = run_cli(sim, "export", "--name-prefix", "acme-")
    assert API_KEY not in shown.all and "abcdef0123456789deadbeef" not in shown.all
