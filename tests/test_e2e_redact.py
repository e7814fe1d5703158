"""Issue 14, contract 3: every server-provided string goes through one redaction choke point. A server that
echoes the presigned training URL (with its X-Amz-Signature) and the API key, in a 400 message, in a
replica's error_message and in a name: apply, wait, plan, status never print them (real CLI e2e)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fakeserver import FakeServer

from reconciler.kinds.personas import sim as sim_personas

KEY = "echo-test-api-key-9f8e7d6c5b4a"
SIG = "deadbeefSIGNATURE0123456789"
URL = f"https://bucket.s3.amazonaws.com/anna.mp4?X-Amz-Algorithm=AWS4&X-Amz-Signature={SIG}"
ECHO = f"could not download {URL} (sent with key {KEY}); also X-Amz-Signature={SIG}\n\x1b[31mred"

pytestmark = pytest.mark.e2e


def run(url, *args, **env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("TAVUS_", "NO_COLOR"))}
    e.update(TAVUS_API_URL=url, TAVUS_API_KEY=KEY, TAVUS_RETRY_BACKOFF_SECONDS="0.01", NO_COLOR="1",
             TRAIN_URL=URL, TAVUS_RETRY_MAX_ATTEMPTS="2", **env)
    p = subprocess.run([sys.executable, "-m", "reconciler", *args], env=e, capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout + p.stderr


def replicas_file(tmp_path):
    path = tmp_path / "replicas.yaml"
    path.write_text("version: 1\nreplicas:\n  - name: anna\n    train_video_url: ${TRAIN_URL}\n"
                    "    synthetic: true\n")
    return str(path)


def assert_clean(out):
    assert SIG not in out and KEY not in out and "\x1b[31m" not in out, out


def test_a_400_echoing_the_url_and_key_is_redacted_in_apply(tmp_path):
    def handler(method, path, query, body):
        if method == "GET":
            return 200, {"data": [], "total_count": 0}
        return 400, {"error": ECHO}

    with FakeServer(handler) as s:
        code, out = run(s.url, "apply", replicas_file(tmp_path), "--auto-approve", "--skip-url-check")
    assert code == 1 and "Apply FAILED" in out and "REDACTED" in out
    assert "\\x0a" not in out.split("Apply FAILED")[0][-5:]  # the blank line before it is a real one
    assert_clean(out)


def test_an_error_message_echoing_the_url_and_key_is_redacted_in_wait_plan_status(tmp_path):
    failed = {"replica_id": "r1", "replica_name": "anna", "status": "error", "replica_type": "user",
              "error_message": ECHO, "model_name": "phoenix-4"}
    stray = {"replica_id": "r2", "replica_name": f"stray {KEY} \u200b", "status": "completed",
             "replica_type": "user", "error_message": None}

    def handler(method, path, query, body):
        if method == "GET" and path == "/v2/replicas":
            return 200, {"data": [failed, stray], "total_count": 2}
        if method == "GET":
            return 200, failed
        return 400, {"error": ECHO}

    f = replicas_file(tmp_path)
    with FakeServer(handler) as s:
        code, out = run(s.url, "wait", f, "--timeout", "5s", "--poll-interval", "0.1s")
        assert code == 3 and "REDACTED" in out, out
        assert_clean(out)
        for args in (["plan", f], ["plan", f, "--format", "json"], ["plan", f, "--format", "markdown"],
                     ["status", f], ["status", f, "--format", "json"],
                     ["plan", f, "--out", str(tmp_path / "p.plan")]):
            code, out = run(s.url, *args)
            assert code in (0, 2), out
            assert_clean(out)
            assert "\u200b" not in out, args  # an invisible character in a remote name is shown escaped
        saved = (tmp_path / "p.plan").read_text()
        assert_clean(saved)
        code, out = run(s.url, "apply", f, "--auto-approve", "--skip-url-check", "--no-wait")
        assert code == 1
        assert_clean(out)


def test_verbose_logs_are_redacted_too(tmp_path):
    def handler(method, path, query, body):
        if query.get("page") == "1":  # a status word that quotes the URL: logged as unknown with -v
            return 200, {"data": [{"replica_id": "r1", "replica_name": "anna", "status": ECHO}], "total_count": 1}
        return 500, {"message": ECHO}

    with FakeServer(handler) as s:
        code, out = run(s.url, "-v", "plan", replicas_file(tmp_path))
        assert code == 0 and "unknown replica status" in out, out
        code, out2 = run(s.url, "-v", "wait", replicas_file(tmp_path), "--timeout", "1s", "--poll-interval", "0.2s")
    assert_clean(out + out2)
    json.dumps(out)


ENV_TOKEN = "llm-bearer-token-from-env-4242"


def _persona_file(tmp_path, sim, extra=""):
    from e2e import write

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
  - name: acme-p
    default_replica: acme-anna
    system_prompt: "Hello"
    layers:
      llm:
        model: my-model
        base_url: https://llm.example.com/v1
        headers: {{Authorization: "Bearer ${{LLM_TOKEN}}"}}
{extra}""")


def test_any_value_from_the_environment_is_a_secret_in_every_output(sim, tmp_path):
    """Issue 24 #2: a secret not called api_key (an LLM Authorization header from ${LLM_TOKEN}) is masked by
    plan (text, json, markdown), plan --out, apply and export; the saved plan keeps only a digest."""
    from e2e import cli_env, run_cli

    env = cli_env(sim, LLM_TOKEN=ENV_TOKEN)
    path = _persona_file(tmp_path, sim)
    outputs = []
    for fmt in ("text", "json", "markdown"):
        r = run_cli(sim, "plan", path, "--format", fmt, env=env)
        assert r.code == 0, r.all
        outputs.append(r.all)
    saved = tmp_path / "plan.json"
    r = run_cli(sim, "plan", path, "--out", str(saved), env=env)
    assert r.code == 0, r.all
    outputs += [r.all, saved.read_text()]
    r = run_cli(sim, "show", str(saved), env=env)
    outputs.append(r.all)
    r = run_cli(sim, "apply", str(saved), "--skip-url-check", "--poll-interval", "0.1", env=env)
    assert r.code == 0, r.all
    outputs.append(r.all)
    assert any(p["layers"]["llm"]["headers"]["Authorization"] == f"Bearer {ENV_TOKEN}"
               for p in sim_personas.personas(sim)), "the header itself reaches the API"
    r = run_cli(sim, "export", env=env)
    assert r.code == 0, r.all
    outputs.append(r.all)
    r = run_cli(sim, "plan", path, "--format", "json", env=env)  # now an update-free plan: still masked
    outputs.append(r.all)
    for out in outputs:
        assert ENV_TOKEN not in out, out
    assert "REDACTED" in outputs[0]


def test_a_reference_to_the_tavus_api_key_in_the_file_is_a_located_error(sim, tmp_path):
    from e2e import run_cli

    path = _persona_file(tmp_path, sim, extra="    context: \"key ${TAVUS_API_KEY}\"\n")
    r = run_cli(sim, "validate", path)
    assert r.code == 1 and "replicas.yaml:18:14: ${TAVUS_API_KEY} is the Tavus API key" in r.err, r.all
    from e2e import API_KEY

    assert API_KEY not in r.all
