"""personas: in the file (issue 17): schema, one test per validation rule, DesiredPersona as built, secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.api.redact import redact_text
from reconciler.engine.config import load_config, parse_config
from reconciler.errors import ConfigError
from reconciler.kinds.personas.models import DesiredPersona

ROOT = Path(__file__).resolve().parent.parent
F = "replicas.yaml"
HEAD = ("version: 1\nreplicas:\n  - name: acme-anna\n    replica_id: r1\n"
        "  - name: acme-bob\n    replica_id: r2\npersonas:\n")  # personas start at line 8


def errors(text: str, environ: dict | None = None, path: str = F) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, path, environ=environ or {})
    return info.value.diagnostics


def ok(text: str, environ: dict | None = None, path: str = F):
    return parse_config(text, path, environ=environ or {})


ERROR_CASES = [
    pytest.param("  - name: p\n    system_prompt: a\n  - name: p\n    system_prompt: b\n",
                 ["replicas.yaml:10:11: duplicate persona name 'p' (first declared at line 8)"], id="duplicate-name"),
    pytest.param("  - name: p\n    system_prompt: a\n    default_replica: acme-anna\n    default_replica_id: r9\n",
                 ["replicas.yaml:11:5: p: declare either default_replica (a replica of this file, by name) or "
                  "default_replica_id (the id of a replica this file does not declare), not both"], id="xor-replica"),
    pytest.param("  - name: p\n    system_prompt: a\n    default_replica: acme-ana\n",
                 ["replicas.yaml:10:22: p: default_replica 'acme-ana' is not a replica declared in this file "
                  "(did you mean 'acme-anna'?)"], id="undeclared-replica-did-you-mean"),
    pytest.param("  - name: p\n    system_prompt: a\n    default_replica: zzz\n",
                 ["replicas.yaml:10:22: p: default_replica 'zzz' is not a replica declared in this file (declare "
                  "it under replicas:, or use default_replica_id: <id> for a replica this file does not declare)"],
                 id="undeclared-replica"),
    pytest.param("  - name: p\n    system_prompt: a\n    layers:\n      llm: {model: m, api_key: sk-live-123456}\n",
                 ["replicas.yaml:11:32: p: layers.llm.api_key must be written as ${VAR} (an environment variable "
                  "holding the key): a key written in the file is a secret in git"], id="literal-api-key"),
    pytest.param("  - name: p\n    system_prompt: a\n    layers:\n      tts: {api_key: \"sk-${K}\"}\n",
                 ["replicas.yaml:11:22: p: layers.tts.api_key must be written as ${VAR} (an environment variable "
                  "holding the key): a key written in the file is a secret in git"], id="partial-var-api-key"),
    pytest.param("  - name: p\n    system_prompt: a\n    layers:\n      tts: {api_key: \"${K:-sk-default}\"}\n",
                 ["replicas.yaml:11:22: p: layers.tts.api_key must be written as ${VAR} (an environment variable "
                  "holding the key): a key written in the file is a secret in git"], id="default-in-api-key"),
    pytest.param("  - name: p\n    system_prompt: a\n    system_prompt_file: a.md\n",
                 ["replicas.yaml:10:5: p: declare either system_prompt or system_prompt_file, not both"],
                 id="xor-prompt"),
    pytest.param("  - name: p\n    pipeline_mode: full\n",
                 ["replicas.yaml:8:5: p: system_prompt is required (or system_prompt_file: a file next to this one "
                  "holding it), unless pipeline_mode is echo"], id="prompt-required"),
    pytest.param("  - name: p\n    system_prompt_file: nope.md\n",
                 ["replicas.yaml:9:25: p: system_prompt_file 'nope.md': no such file (the path is relative to "
                  "replicas.yaml's folder)"], id="prompt-file-missing"),
    pytest.param("  - name: p\n    system_prompt: a\n    layers: {llm: {model: 4}}\n",
                 ["replicas.yaml:10:27: p: layers.llm.model must be a string, not an integer 4; put it in quotes"],
                 id="documented-layer-field-type"),
    pytest.param("  - name: p\n    system_prompt: a\n    guardrail_ids: g1\n",
                 ["replicas.yaml:10:20: p: guardrail_ids must be a list, not a string 'g1'"],
                 id="documented-new-field-type"),
    pytest.param("  - name: p\n    system_prompt: a\n    document_tags: hiring\n",
                 ["replicas.yaml:10:20: p: document_tags must be a list, not a string 'hiring'"], id="tags-not-list"),
    pytest.param("  - name: ${WHO}\n    system_prompt: a\n",
                 ["replicas.yaml:8:11: ${WHO} is not set: personas[0].name must be known to plan (set the variable "
                  "or give a default with ${VAR:-default})"], id="unset-name"),
    pytest.param("  - name: p\n    system_prompt: a\n    default_replica_id: ${RID}\n",
                 ["replicas.yaml:10:25: ${RID} is not set: p: default_replica_id must be known to plan (set the "
                  "variable or give a default with ${VAR:-default})"], id="unset-replica-id"),
    pytest.param("  - name: p\n    system_prompt: a\n    persona_id: p1\n  - name: q\n    system_prompt: a\n"
                 "    persona_id: p1\n",
                 ["replicas.yaml:13:17: q: persona_id p1 is already used at line 8"], id="duplicate-persona-id"),
]


@pytest.mark.parametrize("body,expected", ERROR_CASES)
def test_each_rule_is_a_located_error(body, expected):
    assert errors(HEAD + body) == expected


def test_scope_applies_to_persona_names():
    text = HEAD.replace("version: 1\n", "version: 1\nsettings: {scope: {name_prefix: acme-}}\n") \
        + "  - name: other\n    system_prompt: a\n"
    assert errors(text) == ["replicas.yaml:9:11: other: the name is outside this file's scope: it must start with "
                            "'acme-' (settings.scope.name_prefix)"]


def test_a_persona_may_share_a_name_with_a_replica():
    config = ok(HEAD + "  - name: acme-anna\n    system_prompt: a\n    default_replica: acme-anna\n")
    assert [p.name for p in config.personas] == ["acme-anna"]


def test_desired_persona_is_built_with_api_field_names(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "i.md").write_bytes("\ufeffBe kind.\nÜber alles: ${NOT_A_VAR}\n".encode())
    text = HEAD + """\
  - name: acme-interviewer
    persona_id: p123
    default_replica: acme-anna
    system_prompt_file: prompts/i.md
    context: "for ${TEAM}"
    pipeline_mode: full
    document_ids: [d1]
    document_tags: [hiring]
    objectives_id: o1
    guardrails_id: g1
    protect: true
    layers:
      llm: {model: tavus-gpt-4o, speculative_inference: true, api_key: "${LLM_KEY}"}
      tts: {tts_engine: cartesia, external_voice_id: "${VOICE:-v1}", api_key: "${TTS_KEY}"}
      conversational_flow: {turn_detection_model: sparrow-1, turn_taking_patience: high}
  - name: acme-echo
    pipeline_mode: echo
    default_replica_id: r79e1c033f
