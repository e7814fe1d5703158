"""Issue 14, contract 4: no "internal error" is reachable from input; files are written atomically and never
through a symlink; names cannot hide invisible characters; the create body is what the documented API
expects (consent_in_training_video, model_name only when declared, properties). Real CLI e2e where the
contract is at stake."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from e2e import API_KEY, api_requests, cli_env, names_on, replicas_file, run_cli, write
from fakeserver import FakeServer

from reconciler.engine.config import parse_config
from reconciler.errors import ConfigError

HEAD = "version: 1\nreplicas:\n"


def errors(text, environ=None):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "r.yaml", environ=environ or {})
    return info.value.diagnostics


def warnings(text, environ=None):
    return parse_config(text, "r.yaml", environ=environ or {}).warnings


# ------------------------------------------------------------------------------------------ values


def test_a_var_holding_bytes_that_are_not_utf8_is_a_located_error():
    text = HEAD + "  - name: a\n    train_video_url: https://x.example.com/${PART}.mp4\n    synthetic: true\n"
    diags = errors(text, {"PART": "caf\udce9"})  # what os.environ holds for the byte 0xe9
    assert diags == ["r.yaml:4:22: a ${VAR} used here holds bytes that are not UTF-8 text: fix the variable's "
                     "value (e.g. re-export it from a UTF-8 source)"]


@pytest.mark.parametrize("url", ["https://xn--/a.mp4", "https://xn--zz-/a.mp4", "https://a..b/a.mp4"])
def test_a_host_that_cannot_be_encoded_is_a_located_error(url):
    diags = errors(HEAD + f"  - name: a\n    train_video_url: {url}\n    synthetic: true\n")
    assert len(diags) == 1 and diags[0].startswith("r.yaml:4:22: a: train_video_url has ") and "host" in diags[0]


def test_a_literal_presigned_url_is_warned_and_a_var_is_not():
    signed = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=abc123&X-Amz-Expires=60"
    w = warnings(HEAD + f"  - name: a\n    train_video_url: {signed}\n    synthetic: true\n")
    assert len(w) == 1 and "r.yaml:4:22: a presigned URL is written in the file" in w[0] and "${VAR}" in w[0]
    assert "abc123" not in w[0]
    text = HEAD + "  - name: a\n    train_video_url: ${URL}\n    synthetic: true\n"
    assert warnings(text, {"URL": signed}) == ()
    text = HEAD + "  - name: a\n    train_video_url: https://b/a.mp4?X-Amz-Signature=${SIG}\n    synthetic: true\n"
    assert warnings(text, {"SIG": "abc"}) == ()


# ------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize("ch,what", [("\u200b", "U+200B ZERO WIDTH SPACE"), ("\u200e", "U+200E LEFT-TO-RIGHT MARK"),
                                     ("\u200f", "U+200F RIGHT-TO-LEFT MARK"), ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK"),
                                     ("\u00ad", "U+00AD SOFT HYPHEN"), ("\u00a0", "U+00A0 NO-BREAK SPACE"),
                                     ("\u2060", "U+2060 WORD JOINER"), ("\U000e0041", "U+E0041 TAG LATIN")])
def test_invisible_characters_in_a_declared_name_are_a_located_error(ch, what):
    diags = errors(HEAD + f'  - name: "acme{ch}anna"\n    replica_id: r1\n')
    assert len(diags) == 1 and diags[0].startswith(f"r.yaml:3:11: replicas[0]: name contains the invisible "
                                                   f"character {what}"), diags
    assert "at position 5" in diags[0] and ch not in diags[0]


def test_names_equal_under_normalisation_and_case_are_warned():
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    text = HEAD + "".join(f'  - name: "{n}"\n    replica_id: r{i}\n' for i, n in enumerate([nfc, nfd, "CAFÉ"]))
    w = warnings(text)
    assert len(w) == 2 and all("looks the same as 'café' 'caf\\xe9' (line 3)" in x for x in w), w
    assert "'cafe\\u0301' looks the same" in w[0]


def test_a_mixed_script_name_is_warned():
    w = warnings(HEAD + '  - name: "\u0430nna"\n    replica_id: r1\n')  # Cyrillic а + Latin nna
    assert len(w) == 1 and "mixes Cyrillic and Latin letters" in w[0]
    assert warnings(HEAD + '  - name: "анна"\n    replica_id: r1\n  - name: "日本-anna"\n    replica_id: r2\n') == ()


@pytest.mark.e2e
def test_a_remote_name_with_invisible_characters_is_shown_escaped(sim, tmp_path):
    sim.add_replica(replica_name="acme-anna\u200b", status="completed")
    f = replicas_file(tmp_path, sim, ["acme-anna"])
    for args in (["plan", f], ["status", f], ["plan", f, "--format", "json"]):
        res = run_cli(sim, *args)
        assert res.code == 0 and "\u200b" not in res.all and "\\u200b" in res.out, res.all


# ------------------------------------------------------------------------------------------ CLI input


@pytest.mark.e2e
def test_a_non_utf8_var_stops_apply_before_any_write(sim, tmp_path):
    f = replicas_file(tmp_path, sim, [f"acme-{i}" for i in range(7)], extra=(
        "  - name: acme-7\n    train_video_url: " + sim.video_url("x") + "${PART}.mp4\n    synthetic: true\n"))
    env = {k.encode(): v.encode() for k, v in cli_env(sim).items()}
    env[b"PART"] = b"caf\xe9"
    p = subprocess.run([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve"], env=env,
                       capture_output=True, timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 1 and "holds bytes that are not UTF-8" in err and "internal error" not in err, err
    assert names_on(sim) == [] and api_requests(sim, "POST") == []


@pytest.mark.e2e
def test_apply_with_stdin_closed_is_one_clear_line(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    p = subprocess.run(f"{sys.executable} -m reconciler apply {f} <&-", shell=True, env=cli_env(sim),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no terminal to ask on" in p.stderr and "internal error" not in p.stderr
    assert names_on(sim) == []


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["plan"], ["status"], ["validate"]])
def test_stdout_to_a_full_disk_is_one_clear_line(sim, tmp_path, args):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "reconciler", *args, f], env=cli_env(sim), stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr == "error: No space left on device (writing the output)\n", p.stderr


@pytest.mark.e2e
def test_apply_with_stdout_to_a_full_disk_changes_nothing(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve"], env=cli_env(sim),
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 1 and "No space left on device" in p.stderr and "internal" not in p.stderr
    assert names_on(sim) == []


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["apply", "--timeout", "99999999999999h"], ["wait", "--timeout", "9" * 400],
                                  ["wait", "--poll-interval", "1e9"], ["wait", "--timeout", "367d"]])
def test_absurd_durations_are_one_clear_line(sim, tmp_path, args):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    res = run_cli(sim, args[0], f, *args[1:])
    assert res.code == 1 and len(res.err.strip().splitlines()) == 1 and "internal" not in res.err, res.err
    assert "--timeout" in res.err or "--poll-interval" in res.err


# ------------------------------------------------------------------------------------------ --out


@pytest.mark.e2e
def test_plan_out_refuses_a_symlink_and_leaves_its_target_alone(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    os.chmod(target, 0o644)
    link = tmp_path / "link.plan"
    link.symlink_to(target)
    res = run_cli(sim, "plan", f, "--out", str(link))
    assert res.code == 1 and "is a symbolic link" in res.err, res.all
    assert target.read_text() == "keep me" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert link.is_symlink()


@pytest.mark.e2e
def test_plan_out_replaces_atomically_with_mode_0600_and_no_leftovers(sim, tmp_path):
    f = replicas_file(tmp_path, sim, ["acme-a"])
    out = tmp_path / "release.plan"
    out.write_text("old")
    os.chmod(out, 0o644)
    res = run_cli(sim, "plan", f, "--out", str(out))
    assert res.code == 0, res.all
    assert json.loads(out.read_text())["kind"] == "tavus-reconciler-plan"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release.plan", "replicas.yaml"]
    missing = run_cli(sim, "plan", f, "--out", str(tmp_path / "no" / "such" / "dir.plan"))
    assert missing.code == 1 and "cannot write plan" in missing.err and "internal" not in missing.err


# ------------------------------------------------------------------------------------------ the create body


def _capture_server():
    posts = []

    def handler(method, path, query, body):
        if method == "GET":
            return 200, {"data": [], "total_count": 0}
        posts.append(json.loads(body))
        return 200, {"replica_id": f"r{len(posts)}", "status": "started"}

    return FakeServer(handler), posts


@pytest.mark.e2e
def test_the_create_body_follows_the_documented_api(tmp_path):
    f = write(tmp_path, """\
        version: 1
        defaults:
          properties:
            gaze_correction: true
        replicas:
          - name: spoken-consent
            train_video_url: https://v.example.com/a.mp4
            consent_in_training_video: true
          - name: chosen-model
            train_video_url: https://v.example.com/b.mp4
            synthetic: true
            model_name: phoenix-3
            properties:
              gaze_correction: false
              background_green_screen: true
          - name: future-model
            train_video_url: https://v.example.com/c.mp4
            synthetic: true
            model_name: phoenix-7
        """)
    server, posts = _capture_server()
    with server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
        env.update(TAVUS_API_URL=server.url, TAVUS_API_KEY=API_KEY)
        plan = subprocess.run([sys.executable, "-m", "reconciler", "plan", f], env=env, capture_output=True,
                              text=True, timeout=60)
        assert plan.returncode == 0 and "phoenix-7" in plan.stderr and "not one this version knows" in plan.stderr
        assert '"background_green_screen": true' in plan.stdout
        res = subprocess.run([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve", "--no-wait",
                              "--skip-url-check", "--parallelism", "1"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    by_name = {p["replica_name"]: p for p in posts}
    assert by_name["spoken-consent"] == {"replica_name": "spoken-consent", "train_video_url":
                                         "https://v.example.com/a.mp4", "properties": {"gaze_correction": True}}
    assert by_name["chosen-model"]["model_name"] == "phoenix-3"
    assert by_name["chosen-model"]["properties"] == {"gaze_correction": False, "background_green_screen": True}
    assert by_name["future-model"]["model_name"] == "phoenix-7"


def test_consent_rules():
    base = HEAD + "  - name: a\n    train_video_url: https://v/a.mp4\n"
    assert "consent_video_url is required" in errors(base)[0]
    assert "consent_in_training_video: true instead" in errors(base)[0]
    assert "not both" in errors(base + "    consent_in_training_video: true\n"
                                       "    consent_video_url: https://v/c.mp4\n")[0]
    d = parse_config(base + "    consent_in_training_video: true\n", "r.yaml", environ={}).replicas[0]
    assert "consent_video_url" not in d.create_payload() and d.urls == {"train_video_url": "https://v/a.mp4"}
    assert any("must be true or false" in e for e in errors(base + "    consent_in_training_video: yes please\n"))
    props = parse_config(base + "    synthetic: true\n    properties:\n      gaze: true\n", "r.yaml", environ={})
    assert "properties: 'gaze' is not a create-time property the API documents" in props.warnings[0]  # issue 25
    assert props.replicas[0].create_payload()["properties"] == {"gaze": True}  # sent as written


def test_models_are_compared_only_when_declared():
    from reconciler.engine.planner import compute_plan
    from reconciler.kinds.replicas.models import RemoteReplica

    remote = [RemoteReplica("r1", "a", "completed", model_name="phoenix-3")]
    undeclared = parse_config(HEAD + "  - name: a\n    train_video_url: https://v/a.mp4\n    synthetic: true\n",
                              "r.yaml", environ={})
    assert not compute_plan(undeclared, remote).has_changes
    declared = parse_config(HEAD + "  - name: a\n    train_video_url: https://v/a.mp4\n    synthetic: true\n"
                                   "    model_name: phoenix-4\n", "r.yaml", environ={})
    assert compute_plan(declared, remote).changes[0].reason == "model_name changed: forces replacement"
    props = parse_config(HEAD + "  - name: a\n    train_video_url: https://v/a.mp4\n    synthetic: true\n"
                                "    properties:\n      background_green_screen: true\n", "r.yaml", environ={})
    assert not compute_plan(props, remote).has_changes  # create-time inputs never replace


@pytest.mark.e2e
def test_deleting_a_replica_the_api_calls_invalid_is_already_gone(tmp_path):
    stray = {"replica_id": "r9", "replica_name": "acme-stray", "status": "completed", "replica_type": "user"}

    def handler(method, path, query, body):
        if method == "GET" and path == "/v2/replicas/r9":  # the re-read right before the delete (issue 24)
            return 200, stray
        if method == "GET":
            return 200, {"data": [stray], "total_count": 1}
        return 400, {"error": "Invalid replica_id"}

    f = write(tmp_path, "version: 1\nsettings:\n  prune: true\n  scope: {whole_account: true}\nreplicas: []\n")
    with FakeServer(handler) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
        env.update(TAVUS_API_URL=server.url, TAVUS_API_KEY=API_KEY)
        res = subprocess.run([sys.executable, "-m", "reconciler", "apply", f, "--auto-approve"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "r9 was already gone" in res.stdout, res.stdout + res.stderr


def test_an_unexpected_failure_mid_apply_still_gets_an_outcome():
    from reconciler.engine.executor import execute
    from reconciler.engine.planner import compute_plan

    config = parse_config(HEAD + "".join(f"  - name: n{i}\n    train_video_url: https://v/{i}.mp4\n"
                                         "    synthetic: true\n" for i in range(3)), "r.yaml", environ={})

    class Client:
        def list_replicas(self, **kw):
            return []

        def create_replica(self, payload, known_ids=()):
            if payload["replica_name"] == "n1":
                raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")
            return "r-" + payload["replica_name"]

    report = execute(compute_plan(config, []), Client(), known_ids=set(), parallelism=1, emit=lambda s: None)
    assert not report.ok and len(report.outcomes) == 3
    failed = [o for o in report.outcomes if not o.ok]
    assert len(failed) == 1 and "unexpected UnicodeEncodeError" in failed[0].detail


def test_messages_that_start_with_a_blank_line_print_a_real_one(capsys):
    from reconciler.cli import err

    err("\nApply FAILED. \x1b[2J\nsecond")
    assert capsys.readouterr().err == "\nApply FAILED. \\x1b[2J\\x0asecond\n"


def test_export_of_a_remote_name_with_invisible_characters_stays_loadable():
    from reconciler.kinds.replicas.models import RemoteReplica
    from reconciler.workflows.export import export_yaml

    text, warns = export_yaml([RemoteReplica("r1", "acme-anna\u200b", "completed")], source="s", when="w",
                              version="v", name_prefix=None, include_system=False)
    config = parse_config(text, "exported.yaml", environ={})
    assert [d.name for d in config.replicas] == ["acme-anna"] and "plan will rename it" in warns[0]
