"""The rough edges a new user met (issue 23), through the real CLI against the simulator: errors as documents,
targets that name nothing, one flag vocabulary, 80 columns, a conversation that is asked for and can be ended."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import jsonschema
import pytest
from e2e import API_KEY, api_requests, cli_env, replicas_file, run_cli, run_on_a_tty, write

from reconciler.engine.config import load_schema

pytestmark = pytest.mark.e2e


def _with_persona(tmp_path, sim, name="acme-interviewer"):
    return write(tmp_path, f"""\
        version: 1
        settings:
          scope:
            name_prefix: "acme-"
        replicas:
          - name: acme-anna
            train_video_url: {sim.video_url('anna.mp4')}
            synthetic: true
        personas:
          - name: {name}
            default_replica: acme-anna
            system_prompt: You interview candidates.
        """)


BAD = "version: 1\nreplicas:\n  - name: acme-x\n    synthetic: true\n"


def test_plan_json_on_a_bad_file_is_a_document_with_the_located_errors(sim, tmp_path):
    f = write(tmp_path, BAD)
    res = run_cli(sim, "plan", f, "--format", "json")
    assert res.code == 1, res.all
    doc = json.loads(res.out)
    jsonschema.validate(doc, load_schema("plan.schema.json"))
    assert doc["format_version"] == "1" and doc["failed"] is True and doc["file"] == f
    assert any(e.startswith(f"{f}:3:5: acme-x: no training source") for e in doc["errors"]), doc
    assert f"{f}:3:5: acme-x: no training source" in res.err  # the log still has them
    with pytest.raises(jsonschema.ValidationError):  # a failure is never mistaken for an empty plan
        jsonschema.validate({**doc, "changes": []}, load_schema("plan.schema.json") | {"oneOf": [
            load_schema("plan.schema.json")["oneOf"][0]]})


def test_plan_markdown_on_a_bad_file_is_a_short_plan_failed_comment(sim, tmp_path):
    f = write(tmp_path, BAD)
    res = run_cli(sim, "plan", f, "--format", "markdown")
    assert res.code == 1, res.all
    assert res.out.startswith(f"### tavus-reconciler plan failed: `{f}`\n")
    assert "> **Error:** " in res.out and ":3:5: acme-x: no training source" in res.out
    no_key = run_cli(sim, "plan", replicas_file(tmp_path, sim, ["acme-a"]), "--format", "markdown",
                     env={k: v for k, v in cli_env(sim).items() if k != "TAVUS_API_KEY"})
    assert no_key.code == 1 and "plan failed" in no_key.out and r"TAVUS\_API\_KEY is not set" in no_key.out


def test_a_target_that_names_nothing_is_an_error_naming_the_nearest(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-anna", "acme-bob"])
    res = run_cli(sim, "plan", f, "--target", "acme-ana", "--detailed-exitcode")
    assert res.code == 1, res.all
    assert "--target acme-ana: no replica or persona of that name is declared" in res.out
    assert "; did you mean acme-anna" in res.out
    assert run_cli(sim, "apply", f, "--target", "acme-ana", "--auto-approve").code == 1
    waited = run_cli(sim, "wait", f, "--target", "acme-ana", "--timeout", "5s")
    assert waited.code == 1 and "did you mean acme-anna" in waited.err, waited.all
    assert sim.replicas() == []


def test_a_target_may_be_a_persona_without_a_warning(sim, tmp_path):
    f = _with_persona(tmp_path, sim)
    res = run_cli(sim, "plan", f, "--target", "acme-anna", "--target", "acme-interviewer")
    assert res.code == 0, res.all
    assert "matches no" not in res.all and "Warnings" not in res.out
    assert "+ create persona acme-interviewer" in res.out
    smoke = run_cli(sim, "smoke", "--help")
    assert "--target PERSONA  Check only this declared persona" in " ".join(smoke.out.split()).replace(
        "PERSONA Check", "PERSONA  Check")


def test_a_persona_only_apply_does_not_wait_for_the_replicas(sim, tmp_path):
    f = _with_persona(tmp_path, sim)
    assert run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1").code == 0
    (tmp_path / "replicas.yaml").write_text((tmp_path / "replicas.yaml").read_text().replace(
        "You interview candidates.", "You interview senior candidates."))
    res = run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1")
    assert res.code == 0 and "updated persona" in res.out, res.all
    assert "Waiting for" not in res.out and "All 1 replica(s) are ready: nothing to wait for." in res.out


def test_status_json_is_versioned_and_the_helps_jq_example_selects_what_it_says(sim, tmp_path):
    f = _with_persona(tmp_path, sim)
    res = run_cli(sim, "status", f, "--format", "json")
    doc = json.loads(res.out)
    jsonschema.validate(doc, load_schema("status.schema.json"))
    assert doc["format_version"] == "1" and [r["name"] for r in doc["replicas"]] == ["acme-anna"]
    assert [p["name"] for p in doc["personas"]] == ["acme-interviewer"]
    helped = run_cli(sim, "status", "--help").out
    example = helped.split("| jq -r ", 1)[1].split("\n")[0].strip().strip("'")
    assert example == '.replicas[] | select(.phase != "ready") | .name'
    if shutil.which("jq"):  # the example as a user runs it: the absent replica, not the persona
        out = subprocess.run(["jq", "-r", example], input=res.out, capture_output=True, text=True, timeout=30)
        assert out.stdout.split() == ["acme-anna"], out.stdout + out.stderr


def test_one_flag_vocabulary_with_the_old_spellings_still_working(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    assert run_cli(sim, "plan", f, "-o", str(tmp_path / "a.plan")).code == 0 and (tmp_path / "a.plan").exists()
    for flag in ("--out", "-o", "--output"):  # export: --out like plan; --output kept, hidden
        out = tmp_path / f"export{flag}.yaml"
        assert run_cli(sim, "export", flag, str(out)).code == 0 and out.exists(), flag
    exported = run_cli(sim, "export", "--help").out
    assert "--out FILE" in exported and "--output" not in exported
    applied = run_cli(sim, "apply", "--help").out
    assert "--check-urls / --no-check-urls" in applied and "--skip-url-check" not in applied
    bad = write(tmp_path, "version: 1\nreplicas:\n  - name: acme-b\n    train_video_url: http://127.0.0.1:9/x.mp4\n"
                          "    synthetic: true\n", name="bad-url.yaml")
    for flags in ([], ["--check-urls"]):
        res = run_cli(sim, "apply", bad, "--auto-approve", "--no-wait", *flags)
        assert res.code == 1 and "could not be fetched" in res.err, res.all
    for flag in ("--no-check-urls", "--skip-url-check"):
        res = run_cli(sim, "apply", bad, "--auto-approve", "--no-wait", flag, env=cli_env(sim))
        assert "could not be fetched" not in res.err, (flag, res.all)


@pytest.mark.parametrize("args, option", [
    (["--api-url", "http://x", "validate", "F"], "--api-url"),
    (["validate", "F", "--api-url", "http://x"], "--api-url"),
    (["-v", "validate", "F"], "-v/--verbose"),
    (["validate", "F", "--verbose"], "-v/--verbose"),
    (["demo", "--api-url", "http://x"], "--api-url"),
    (["show", "F.plan", "-v"], "-v/--verbose"),
])
def test_options_an_offline_command_would_ignore_are_refused(sim, tmp_path, args, option):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, *[f if a == "F" else a for a in args])
    assert res.code == 1 and res.err.startswith(f"error: {option} has no effect on "), res.all
    assert len(res.err.strip().splitlines()) == 1


def test_validate_warns_once_for_a_defaults_line_and_counts_in_the_singular(sim, tmp_path):
    entries = "".join(f"  - {{name: acme-{c}, train_video_url: {sim.video_url('a.mp4')}, synthetic: true}}\n"
                      for c in "abcde")
    f = write(tmp_path, "version: 1\ndefaults:\n  model_name: phoenix-9\nreplicas:\n" + entries
              + "personas:\n  - {name: acme-p, default_replica: acme-a, system_prompt: hi}\n")
    res = run_cli(sim, "validate", f)
    assert res.code == 0, res.all
    warnings = [w for w in res.err.splitlines() if w.startswith("warning:")]
    assert warnings == [f"warning: {f}:3:15: model_name 'phoenix-9' is not one this version knows (phoenix-3, "
                        "phoenix-4, phoenix-4.5); it is sent as is (for acme-a, acme-b, acme-c and 2 more)"], res.err
    assert res.out.strip() == f"{f}: valid (5 replicas, 1 persona)"


def test_the_demo_fits_80_columns(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    res = subprocess.run([sys.executable, "-m", "reconciler", "demo", "--train-seconds", "0.3"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    wide = [line for line in res.stdout.splitlines() if len(line) > 80]
    assert not wide, wide
    assert "layers {" in res.stdout and "system_prompt: |" in res.stdout  # the persona, one attribute a line


def _converse_file(tmp_path, sim):
    f = _with_persona(tmp_path, sim)
    assert run_cli(sim, "apply", f, "--auto-approve", "--poll-interval", "0.1").code == 0
    return f


def test_converse_asks_on_a_terminal_refuses_without_one_and_ends_with_end(sim, tmp_path):
    f = _converse_file(tmp_path, sim)
    before = len(api_requests(sim, "POST", "/v2/conversations"))
    refused = run_cli(sim, "converse", f, "acme-interviewer", input="")
    assert refused.code == 1 and refused.err.strip() == (
        "error: refusing to start a billed conversation with acme-interviewer without confirmation: no terminal "
        "to ask on; pass --yes")
    code, out = run_on_a_tty(["converse", f, "acme-interviewer"], cli_env(sim), answer="no")
    assert code == 1 and "Start a real conversation with acme-interviewer?" in out and "Cancelled" in out
    assert len(api_requests(sim, "POST", "/v2/conversations")) == before, "nothing was started"
    code, out = run_on_a_tty(["converse", f, "acme-interviewer"], cli_env(sim), answer="yes")
    assert code == 0 and "https://" in out, out
    started = run_cli(sim, "converse", f, "acme-interviewer", "--yes")
    assert started.code == 0, started.all
    cid = started.err.split("converse --end ", 1)[1].split("`")[0]
    ended = run_cli(sim, "converse", "--end", cid)
    assert ended.code == 0 and ended.out.strip() == f"Ended conversation {cid}.", ended.all
    assert any(r["path"] == f"/v2/conversations/{cid}/end" for r in api_requests(sim, "POST", "/v2/conversations"))
    assert run_cli(sim, "converse", "--end", cid, f).code == 1
    assert run_cli(sim, "converse", f).code == 1


@pytest.mark.parametrize("raw, shown", [
    ("https://tavus.daily.co/c1", "https://tavus.daily.co/c1"),
    ("https://tavus.daily.co/c1?t=abc", "https://tavus.daily.co/c1?t=abc"),  # kept: it is what one opens
    ("\x1b]8;;https://evil.example\x07https://tavus.daily.co/c1\x1b[2J", None),
    ("https://tavus.daily.co/\u202ec1\x1b[31m", "https://tavus.daily.co/c1[31m"),
    (f"https://tavus.daily.co/c1?key={API_KEY}", "https://tavus.daily.co/c1?"),  # masked (how: redact_text)
    ("javascript:alert(1)", None),
    (None, None),
])
def test_a_conversation_url_is_printed_without_escapes_or_the_key(raw, shown):
    from reconciler.api.redact import register_secret
    from reconciler.workflows.workflow import conversation_url

    register_secret(API_KEY)
    got = conversation_url(raw)
    if shown is None:
        assert got is None or ("\x1b" not in got and "\x07" not in got), got
    elif shown.endswith("?"):
        assert got.startswith(shown)
    else:
        assert got == shown
    assert got is None or API_KEY not in got