"""
    path = tmp_path / "replicas.yaml"
    path.write_text(text)
    config = load_config(path, environ={"TEAM": "support", "LLM_KEY": "sk-llm-secret-1"})
    interviewer, echo = config.personas
    assert interviewer == DesiredPersona(
        name="acme-interviewer",
        attributes={"system_prompt": "Be kind.\nÜber alles: ${NOT_A_VAR}\n", "context": "for support",
                    "pipeline_mode": "full", "document_ids": ["d1"], "document_tags": ["hiring"],
                    "objectives_id": "o1", "guardrails_id": "g1",
                    "layers": {"llm": {"model": "tavus-gpt-4o", "speculative_inference": True,
                                       "api_key": "sk-llm-secret-1"},
                               "tts": {"tts_engine": "cartesia", "external_voice_id": "v1", "api_key": "${TTS_KEY}"},
                               "conversational_flow": {"turn_detection_model": "sparrow-1",
                                                       "turn_taking_patience": "high"}}},
        default_replica="acme-anna", secret_paths=("/layers/llm/api_key", "/layers/tts/api_key"),
        missing_vars=("TTS_KEY",), protect=True, persona_id="p123")
    assert echo == DesiredPersona(name="acme-echo", attributes={"pipeline_mode": "echo"},
                                  default_replica_id="r79e1c033f")
    assert [w.split(": ", 1)[1] for w in config.warnings] == [
        "${TTS_KEY} is not set (needed when acme-interviewer is created or updated)"]
    # contract 3: the resolved key is masked on every output path from the moment the file is loaded
    assert redact_text("key=sk-llm-secret-1") == "key=[REDACTED]"


def test_replicas_only_files_have_no_personas():
    assert ok("version: 1\nreplicas: []\n").personas == ()


def test_model_and_engine_names_are_free_strings_and_unknown_layer_fields_warn():
    config = ok(HEAD + "  - name: p\n    system_prompt: a\n    pipeline_mode: speech\n    layers:\n"
                       "      llm: {model: tavus-llama-4, modle: x}\n      perception: {perception_model: raven-1}\n")
    assert config.personas[0].attributes["layers"]["llm"]["model"] == "tavus-llama-4"
    assert [w.split(": ", 1)[1] for w in config.warnings] == [
        "p: pipeline_mode 'speech' is not one this version knows (full, echo, speech-to-speech); it is sent as is",
        "layers.llm: field 'modle' is not documented (did you mean 'model'?); it is sent as is"]


@pytest.mark.parametrize("content,message", [
    (b"caf\xe9", "is not UTF-8 text (invalid byte 0xe9 at byte 3); save it as UTF-8"),
    (b"a\x00b", "looks binary (it contains a NUL byte), not a text prompt"),
    (b"  \n", "is empty"),
    (b"x" * (512 * 1024 + 1), "is too large (over 512 KB)"),
])
def test_bad_prompt_files_are_located_errors(tmp_path, content, message):
    (tmp_path / "p.md").write_bytes(content)
    path = tmp_path / "replicas.yaml"
    path.write_text(HEAD + "  - name: p\n    system_prompt_file: p.md\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.diagnostics == [f"{path}:9:25: p: system_prompt_file 'p.md' {message}"]


def test_prompt_file_may_be_a_directory_or_outside_the_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "shared.md").write_text("shared prompt")
    path = tmp_path / "sub" / "replicas.yaml"
    path.write_text(HEAD + "  - name: p\n    system_prompt_file: ../shared.md\n  - name: q\n"
                           "    system_prompt_file: .\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.diagnostics == [f"{path}:11:25: q: system_prompt_file '.' is a directory: name the prompt file"]
    path.write_text(HEAD + "  - name: p\n    system_prompt_file: ../shared.md\n")
    assert load_config(path).personas[0].attributes["system_prompt"] == "shared prompt"


def test_literal_api_key_is_never_echoed_in_the_error():
    diags = errors(HEAD + "  - name: p\n    system_prompt: a\n    layers: {llm: {api_key: sk-live-abcdef}}\n")
    assert len(diags) == 1 and "sk-live-abcdef" not in diags[0]


def test_example_file_declares_a_persona_wired_to_a_declared_replica():
    config = load_config(ROOT / "examples/replicas.yaml", environ={})
    (persona,) = config.personas
    assert persona.name == "acme-interviewer" and persona.default_replica == "acme-anna"
    assert persona.default_replica in {d.name for d in config.replicas}
    prompt = (ROOT / "examples/prompts/interviewer.md").read_text(encoding="utf-8")
    assert persona.attributes["system_prompt"] == prompt and persona.secret_paths == ()


@pytest.mark.e2e
def test_validate_counts_personas_and_masks_resolved_keys(tmp_path):
    path = tmp_path / "replicas.yaml"
    path.write_text(HEAD + "  - name: p\n    system_prompt: a\n    layers: {llm: {api_key: \"${LLM_KEY}\", x: 1}}\n")
    env = {"PATH": "/usr/bin:/bin", "LLM_KEY": "sk-very-secret-key"}
    res = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(path)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"{path}: valid (2 replicas, 1 persona)\n"
    assert "sk-very-secret-key" not in res.stdout + res.stderr
    path.write_text(HEAD + "  - name: p\n    system_prompt: a\n    layers: {tts: {api_key: sk-very-secret-key}}\n")
    res = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(path)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and "must be written as ${VAR}" in res.stderr
    assert "sk-very-secret-key" not in res.stdout + res.stderr


def test_prompt_file_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    import os

    os.mkfifo(tmp_path / "p.md")  # opening it for reading would wait for a writer forever
    path = tmp_path / "replicas.yaml"
    path.write_text(HEAD + "  - name: p\n    system_prompt_file: p.md\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.diagnostics == [f"{path}:9:25: p: system_prompt_file 'p.md' is not a regular file"]


def test_a_persona_cannot_be_both_declared_and_removed():
    assert errors(HEAD + "  - name: acme-p\n    system_prompt: a\nremoved:\n  - acme-p\n") == [
        "replicas.yaml:8:11: acme-p: the persona is also listed under removed: (released from management): remove "
        "it from one of the two"]


def test_every_value_from_the_environment_is_registered_as_a_secret_whatever_its_key():
    """Issue 24 #2: an Authorization header, a context line, a URL from ${VAR}s are secrets; a default written
    in the file and a name (an identity) are not; ${TAVUS_API_KEY} in the file is a located error."""
    env = {"LLM_TOKEN": "tok-from-env-111", "CTX": "ctx-from-env-222", "WHO": "acme-fromenv"}
    ok(HEAD + "  - name: ${WHO}\n    system_prompt: a\n    context: \"see ${CTX}\"\n"
       "    layers:\n      llm:\n        model: m\n        headers: {Authorization: \"Bearer ${LLM_TOKEN}\", "
       "X-Team: \"${TEAM:-written-default}\"}\n", env)
    assert redact_text("a tok-from-env-111 b ctx-from-env-222") == "a [REDACTED] b [REDACTED]"
    assert redact_text("written-default acme-fromenv") == "written-default acme-fromenv"
    (first, *_) = errors(HEAD + "  - name: p\n    system_prompt: \"${TAVUS_API_KEY:-x}\"\n",
                         {"TAVUS_API_KEY": "k-1234"})
    assert first.startswith("replicas.yaml:9:20: ${TAVUS_API_KEY} is the Tavus API key")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_prompt_file_in_proc_is_refused_without_reading_it(tmp_path):
    """/proc files say they are regular with size 0 and some (/proc/kmsg) block when read: never read past the
    size a file reports (issue 24: system_prompt_file: /proc/kmsg hung validate)."""
    path = tmp_path / "replicas.yaml"
    path.write_text(HEAD + "  - name: p\n    system_prompt_file: /proc/self/status\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.diagnostics == [f"{path}:9:25: p: system_prompt_file '/proc/self/status' is empty (or a "
                                      "special file that reports no size, as in /proc)"]

# ------------------------------------------------------------------------------- issue 25: open vocabularies

CURRENT = """\
  - name: p
    system_prompt: a
    pipeline_mode: speech-to-speech
    greeting: Hello!
    guardrail_ids: [g1, g2]
    guardrail_tags: [safety]
    tool_ids: [t1]
    is_template: false
    layers:
      tts: {tts_engine: cartesia, pronunciation_dictionary_id: pd1}
      perception: {perception_model: raven-1, visual_awareness_queries: [q], visual_tool_prompt: v,
                   visual_tools: [], audio_awareness_queries: [a], audio_tool_prompt: b, audio_tools: []}
      conversational_flow: {voice_isolation: true, face_interruptibility: low, wake_phrase: hi tavus}
      transport: {transport_type: livekit}
      conferencing: {}
