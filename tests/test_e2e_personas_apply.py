"""Personas, finishing issue 17, through the real CLI against the simulator: concurrent applies never leave a
duplicate persona, personas under ``removed:`` are released (forget), ``--resend`` pushes the attributes the API
does not return, and the demo shows a persona created and then updated in place."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from e2e import api_requests, cli_env, run_cli, write

from reconciler.kinds.personas import sim as sim_personas

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


def _personas_file(tmp_path, names, *, prefix: str = "acme-", extra: str = "") -> str:
    entries = "".join(f"  - name: {n}\n    system_prompt: You are {n}.\n    layers:\n"
                      f"      llm: {{model: tavus-gpt-4o}}\n" for n in names)
    return write(tmp_path, f"version: 1\nsettings:\n  scope:\n    name_prefix: \"{prefix}\"\nreplicas: []\n"
                           f"personas:\n{entries}{extra}")


def _persona_names(sim) -> list[str]:
    return sorted(p["persona_name"] for p in sim_personas.personas(sim))


def _start(sim, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reconciler", *args], env=cli_env(sim), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------------- three applies at once: one persona per name


@pytest.mark.parametrize("latency", [0.0, 0.05])
def test_concurrent_applies_leave_exactly_one_persona_per_name(sim, tmp_path, latency, record_property):
    trials = int(os.environ.get("CONCURRENT_TRIALS", "3"))
    removed = 0
    for trial in range(trials):
        prefix = f"acme-t{trial}-"
        names = [f"{prefix}p{i}" for i in range(4)]
        f = _personas_file(tmp_path, names, prefix=prefix)
        sim.set_faults(latency=latency)
        procs = [_start(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1") for _ in range(3)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        sim.set_faults()
        for code, out, err in results:
            # a run that lists the account in the instant two runs' creates coexist refuses (exit 1, nothing
            # changed), as for replicas; every other run succeeds
            assert code == 0 or (code == 1 and "remote personas are named" in out + err
                                 and "nothing was changed" in err), f"trial {trial}: {out}{err}"
            removed += (out + err).count("removed our duplicate")
        assert sum(code == 0 for code, _, _ in results) >= 1
        now = sorted(n for n in _persona_names(sim) if n.startswith(prefix))
        assert now == names, f"trial {trial}: {collections.Counter(now)}"
    survivors = {p["persona_id"] for p in sim_personas.personas(sim)}
    deleted = {r["path"].rsplit("/", 1)[1] for r in api_requests(sim, "DELETE", "/v2/personas")}
    assert len(survivors) == 4 * trials and not deleted & survivors  # only ever its own duplicate deleted
    record_property("concurrent_personas", f"latency={latency} trials={trials} removed_duplicates={removed}")
    print(f"3 concurrent persona applies, latency {latency}s: trials={trials} duplicates removed={removed}")


# ------------------------------------------------------------------------------ removed: releases a persona


def test_a_persona_under_removed_is_shown_as_forget_and_never_touched(sim, tmp_path):
    kept = sim_personas.add_persona(sim, persona_name="acme-old-bot", system_prompt="Old.")
    sim_personas.add_persona(sim, persona_name="acme-stray", system_prompt="Stray.")
    f = _personas_file(tmp_path, ["acme-p0"], extra="removed:\n  - acme-old-bot\n")
    text = run_cli(sim, "plan", f, "--prune")
    assert text.code == 0, text.all
    assert f"forget persona acme-old-bot ({kept['persona_id']})" in text.out
    assert "delete persona acme-stray" in text.out and "delete persona acme-old-bot" not in text.out
    doc = json.loads(run_cli(sim, "plan", f, "--format", "json").out)
    jsonschema.validate(doc, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert doc["forgotten_personas"] == [{"name": "acme-old-bot", "persona_id": kept["persona_id"]}]
    assert all(p["name"] != "acme-old-bot" for p in doc["unmanaged_personas"])
    md = run_cli(sim, "plan", f, "--format", "markdown").out
    assert "Forget personas (1)" in md and kept["persona_id"] in md
    applied = run_cli(sim, "apply", f, "--prune", "--auto-approve")
    assert applied.code == 0, applied.all
    assert "acme-old-bot" in _persona_names(sim) and "acme-stray" not in _persona_names(sim)
    touched = [r for r in sim.requests if kept["persona_id"] in r["path"]]
    assert touched == []  # forget: no API call names it


# ------------------------------------------------------------------------------ the demo: create, then update


def test_demo_creates_a_persona_then_updates_it_in_place_and_never_changes_the_file(tmp_path):
    shutil.copy(ROOT / "examples" / "replicas.yaml", tmp_path / "replicas.yaml")
    shutil.copytree(ROOT / "examples" / "prompts", tmp_path / "prompts")

    def digest() -> dict[str, str]:
        return {str(p.relative_to(tmp_path)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(tmp_path.rglob("*")) if p.is_file()}

    before = digest()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    res = subprocess.run([sys.executable, "-m", "reconciler", "demo", "replicas.yaml", "--train-seconds", "0.3"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    created = out.index("created persona")
    update = out.index("~ update in place persona acme-interviewer", created)
    assert "+- Keep every answer under two minutes." in out[update:]
    assert "1 to update in place" in out[update:] and "Apply complete: 1 update." in out[update:]
    assert "Demo complete" in out and "demo-secret-signature" not in out + res.stderr
    assert digest() == before  # the file and its prompt untouched, nothing left behind


# ------------------------------------------------------------------ --resend: what cannot be compared, pushed


def _resend_file(tmp_path, model: str) -> str:
    return write(tmp_path, f"""\
