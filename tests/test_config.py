"""The replicas file loader: located diagnostics, ${VAR}s, defaults, hostile input, the shipped schema/example."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.api.redact import CONTROL_CHARS, is_invisible
from reconciler.engine.config import interpolate, load_config, load_schema, parse_config
from reconciler.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
F = "replicas.yaml"

HEAD = "version: 1\nreplicas:\n"
HUMAN = "    train_video_url: https://v.example.com/a.mp4\n    consent_video_url: https://v.example.com/c.mp4\n"


def errors(text: str, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, F, environ=environ or {})
    return info.value.diagnostics


def ok(text: str, environ: dict | None = None):
    return parse_config(text, F, environ=environ or {})


# ----------------------------------------------------------------------------- located errors (table)

ERROR_CASES = [
    pytest.param(HEAD + "  - name: a\n    train_video_ulr: https://x/y.mp4\n",
                 [(4, 5, "unknown field 'train_video_ulr' (did you mean 'train_video_url'?)")], id="unknown-key"),
    pytest.param("version: 1\nreplicas: []\nsetings: {}\n",
                 [(3, 1, "unknown field 'setings' (did you mean 'settings'?)")], id="unknown-top-key"),
    pytest.param("version: 1\ndefaults:\n  name: x\n  modle_name: phoenix-3\nreplicas: []\n",
                 [(3, 3, "defaults cannot set name"), (4, 3, "did you mean 'model_name'?")], id="defaults-keys"),
    pytest.param(HEAD + "  - replica_id: r1\n", [(3, 5, "replicas[0]: missing required field 'name'")],
                 id="missing-name"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n  - name: a\n    replica_id: r2\n",
                 [(5, 11, "duplicate name 'a' (first declared at line 3)")], id="duplicate-names"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n  - name: b\n    replica_id: r1\n",
                 [(6, 17, "b: replica_id r1 is already used at line 3")], id="duplicate-replica-ids"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    name: b\n",
                 [(5, 5, "duplicate key 'name' (first at line 3)")], id="duplicate-keys"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    model_name: gpt-4\n",
                 [(5, 17, "a: model_name must be a phoenix model such as phoenix-4, not 'gpt-4'")], id="bad-model"),
    pytest.param(HEAD + "  - name: a\n    train_video_url: https://x/a\n    train_image_url: https://x/b\n"
                 "    voice_name: aria\n    synthetic: true\n",
                 [(3, 5, "a: declare either train_video_url or train_image_url + voice_name, not both")],
                 id="video-and-image"),
    pytest.param(HEAD + "  - name: a\n    train_video_url: https://x/a\n    voice_name: aria\n    synthetic: true\n",
                 [(3, 5, "a: declare either train_video_url or train_image_url + voice_name, not both")],
                 id="video-and-voice"),
    pytest.param(HEAD + "  - name: a\n    voice_name: aria\n    synthetic: true\n",
                 [(3, 5, "a: voice_name needs train_image_url")], id="voice-without-image"),
    pytest.param(HEAD + "  - name: a\n    train_image_url: https://x/a.png\n    synthetic: true\n",
                 [(3, 5, "a: train_image_url needs voice_name")], id="image-without-voice"),
    pytest.param(HEAD + "  - name: a\n    synthetic: true\n", [(3, 5, "a: no training source")], id="no-source"),
    pytest.param(HEAD + "  - name: acme-anna\n    train_video_url: https://x/a.mp4\n",
                 [(3, 5, "acme-anna: consent_video_url is required for a human replica (or set synthetic: true)")],
                 id="consent-missing"),
    pytest.param("version: 1\nsettings:\n  scope:\n    name_prefix: acme-\nreplicas:\n  - name: other\n"
                 "    replica_id: r1\n",
                 [(6, 11, "other: the name is outside this file's scope: it must start with 'acme-'")], id="scope"),
    pytest.param("replicas: []\n", [(1, 1, "missing required field 'version'")], id="version-missing"),
    pytest.param("version: 2\nreplicas: []\n", [(1, 10, "version must be 1, not 2")], id="version-wrong"),
    pytest.param("version: '1'\nreplicas: []\n", [(1, 10, "version must be 1, not '1'")], id="version-string"),
    pytest.param("version: 1\n", [(1, 1, "nothing to manage: declare at least one of replicas, personas, documents")],
                 id="replicas-missing"),
    pytest.param("version: 1\nreplicas:\n  a: 1\n", [(3, 3, "replicas must be a list, not a mapping")],
                 id="replicas-mapping"),
    pytest.param("version: 1\nreplicas:\n", [(2, 10, "replicas must be a list, not null; write [] for none")],
                 id="replicas-null"),
    pytest.param(HEAD + "  - acme-a\n", [(3, 5, "replicas[0] must be a mapping, not a string")], id="entry-string"),
    pytest.param(HEAD + "  - name: 123\n    replica_id: r1\n",
                 [(3, 11, "replicas[0]: name must be a string, not an integer 123; put it in quotes")],
                 id="name-number"),
    pytest.param(HEAD + "  - name: ' a'\n    replica_id: r1\n",
                 [(3, 11, "replicas[0]: name must not start or end with whitespace")], id="name-whitespace"),
    pytest.param(HEAD + "  - name: ''\n    replica_id: r1\n", [(3, 11, "name must not be empty")], id="name-empty"),
    pytest.param(HEAD + f"  - name: {'n' * 129}\n    replica_id: r1\n", [(3, 11, "name is too long")],
                 id="name-too-long"),
    pytest.param(HEAD + "  - name: a\n    replica_id: 'r 1'\n", [(4, 17, "is not a replica id")], id="bad-replica-id"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    synthetic: maybe\n",
                 [(5, 16, "a: synthetic must be true or false, not a string 'maybe'")], id="synthetic-not-bool"),
    pytest.param(HEAD + "  - name: a\n    train_video_url: ftp://x/a.mp4?sig=SECRET\n    synthetic: true\n",
                 [(4, 22, "a: train_video_url must be an http:// or https:// URL")], id="url-scheme"),
    pytest.param(HEAD + "  - name: a\n    train_video_url: https:///a.mp4\n    synthetic: true\n",
                 [(4, 22, "a: train_video_url has no host")], id="url-no-host"),
    pytest.param(HEAD + "  - name: a\n    train_video_url: ${EMPTY:-}\n    synthetic: true\n",
                 [(4, 22, "a: train_video_url is empty")], id="url-empty-after-interpolation"),
    pytest.param(HEAD + "  - name: ${NAME}\n    replica_id: r1\n",
                 [(3, 11, "${NAME} is not set: replicas[0].name must be known")], id="unset-var-in-name"),
    pytest.param(HEAD + "  - name: a\n    replica_id: ${RID}\n", [(4, 17, "${RID} is not set")], id="unset-var-in-id"),
    pytest.param("version: 1\nsettings:\n  scope:\n    name_prefix: ${PREFIX}\nreplicas: []\n",
                 [(4, 18, "${PREFIX} is not set: settings.scope.name_prefix must be known")], id="unset-var-prefix"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    callback_url: ${HOOK\n",
                 [(5, 19, "unterminated ${ (write $${ for a literal ${)")], id="unterminated-var"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    callback_url: https://x/${1BAD}\n",
                 [(5, 19, "invalid variable reference '${1BAD}'")], id="bad-var-name"),
    pytest.param(HEAD + "  - name: a\n    replica_id: r1\n    callback_url: ${A:-${B}}\n",
                 [(5, 19, "nested ${...}")], id="nested-var"),
    # the YAML itself
    pytest.param("", [(1, 1, "the file is empty (expected version: 1 and replicas: [...])")], id="empty"),
    pytest.param("# only a comment\n\n", [(1, 1, "the file is empty")], id="only-comments"),
    pytest.param("version: 1\nreplicas: []\n---\nversion: 1\nreplicas: []\n",
                 [(3, 1, "more than one YAML document")], id="multi-document"),
    pytest.param("- version: 1\n", [(1, 1, "the top level must be a mapping")], id="top-level-list"),
    pytest.param("version: 1\nreplicas: [\n", [(3, 1, "invalid YAML: ")], id="invalid-yaml"),
    pytest.param("version: 1\nreplicas: !!python/object:os.system []\n",
                 [(2, 11, "unsupported YAML tag !!python/object:os.system")], id="python-tag"),
    pytest.param("version: !!python/name:os.system ''\nreplicas: []\n",
                 [(1, 10, "unsupported YAML tag !!python/name:os.system")], id="python-scalar-tag"),
    pytest.param("version: 1\nreplicas: &r []\nother: *r\n",
                 [(3, 1, "unknown field 'other'"), (3, 8, "YAML aliases (*name) are not supported")], id="alias"),
    pytest.param("version: 1\n? [a]\n: 1\nreplicas: []\n", [(2, 3, "a mapping key must be a plain string")],
                 id="complex-key"),
    pytest.param("version: !!int\nreplicas: []\n", [(1, 10, "invalid !!int value ''")], id="bad-int"),
    pytest.param("version: 1\nreplicas: !!set {a}\n", [(2, 11, "unsupported YAML tag !!set")], id="set-tag"),
    pytest.param("version: 1\nreplicas:\n  - <<: {name: a}\n", [(3, 5, "YAML merge keys (<<) are not supported"),
                                                                (3, 5, "missing required field 'name'")],
                 id="merge-key"),
    pytest.param("version: 1\x07\nreplicas: []\n", [(1, 11, "unacceptable character #x0007")], id="control-char"),
    pytest.param("version: 1\x00\n", [(1, 11, "the file looks binary")], id="nul"),
]


@pytest.mark.parametrize(("text", "expected"), ERROR_CASES)
def test_located_errors(text, expected):
    diags = errors(text)
    for line, col, message in expected:
        prefix = f"{F}:{line}:{col}: "
        assert any(d.startswith(prefix) and message in d for d in diags), (prefix + message, diags)
    assert len(diags) == len(expected), diags  # nothing redundant (e.g. no raw oneOf dump)


def test_all_problems_are_reported_sorted_by_position():
    text = HEAD + "  - name: b\n    modle_name: x\n  - name: b\n    replica_id: r1\n    protect: 1\nextra: 1\n"
    diags = errors(text)
    positions = [tuple(int(x) for x in d.split(":")[1:3]) for d in diags]
    assert positions == sorted(positions) and len(diags) >= 4
    assert not any("oneOf" in d or "is not valid under" in d for d in diags)


# ----------------------------------------------------------------------------- valid files

def test_image_and_voice_is_valid():
    (d,) = ok(HEAD + "  - name: a\n    train_image_url: https://x/a.png\n    voice_name: aria\n"
                     "    consent_video_url: https://x/c.mp4\n").replicas
    assert (d.train_image_url, d.voice_name, d.train_video_url) == ("https://x/a.png", "aria", None)
    assert d.create_payload()["train_image_url"] == "https://x/a.png"


def test_synthetic_without_consent_is_valid():
    (d,) = ok(HEAD + "  - name: robot\n    train_video_url: https://x/r.mp4\n    synthetic: true\n").replicas
    assert d.synthetic and d.consent_video_url is None and d.model_name is None  # not declared: not sent


def test_adopted_replica_needs_no_training_fields():
    (d,) = ok(HEAD + "  - name: legacy\n    replica_id: r79e1c033f\n    protect: true\n").replicas
    assert (d.replica_id, d.protect, d.line) == ("r79e1c033f", True, 3)


def test_values_settings_and_line_numbers():
    config = ok("version: 1\nsettings:\n  prune: true\n  scope:\n    name_prefix: acme-\nreplicas:\n"
                "  - name: acme-a\n" + HUMAN + "    model_name: phoenix-3\n    callback_url: ''\n"
                "  - name: acme-b\n    replica_id: r2\n")
    assert config.settings.prune is True and config.settings.name_prefix == "acme-"
    a, b = config.replicas
    assert (a.name, a.line, a.model_name, a.callback_url) == ("acme-a", 7, "phoenix-3", None)
    assert (b.name, b.line) == ("acme-b", 12)
    assert config.version == 1 and config.path == F and config.source.startswith("version: 1")


def test_defaults_are_merged_and_the_entry_wins():
    config = ok("version: 1\ndefaults:\n  model_name: phoenix-3\n  callback_url: https://hooks.example.com/t\n"
                "  synthetic: true\n  voice_name: aria\nreplicas:\n"
                "  - name: a\n    train_video_url: https://x/a.mp4\n"
                "  - name: b\n    train_image_url: https://x/b.png\n    model_name: phoenix-4\n"
                "  - name: c\n    train_video_url: https://x/c.mp4\n    consent_video_url: https://x/cc.mp4\n"
                "    synthetic: false\n    callback_url: ''\n")
    a, b, c = config.replicas
    assert (a.model_name, a.callback_url, a.synthetic, a.voice_name) == (
        "phoenix-3", "https://hooks.example.com/t", True, None)  # a default voice only applies to image replicas
    assert (b.model_name, b.voice_name, b.train_image_url) == ("phoenix-4", "aria", "https://x/b.png")
    assert (c.synthetic, c.callback_url) == (False, None)


def test_default_training_source_is_replaced_as_a_whole():
    config = ok("version: 1\ndefaults:\n  train_video_url: https://x/default.mp4\n  synthetic: true\nreplicas:\n"
                "  - name: a\n  - name: b\n    train_image_url: https://x/b.png\n    voice_name: aria\n")
    a, b = config.replicas
    assert a.train_video_url == "https://x/default.mp4"
    assert (b.train_video_url, b.train_image_url) == (None, "https://x/b.png")


# ----------------------------------------------------------------------------- ${VAR}

@pytest.mark.parametrize(("raw", "env", "expected", "missing"), [
    ("${A}", {"A": "x"}, "x", ()),
    ("pre-${A}-post", {"A": "x"}, "pre-x-post", ()),
    ("${A:-dflt}", {}, "dflt", ()),
    ("${A:-dflt}", {"A": ""}, "dflt", ()),
    ("${A:-}", {}, "", ()),
    ("${A}", {"A": ""}, "", ()),
    ("$${A}", {"A": "x"}, "${A}", ()),
    ("cost $5 and $$ and $", {}, "cost $5 and $$ and $", ()),
    ("${B}/${A}", {"A": "x"}, "${B}/${A}", ("B",)),
    ("${B}${C}${B}", {}, "${B}${C}${B}", ("B", "C")),
])
def test_interpolate(raw, env, expected, missing):
    assert interpolate(raw, env) == (expected, missing)


def test_variables_are_resolved_from_the_environment():
    text = HEAD + ("  - name: a\n    train_video_url: ${BASE}/a.mp4\n"
                   "    consent_video_url: ${BASE:-https://fallback.example.com}/c.mp4\n")
    (d,) = ok(text, {"BASE": "https://v.example.com"}).replicas
    assert (d.train_video_url, d.consent_video_url) == ("https://v.example.com/a.mp4", "https://v.example.com/c.mp4")
    (d,) = ok(text.replace("${BASE}/a", "https://x/a")).replicas
    assert d.consent_video_url == "https://fallback.example.com/c.mp4"


def test_environ_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("TAVUS_TEST_URL", "https://env.example.com/a.mp4")
    text = HEAD + "  - name: a\n    train_video_url: ${TAVUS_TEST_URL}\n    synthetic: true\n"
    assert parse_config(text, F).replicas[0].train_video_url == "https://env.example.com/a.mp4"


def test_unset_variable_is_a_warning_and_listed_in_missing_vars():
    text = HEAD + "  - name: acme-anna\n    train_video_url: ${ANNA_TRAIN_URL}\n    consent_video_url: ${C}/c.mp4\n"
    config = ok(text)
    (d,) = config.replicas
    assert d.train_video_url == "${ANNA_TRAIN_URL}" and d.missing_vars == ("ANNA_TRAIN_URL", "C")
    assert f"{F}:4:22: ${{ANNA_TRAIN_URL}} is not set (needed only when acme-anna is created)" in config.warnings
    assert any(w.startswith(f"{F}:5:24: ${{C}} is not set") for w in config.warnings)


def test_unset_variable_in_defaults_reaches_every_inheriting_replica():
    config = ok("version: 1\ndefaults:\n  callback_url: ${HOOK}\nreplicas:\n  - name: a\n    replica_id: r1\n"
                "  - name: b\n    replica_id: r2\n    callback_url: https://h.example.com/\n")
    a, b = config.replicas
    assert a.missing_vars == ("HOOK",) and b.missing_vars == ()
    assert len(config.warnings) == 1 and config.warnings[0].startswith(f"{F}:3:17: ${{HOOK}} is not set")


def test_keys_are_not_interpolated():
    assert "unknown field '${X}'" in errors(HEAD + "  - name: a\n    replica_id: r1\n    ${X}: 1\n", {"X": "y"})[0]


def test_escaped_dollar_brace_is_literal():
    (d,) = ok(HEAD + "  - name: a$${x}\n    replica_id: r1\n").replicas
    assert d.name == "a${x}"


# ----------------------------------------------------------------------------- hostile input

def test_billion_laughs_is_rejected():
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]\n"
    assert text.count("\n") == 9 and len(text) < 1000  # 9 lines that would expand to 9**9 (387 million) strings
    text = "version: 1\nreplicas: []\n" + text
    diags = errors(text)  # the aliases are refused before anything is expanded
    assert any("YAML aliases (*name) are not supported" in d for d in diags)


@pytest.mark.parametrize("text", [
    "[" * 200 + "]" * 200,
    "version: 1\nreplicas:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)),
    "- " * 100 + "x\n",
    "{a: " * 100 + "}" * 100,
])
def test_deep_nesting_is_rejected(text):
    diags = errors(text)
    assert len(diags) == 1 and "nested deeper than 64 levels" in diags[0]
    assert re.match(rf"{F}:\d+:\d+: ", diags[0])


def test_pathological_nesting_is_rejected_without_recursion():
    diags = errors("[" * 1_000_000 + "]" * 1_000_000)  # a recursive composer would overflow the stack
    assert len(diags) == 1 and "nest" in diags[0] and re.match(rf"{F}:1:\d+: ", diags[0])


def test_non_utf8_and_binary_files(tmp_path):
    p = tmp_path / "replicas.yaml"
    p.write_bytes(b"version: 1\nreplicas:\n  - name: caf\xe9\n")
    (d,) = load_config_errors(p)
    assert d == f"{p}:3:14: the file is not UTF-8 text (invalid byte 0xe9); save it as UTF-8"
    p.write_bytes(bytes(range(256)) * 4)
    assert load_config_errors(p) == [f"{p}:1:1: the file looks binary (it contains a NUL byte), not YAML"]
    p.write_bytes(b"\x89PNG\r\n\x1a\nIHDR")
    (d,) = load_config_errors(p)
    assert d.startswith(f"{p}:1:1: ") and "not UTF-8" in d
    p.write_bytes("version: 1\n".encode("utf-16"))
    assert load_config_errors(p) == [f"{p}:1:1: the file is UTF-16 text; save it as UTF-8"]


def load_config_errors(path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    return info.value.diagnostics


def test_file_errors(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert load_config_errors(missing) == [f"{missing}: no such file"]
    assert "is a directory" in load_config_errors(tmp_path)[0]
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"version: 1\nreplicas: []\n" + b"#" * (5 * 1024 * 1024))
    assert load_config_errors(huge) == [f"{huge}: the file is too large (over 5 MB)"]
    assert "too large" in errors("#" * (5 * 1024 * 1024 + 1))[0]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_unreadable_file():
    """Root reads anything, so as root (CI's containers) the read is made with the effective user dropped to
    ``nobody`` for its duration (issue 24: this test used to be skipped there)."""
    import contextlib
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o711)  # traversable by anyone: the file's own mode is what refuses the read
        p = Path(folder) / "replicas.yaml"
        p.write_text("version: 1\nreplicas: []\n")
        p.chmod(0)
        with contextlib.ExitStack() as unprivileged:
            if os.geteuid() == 0:
                os.seteuid(65534)  # nobody; the real uid stays root, so it can be taken back
                unprivileged.callback(os.seteuid, 0)
            errors_seen = load_config_errors(p)
        assert errors_seen == [f"{p}: cannot read the file (permission denied)"]


def test_huge_string_within_the_limit_is_fine():
    url = "https://x.example.com/" + "a" * 1_000_000
    (d,) = ok(HEAD + f"  - name: a\n    train_video_url: {url}\n    synthetic: true\n").replicas
    assert d.train_video_url == url


def test_ten_thousand_replicas_load():  # timed by bench/bench.py, not here
    lines = [HEAD]
    for i in range(10_000):
        lines.append(f"  - name: r-{i}\n    train_video_url: ${{BASE:-https://v.example.com}}/{i}.mp4\n"
                     f"    consent_video_url: https://v.example.com/{i}-c.mp4\n")
    text = "".join(lines)
    config = ok(text)
    assert len(config.replicas) == 10_000 and config.replicas[-1].line == 3 + 3 * 9_999


def test_errors_in_a_large_file_are_still_all_reported():
    entries = "".join(f"  - name: r{i}\n    replica_id: r{i}\n" for i in range(2000))
    text = HEAD + entries + "  - name: r5\n    replica_id: zz\n    model_name: nope\n"
    diags = errors(text)
    assert [d.split(": ", 1)[1] for d in diags] == [
        "duplicate name 'r5' (first declared at line 13)",
        "r5: model_name must be a phoenix model such as phoenix-4, not 'nope'",
    ]


# ----------------------------------------------------------------------------- shipped files

def test_example_file_validates():
    config = load_config(ROOT / "examples/replicas.yaml", environ={})
    assert [d.name for d in config.replicas] == ["acme-anna", "acme-robot", "acme-news-anchor", "acme-legacy"]
    assert config.settings.name_prefix == "acme-" and config.settings.prune is False
    assert [w.split(": ", 1)[1] for w in config.warnings] == [
        "${ANNA_TRAIN_URL} is not set (needed only when acme-anna is created)"]
    anna, robot, anchor, legacy = config.replicas
    assert anna.consent_video_url == "https://videos.example.com/anna-consent.mp4"
    assert robot.synthetic and robot.model_name == "phoenix-3"
    assert (anchor.train_image_url, anchor.voice_name) == ("https://videos.example.com/anchor.png", "aria")
    assert legacy.replica_id and legacy.protect
    local = load_config(ROOT / "examples/replicas.yaml",
                        environ={"ANNA_TRAIN_URL": "http://127.0.0.1:1/a.mp4", "VIDEO_BASE_URL": "http://127.0.0.1:1"})
    assert local.warnings == () and local.replicas[1].train_video_url == "http://127.0.0.1:1/robot.mp4"


def test_example_and_schema_agree_for_editors():
    schema = load_schema("replicas.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("/schemas/replicas.schema.json")
    doc = yaml.safe_load((ROOT / "examples/replicas.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)  # ${VAR}s included: no URL format is enforced
    for name, sub in schema["$defs"].items():
        if name in ("name", "replica_id", "model_name", "synthetic", "protect") or name.endswith("_url"):
            assert sub.get("title") and sub.get("description"), name


@pytest.mark.parametrize("name", ["replicas.schema.json", "plan.schema.json", "status.schema.json"])
def test_load_schema_finds_shipped_schemas(name):
    if not (ROOT / "schemas" / name).exists():
        pytest.skip(f"{name} is not written yet")
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


def test_load_schema_is_cached_and_packaged():
    assert load_schema("replicas.schema.json") is load_schema("replicas.schema.json")
    with pytest.raises(FileNotFoundError):
        load_schema("no-such.schema.json")


# ----------------------------------------------------------------------------- properties

@settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("utf-8", errors="replace")),
                 st.lists(st.sampled_from(["version: 1\n", "replicas:\n", "  - name: a\n", "    replica_id: r\n",
                                           "&a ", "*a ", "[", "]", "{", "}", "- ", ": ", "${", "}", "!!str ", "\t",
                                           "---\n", "? ", "'", '"', "\n", "  ", "!!int ", "!!float ", "!!bool ",
                                           "!!binary ", "<<: ", "%TAG ! tag:x,2000:\n", "!x ", "~", "1e400",
                                           "\ufeff", "\u2028", "|\n"]),
                          max_size=40).map("".join)))
def test_arbitrary_text_never_crashes(text):
    try:
        config = parse_config(text, F, environ={})
    except ConfigError as e:
        assert e.diagnostics and all(d.startswith(F + ":") for d in e.diagnostics)
    else:
        assert config.version == 1


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]),
                min_size=1, max_size=40).filter(
    lambda s: s == s.strip() and "$" not in s and not CONTROL_CHARS.search(s)
    and not any(is_invisible(c) for c in s))  # what the loader accepts


@settings(max_examples=100, deadline=2000)
@given(st.lists(st.tuples(names, st.booleans(), st.sampled_from(["phoenix-3", "phoenix-4"])), max_size=12,
                unique_by=lambda t: t[0]))
def test_generated_files_round_trip(entries):
    replicas = []
    for name, synthetic, model in entries:
        entry = {"name": name, "train_video_url": "https://v.example.com/x.mp4", "model_name": model}
        if synthetic:
            entry["synthetic"] = True
        else:
            entry["consent_video_url"] = "https://v.example.com/c.mp4"
        replicas.append(entry)
    text = yaml.safe_dump({"version": 1, "replicas": replicas}, allow_unicode=True, sort_keys=False)
    config = parse_config(text, F, environ={})
    assert [(d.name, d.synthetic, d.model_name) for d in config.replicas] == entries


def test_model_names_are_an_open_vocabulary_dotted_versions_included():
    """Issue 25: phoenix-4.5 is documented (no warning); any other phoenix-<version>, dotted or not, is sent as is
    with a warning, never an error."""
    body = "version: 1\nreplicas:\n" + "".join(
        f"  - name: r{i}\n    train_video_url: https://x/{i}.mp4\n    synthetic: true\n    model_name: {m}\n"
        for i, m in enumerate(("phoenix-4.5", "phoenix-5", "phoenix-5.1.2")))
    config = ok(body)
    assert [r.model_name for r in config.replicas] == ["phoenix-4.5", "phoenix-5", "phoenix-5.1.2"]
    assert [w.split(": ", 1)[1].split(" is not")[0] for w in config.warnings] == [
        "r1: model_name 'phoenix-5'", "r2: model_name 'phoenix-5.1.2'"]