"""


def test_every_field_the_current_reference_documents_is_accepted_without_a_warning():
    config = ok(HEAD + CURRENT)
    assert config.warnings == ()
    attrs = config.personas[0].attributes
    assert attrs["guardrail_ids"] == ["g1", "g2"] and attrs["tool_ids"] == ["t1"] and attrs["greeting"] == "Hello!"
    assert attrs["pipeline_mode"] == "speech-to-speech"
    assert attrs["layers"]["transport"] == {"transport_type": "livekit"}
    assert attrs["layers"]["conversational_flow"]["voice_isolation"] is True


def test_unknown_fields_and_layers_are_sent_with_one_warning_per_key_not_per_entry():
    entry = ("  - name: {n}\n    system_prompt: a\n    pal_mood: calm\n    layres: {{}}\n"
             "    layers: {{lmm: {{model: x}}, llm: {{model: y, modle: z}}}}\n")
    config = ok(HEAD + entry.format(n="p1") + entry.format(n="p2") + entry.format(n="p3"))
    assert [w.split(": ", 1)[1] for w in config.warnings] == [
        "personas: field 'pal_mood' is not one this version documents; it is sent to the API as written",
        "personas: field 'layres' is not one this version documents (did you mean 'layers'?); it is sent to the "
        "API as written",
        "layers: layer 'lmm' is not one this version documents (did you mean 'llm'?); it is sent to the API as "
        "written",
        "layers.llm: field 'modle' is not documented (did you mean 'model'?); it is sent as is"]
    assert config.warnings[0].startswith("replicas.yaml:10:5: ")  # the first place it is written
    for p in config.personas:  # passed through to the API, as written
        assert p.attributes["pal_mood"] == "calm" and p.attributes["layres"] == {}
        assert p.attributes["layers"]["lmm"] == {"model": "x"}


def test_a_did_you_mean_never_steers_a_newer_name_to_an_older_one():
    # a (hypothetical) newer sibling of the renamed perception fields: close to the OLD names only
    config = ok(HEAD + "  - name: p\n    system_prompt: a\n    guardrail_id: g\n"
                       "    layers: {perception: {ambient_tools: []}}\n")
    text = "\n".join(config.warnings)
    for older in ("guardrails_id", "ambient_awareness_queries", "perception_tools", "perception_tool_prompt"):
        assert repr(older) not in text, text
    assert "did you mean 'guardrail_ids'?" in text


def test_a_secret_stays_var_only_in_a_layer_this_version_does_not_know():
    assert any("must be written as ${VAR}" in e for e in errors(
        HEAD + "  - name: p\n    system_prompt: a\n    layers: {speech: {api_key: sk-literal}}\n"))