version: 1
settings:
  scope:
    name_prefix: "acme-"
replicas: []
personas:
  - name: acme-bot
    system_prompt: You help.
    pipeline_mode: full
    layers:
      tts: {{tts_engine: cartesia, api_key: "${{TTS_KEY}}"}}
      conversational_flow: {{turn_detection_model: {model}}}
""")


def test_resend_pushes_a_rotated_masked_key_and_unreturned_fields_through_a_saved_plan(sim, tmp_path):
    sim_personas.configure(sim, hide_uncertain=True, mask_api_keys=True)
    old, new = "sk-live-SECRET-old-1234567890", "sk-live-SECRET-new-0987654321"
    path = _resend_file(tmp_path, "sparrow-0")
    assert run_cli(sim, "apply", path, "--auto-approve", env=cli_env(sim, TTS_KEY=old)).code == 0
    path = _resend_file(tmp_path, "sparrow-1")  # the file changes what the API does not return
    env = cli_env(sim, TTS_KEY=new)  # and the key is rotated: the server masks it, nothing can be compared
    quiet = run_cli(sim, "plan", path, "--detailed-exitcode", env=env)
    assert quiet.code == 0, quiet.all  # never a flap...
    assert "--resend NAME" in quiet.out and "layers.tts.api_key" in quiet.out  # ...never silent
    md = run_cli(sim, "plan", path, "--format", "markdown", env=env).out
    assert "Not compared (1)" in md and "| `acme-bot` | `layers.conversational_flow`, `layers.tts.api_key`" in md
    outputs = [quiet.all, md]
    for fmt in ("text", "json", "markdown"):
        shown = run_cli(sim, "plan", path, "--resend", "acme-bot", "--format", fmt, env=env)
        assert shown.code == 0, shown.all
        outputs.append(shown.all)
    assert "update in place persona acme-bot" in outputs[2] and "--resend" in outputs[2]
    doc = json.loads(outputs[3])
    jsonschema.validate(doc, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    (change,) = doc["changes"]
    assert change["action"] == "update" and set(change["resent"]) == {
        "pipeline_mode", "layers.tts.api_key", "layers.conversational_flow"}
    saved = str(tmp_path / "resend.plan")
    made = run_cli(sim, "plan", path, "--resend", "acme-bot", "--out", saved, env=env)
    assert made.code == 0, made.all
    shown = run_cli(sim, "show", saved)
    assert "Made with: --resend acme-bot" in shown.out and "update in place persona acme-bot" in shown.out
    assert json.loads(run_cli(sim, "show", saved, "--format", "json").out)["options"]["resend"] == ["acme-bot"]
    refused = run_cli(sim, "apply", saved, "--resend", "acme-bot", env=env)
    assert refused.code == 1 and "cannot be used with a saved plan" in refused.err
    before = len(api_requests(sim, "PATCH", "/v2/personas"))
    applied = run_cli(sim, "apply", saved, env=env)
    assert applied.code == 0, applied.all
    outputs += [shown.all, applied.all, Path(saved).read_text()]
    patches = api_requests(sim, "PATCH", "/v2/personas")[before:]
    assert len(patches) == 1  # one PATCH carries everything
    (p,) = sim_personas.personas(sim)
    assert p["layers"]["tts"]["api_key"] == new and p["layers"]["conversational_flow"] == {
        "turn_detection_model": "sparrow-1"} and p["layers"]["tts"]["tts_engine"] == "cartesia"
    again = run_cli(sim, "plan", path, "--detailed-exitcode", env=env)
    assert again.code == 0, again.all  # still no flap afterwards
    for text in outputs + [again.all]:
        assert "SECRET" not in text, text
