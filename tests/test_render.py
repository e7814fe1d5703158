"""Renderers: plan text/markdown/JSON and status, against golden files and the JSON Schemas.

Regenerate the golden files with ``UPDATE_GOLDEN=1 pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import use_color
from reconciler.engine.models import Action, Change, Config, Plan, Settings
from reconciler.engine.planner import compute_plan
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.kinds.replicas.plan import desired_attributes, remote_attributes
from reconciler.kinds.replicas.resolve import status_rows
from reconciler.views import render

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
SECRET = "SECRETSIG"
PRESIGNED = f"https://bucket.s3.amazonaws.com/a.mp4?X-Amz-Signature={SECRET}"
EVIL = "evil\x1b[31mname"
ESC = "\x1b"


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def validate(document: object, name: str) -> None:
    jsonschema.Draft202012Validator(schema(name), format_checker=jsonschema.FormatChecker()).validate(document)


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file (UPDATE_GOLDEN=1)"


# ----------------------------------------------------------------------------------------- fixtures


ANNA = DesiredReplica("acme-anna", train_video_url=PRESIGNED, consent_video_url="https://videos.example.com/c.mp4",
                      model_name="phoenix-4",
                      callback_url=f"https://user:pw@hooks.example.com/tavus?token={SECRET}")
ROBOT = DesiredReplica("acme-robot", train_video_url="https://videos.example.com/robot.mp4", model_name="phoenix-4")
ROBOT_REMOTE = RemoteReplica("r123", "acme-robot", "completed", model_name="phoenix-3")
OLD_REMOTE = RemoteReplica("r456", "acme-old", "error", model_name="phoenix-4",
                           error_message=f"could not download {PRESIGNED}")
PENDING = (RemoteReplica("r789", "acme-x", "started", training_progress="45/100", model_name="phoenix-4"),
           RemoteReplica("r790", "acme-y", "training", model_name="phoenix-4"))
UNMANAGED = (RemoteReplica("rabc", "acme-stray", "completed"), RemoteReplica("revil", EVIL, "started"))


def full_plan() -> Plan:
    """Every action kind, pending, unmanaged, warnings, errors, missing variables, a presigned URL and
    a remote name carrying a terminal escape sequence; its one replace rolls (issue 19) as the planner says."""
    from reconciler.engine.rollout import RolloutSettings, schedule

    plan = _full_plan()
    return replace(plan, rollout=schedule([c for c in plan.changes if c.action is Action.REPLACE],
                                          RolloutSettings()))


def _full_plan() -> Plan:
    return Plan(
        changes=(
            Change(Action.CREATE, "acme-anna", "not found remotely", after=desired_attributes(ANNA), desired=ANNA),
            Change(Action.RENAME, "acme-legacy", "pinned replica is named 'legacy-spokesperson'",
                   object_id="r79e1c033f", before={"replica_name": "legacy-spokesperson"},
                   after={"replica_name": "acme-legacy"}),
            Change(Action.REPLACE, "acme-robot", "model_name changed: forces replacement", object_id="r123",
                   before=remote_attributes(ROBOT_REMOTE), after=desired_attributes(ROBOT), desired=ROBOT),
            Change(Action.DELETE, "acme-old", "not declared in examples/replicas.yaml; prune is on",
                   object_id="r456", before=remote_attributes(OLD_REMOTE)),
            Change(Action.DELETE, EVIL, f"training failed: {OLD_REMOTE.error_message}", object_id="rev1",
                   before={"replica_name": EVIL, "model_name": "phoenix-4", "status": "error"}),
        ),
        pending=PENDING,
        unmanaged=UNMANAGED,
        errors=("2 remote replicas are named 'acme-dup' (rd1, rd2): pin the one to keep with replica_id, "
                "or delete the others", f"bad | pipe `tick` <b>html</b> and {PRESIGNED}"),
        warnings=("examples/replicas.yaml:7:5: ${NEW_URL} is not set",),
        missing_vars=("NEW_URL",),
    )


FILE = "examples/replicas.yaml"


# ----------------------------------------------------------------------------------------- golden output


def test_plan_text_golden():
    golden("plan_full.txt", render.plan_text(full_plan(), file=FILE))


def test_plan_markdown_golden():
    golden("plan_full.md", render.plan_markdown(full_plan(), file=FILE))


def test_plan_text_empty_golden():
    plan = Plan(pending=PENDING[:1], unmanaged=UNMANAGED[:1])
    golden("plan_no_changes.txt", render.plan_text(plan, file="f.yaml"))


def test_status_text_golden():
    golden("status.txt", render.status_text(status_rows(*status_fixture())))


# ----------------------------------------------------------------------------------------- plan properties


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "text-color"])
def test_no_secret_and_no_raw_escape_in_any_output(fmt):
    plan = full_plan()
    out = {
        "text": lambda: render.plan_text(plan, file=FILE),
        "text-color": lambda: render.plan_text(plan, file=FILE, color=True),
        "markdown": lambda: render.plan_markdown(plan, file=FILE),
        "json": lambda: render.plan_json(plan, file=FILE),
    }[fmt]()
    assert SECRET not in out
    assert "pw@" not in out
    assert "?REDACTED" in out
    assert out.endswith("\n")
    if fmt != "text-color":
        assert ESC not in out


def test_plan_json_validates_and_round_trips():
    text = render.plan_json(full_plan(), file=FILE)
    doc = json.loads(text)
    validate(doc, "plan.schema.json")
    assert doc == json.loads(json.dumps(render.plan_document(full_plan(), file=FILE)))
    assert doc["format_version"] == "1" and doc["file"] == FILE
    assert doc["summary"] == {"create": 1, "rename": 1, "replace": 1, "delete": 2}
    assert [c["action"] for c in doc["changes"]] == ["create", "rename", "replace", "delete", "delete"]
    anna = doc["changes"][0]
    assert anna["before"] is None and anna["replica_id"] is None
    assert anna["after"]["train_video_url"] == "https://bucket.s3.amazonaws.com/a.mp4?REDACTED"
    assert anna["after"]["callback_url"] == "https://REDACTED@hooks.example.com/tavus?REDACTED"
    assert doc["pending"][0] == {"name": "acme-x", "replica_id": "r789", "status": "started", "progress": 45.0}
    assert doc["pending"][1]["progress"] is None
    assert doc["unmanaged"][1]["name"] == EVIL  # data is kept; json escapes it as \u001b
    assert doc["missing_vars"] == ["NEW_URL"]


def test_plan_json_escapes_c1_and_bidi_characters_but_keeps_the_data():
    plan = Plan(unmanaged=(RemoteReplica("r1", "a\x9bb\u202ec"),))
    text = render.plan_json(plan, file="f.yaml")
    assert "\x9b" not in text and "\u202e" not in text
    assert json.loads(text)["unmanaged"][0]["name"] == "a\x9bb\u202ec"


def test_empty_plan_document_validates():
    doc = render.plan_document(Plan(), file="f.yaml")
    validate(doc, "plan.schema.json")
    assert doc["changes"] == [] and doc["summary"] == {"create": 0, "rename": 0, "replace": 0, "delete": 0}


def test_schema_rejects_a_document_missing_required_keys():
    doc = render.plan_document(Plan(), file="f.yaml")
    del doc["summary"]
    with pytest.raises(jsonschema.ValidationError):
        validate(doc, "plan.schema.json")
    doc = render.plan_document(Plan(), file="f.yaml") | {"future_key": 1}
    validate(doc, "plan.schema.json")  # forward-compatible at the top level


def test_control_characters_are_escaped_in_text_and_markdown():
    plan = full_plan()
    text = render.plan_text(plan, file=FILE)
    md = render.plan_markdown(plan, file=FILE)
    assert "evil\\x1b[31mname" in text
    assert "evil\\x1b[31mname" in md
    assert ESC not in text and ESC not in md


def test_markdown_cells_cannot_break_the_table_or_inject_html():
    md = render.plan_markdown(full_plan(), file=FILE)
    assert "<b>" not in md
    assert "bad \\| pipe \\`tick\\` \\<b\\>html\\</b\\>" in md
    nasty = Plan(changes=(Change(Action.DELETE, "a|b`c\nd", "x|y\nz", object_id="r1"),))
    md = render.plan_markdown(nasty, file="f.yaml")
    row = next(line for line in md.splitlines() if "delete" in line and line.startswith("|"))
    assert row.count(" | ") == 3  # four cells: every | in the data is escaped
    assert "a\\|b`c\\x0ad" in row and "x\\|y\\\\x0az" in row
    assert "`` a\\|b`c\\x0ad ``" in row  # longer fence around a backtick


def test_empty_plan_text_and_markdown():
    text = render.plan_text(Plan(), file="f.yaml")
    assert text.endswith("No changes. Inventory matches f.yaml.\n")
    assert text == "No changes. Inventory matches f.yaml.\n"
    md = render.plan_markdown(Plan(), file="f.yaml")
    assert "No changes. Inventory matches `f.yaml`." in md
    assert "| Action |" not in md and md.endswith("\n")


def test_no_changes_still_lists_pending_and_unmanaged():
    plan = Plan(pending=PENDING[:1], unmanaged=UNMANAGED[:1])
    text = render.plan_text(plan, file="f.yaml")
    assert "Still training (no change):\n  acme-x (r789)  started 45%" in text
    assert "acme-stray (rabc)  completed" in text
    assert "No changes. Inventory matches" not in text  # an unmanaged replica is drift (issue 15)
    assert text.endswith("the inventory does not match f.yaml: 1 unmanaged replica(s) in scope (declare them, "
                         "list them under removed:, or delete them with --prune).\n")
    md = render.plan_markdown(plan, file="f.yaml")
    assert "<summary>Still training (1)</summary>" in md and "<summary>Unmanaged (1)</summary>" in md


def test_errors_without_changes_are_not_reported_as_no_changes():
    plan = Plan(errors=("pinned replica r1 not found",))
    text = render.plan_text(plan, file="f.yaml")
    assert "No changes" not in text
    assert "Errors:\n  - pinned replica r1 not found" in text
    assert "Plan: 0 to create, 0 to rename, 0 to replace, 0 to delete." in text
    md = render.plan_markdown(plan, file="f.yaml")
    assert "> **Error:** pinned replica r1 not found" in md and "No changes" not in md


def test_text_diff_shows_changed_added_and_removed_attributes():
    text = render.plan_text(full_plan(), file=FILE)
    assert '      replica_name: "legacy-spokesperson" -> "acme-legacy"' in text
    assert '      model_name: "phoenix-3" -> "phoenix-4"   # forces replacement' in text
    assert '      train_video_url: (unset) -> "https://videos.example.com/robot.mp4"' in text
    assert '      status: "completed" -> (unset)' in text
    assert '      train_video_url: "https://bucket.s3.amazonaws.com/a.mp4?REDACTED"' in text
    assert "Plan: 1 to create, 1 to rename, 1 to replace, 2 to delete." in text
    assert "Variables not set (apply will refuse):\n  ${NEW_URL}" in text


def test_colour_only_when_asked():
    plan = full_plan()
    assert ESC not in render.plan_text(plan, file=FILE)
    coloured = render.plan_text(plan, file=FILE, color=True)
    assert "\x1b[32m" in coloured and "\x1b[31m" in coloured and "\x1b[35m" in coloured and "\x1b[33m" in coloured
    rows = status_rows(*status_fixture())
    assert ESC not in render.status_text(rows)
    assert ESC in render.status_text(rows, color=True)
    # the only escapes are ours: the remote name's is still shown escaped
    assert "evil\\x1b[31mname" in coloured


def test_output_is_the_same_in_every_process():
    """Deterministic across processes: no set or hash order leaks into the text (string hashing is salted per
    process, so a renderer iterating a set of names would differ between the two seeds)."""
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from test_render import FILE, full_plan; "
              "from reconciler.views import render; plan = full_plan(); "
              "sys.stdout.write(render.plan_text(plan, file=FILE) + render.plan_markdown(plan, file=FILE))")
    here = render.plan_text(full_plan(), file=FILE) + render.plan_markdown(full_plan(), file=FILE)
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONIOENCODING": "utf-8"}
        res = subprocess.run([sys.executable, "-c", script, str(Path(__file__).parent)], env=env,
                             capture_output=True, text=True, encoding="utf-8", timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout == here


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize("tty,env,expected", [
    (True, {}, True),
    (False, {}, False),
    (True, {"NO_COLOR": "1"}, False),
    (True, {"NO_COLOR": ""}, True),
    (True, {"TERM": "dumb"}, False),
    (True, {"TERM": "xterm-256color"}, True),
])
def test_use_color(monkeypatch, tty, env, expected):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert use_color(_Stream(tty)) is expected


def test_use_color_without_isatty():
    assert use_color(object()) is False


def test_plan_from_the_planner_renders_and_validates():
    config = Config("f.yaml", replicas=(ANNA, ROBOT, DesiredReplica("acme-legacy", replica_id="r79e1c033f")),
                    settings=Settings(name_prefix="acme-"))
    remote = [ROBOT_REMOTE, RemoteReplica("r79e1c033f", "legacy-spokesperson", "completed", model_name="phoenix-4"),
              OLD_REMOTE, *PENDING]
    plan = compute_plan(config, remote, prune=True)
    validate(json.loads(render.plan_json(plan, file="f.yaml")), "plan.schema.json")
    text = render.plan_text(plan, file="f.yaml")
    assert SECRET not in text and SECRET not in render.plan_markdown(plan, file="f.yaml")
    assert "-/+ replace acme-robot (r123)" in text and "  ~ rename  acme-legacy (r79e1c033f)" in text


# ----------------------------------------------------------------------------------------- status


def status_fixture() -> tuple[Config, list[RemoteReplica]]:
    config = Config("f.yaml", settings=Settings(name_prefix="acme-"), replicas=(
        DesiredReplica("acme-anna", train_video_url=PRESIGNED),
        DesiredReplica("acme-legacy", replica_id="r79e1c033f"),
        DesiredReplica("acme-x"),
        DesiredReplica("acme-dup"),
        DesiredReplica("acme-new", model_name="phoenix-3"),
    ))
    remote = [
        RemoteReplica("rz", "acme-zeta", "completed", model_name="phoenix-4"),
        RemoteReplica("r79e1c033f", "legacy-spokesperson", "completed", model_name="phoenix-4"),
        RemoteReplica("ra", "acme-anna", "ready", model_name="phoenix-4"),
        RemoteReplica("rx", "acme-x", "started", training_progress="45/100", model_name="phoenix-4"),
        RemoteReplica("rd1", "acme-dup", "completed", model_name="phoenix-4"),
        RemoteReplica("rd2", "acme-dup", "error", model_name="phoenix-4",
                      error_message=f"download failed: {PRESIGNED}"),
        RemoteReplica("revil", f"acme-{EVIL}", "queued"),
        RemoteReplica("rout", "other-team", "completed"),  # out of scope
        RemoteReplica("rsys", "acme-stock", "completed", replica_type="system"),  # stock: never in scope
    ]
    return config, remote


def test_status_rows():
    rows = status_rows(*status_fixture())
    assert [(r["name"], r["replica_id"], r["phase"], r["managed"]) for r in rows] == [
        ("acme-anna", "ra", "ready", True),
        ("acme-legacy", "r79e1c033f", "ready", True),
        ("acme-x", "rx", "pending", True),
        ("acme-dup", "rd1", "ready", True),
        ("acme-dup", "rd2", "failed", True),
        ("acme-new", None, "absent", True),
        (f"acme-{EVIL}", "revil", "pending", False),
        ("acme-zeta", "rz", "ready", False),
    ]
    by_id = {r["replica_id"]: r for r in rows}
    assert by_id["ra"]["progress"] == 100.0 and by_id["rx"]["progress"] == 45.0
    assert by_id[None] == {"name": "acme-new", "replica_id": None, "status": "absent", "phase": "absent",
                           "progress": None, "model_name": "phoenix-3", "managed": True, "error_message": None}
    assert by_id["rd2"]["error_message"] == "download failed: https://bucket.s3.amazonaws.com/a.mp4?REDACTED"


def test_status_rows_without_remote():
    config, _ = status_fixture()
    rows = status_rows(config, [])
    assert [r["phase"] for r in rows] == ["absent"] * 5
    assert render.status_text(rows).endswith("5 declared: 0 ready, 0 training, 0 failed, 5 absent; 0 unmanaged\n")


def test_status_json_validates_against_the_schema():
    rows = status_rows(*status_fixture())
    text = render.status_json(rows)
    assert text.endswith("\n") and SECRET not in text
    doc = json.loads(text)
    validate(doc, "status.schema.json")
    assert doc == {"format_version": "1", "replicas": rows, "personas": []}
    validate({"format_version": "1", "replicas": [], "personas": []}, "status.schema.json")
    with pytest.raises(jsonschema.ValidationError):
        validate({**doc, "replicas": [{**rows[0], "phase": "training"}]}, "status.schema.json")
    with pytest.raises(jsonschema.ValidationError):  # 0.1.0's bare array is not the document
        validate(rows, "status.schema.json")


def test_status_text():
    text = render.status_text(status_rows(*status_fixture()))
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "REPLICA_ID", "STATUS", "PROGRESS", "MODEL"]
    assert lines[-1] == "6 declared: 3 ready, 1 training, 1 failed, 1 absent; 2 unmanaged"
    assert "  error: download failed: https://bucket.s3.amazonaws.com/a.mp4?REDACTED" in text
    assert SECRET not in text and ESC not in text and "evil\\x1b[31mname" in text
    # aligned: every column starts at the same offset as its header
    header = lines[0]
    offsets = [header.index(h) for h in ("REPLICA_ID", "STATUS", "PROGRESS", "MODEL")]
    for line in [line for line in lines[1:-1] if line and not line.startswith((" ", "Unmanaged"))]:
        for off in offsets:
            assert line[off - 2:off] == "  " and line[off] != " "


def _undocumented(node: object, where: str) -> list[str]:
    """Paths of schema properties lacking a title or a description."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, prop in node.get("properties", {}).items():
            if not (prop.get("title") and prop.get("description")):
                found.append(f"{where}.{key}")
        for key, value in node.items():
            found += _undocumented(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _undocumented(value, f"{where}[{i}]")
    return found


@pytest.mark.parametrize("name", ["plan.schema.json", "status.schema.json"])
def test_schemas_are_documented_contracts(name):
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["$id"] == f"https://github.com/tavus-reconciler/tavus-reconciler/schemas/{name}"
    assert s["title"] and s["description"]
    assert _undocumented(s, name) == []


def test_plan_json_with_forgotten_replicas_matches_the_schema():
    import json

    from jsonschema import Draft202012Validator

    from reconciler.engine.config import load_schema
    from reconciler.views import render

    plan = Plan(forgotten=(RemoteReplica("r3", "acme-f", status="completed"),))
    doc = json.loads(render.plan_json(plan, file="f.yaml"))
    assert doc["forgotten"] == [{"name": "acme-f", "replica_id": "r3", "status": "completed"}]
    Draft202012Validator(load_schema("plan.schema.json")).validate(doc)
    md = render.plan_markdown(plan, file="f.yaml")
    assert "<summary>Forget (1)</summary>" in md and "No changes. Inventory matches" in md


def test_status_table_pads_by_display_width():
    rows = [{"name": "u-日本語のアバター", "replica_id": "r1", "status": "completed", "phase": "ready", "progress": 100,
             "model_name": "phoenix-4", "managed": True},
            {"name": "u-plain", "replica_id": "r2", "status": "completed", "phase": "ready", "progress": 100,
             "model_name": "phoenix-4", "managed": True}]
    lines = render.status_text(rows).splitlines()[1:3]
    from reconciler.views.progress import _width_of

    starts = [_width_of(line[:line.index(rid)]) for line, rid in zip(lines, ("r1", "r2"), strict=True)]
    assert starts[0] == starts[1] == _width_of("u-日本語のアバター") + 2, lines

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(max_size=5) | st.integers() | st.booleans() | st.none(), children, max_size=4),
    max_leaves=20)


@given(_json_values)
def test_the_fast_indented_json_is_json_dumps_indent_2_byte_for_byte(value):
    """Issue 29: plan/status JSON avoid the json module's pure-Python indenting encoder; same bytes."""
    import json

    from reconciler.views.render import dumps_indented

    assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)
    assert dumps_indented((value, [value], {"k": (value,)})) == json.dumps((value, [value], {"k": (value,)}),
                                                                            indent=2, ensure_ascii=False)
    rows = [{"name": "},\n    {", "n": 1.5}, {"x": None, "y": value if not isinstance(value, dict | list) else 0}]
    assert dumps_indented({"unmanaged": rows}) == json.dumps({"unmanaged": rows}, indent=2, ensure_ascii=False)


def test_the_status_table_still_redacts_and_escapes_when_one_cell_of_thousands_needs_it():
    """Issue 29: the table checks all its cells at once and takes the per-cell path only when one needs it."""
    from reconciler.api.redact import register_secret

    register_secret("sekrit-status-key-1234")
    rows = [{"name": f"u-{i:05d}", "replica_id": f"r{i:05d}", "status": "completed", "phase": "ready",
             "managed": False, "model_name": "phoenix-4"} for i in range(2000)]
    plain = render.status_text(rows)
    assert "u-01999" in plain and "\\x1b" not in plain
    for odd, hidden in (("evil\x1b[2J", "\x1b"), ("see https://x.example/a?Signature=abc", "Signature=abc"),
                        ("sekrit-status-key-1234", "sekrit-status-key-1234")):
        text = render.status_text([*rows, {**rows[0], "name": odd, "replica_id": "rodd"}])
        assert hidden not in text and "rodd" in text


def test_the_plan_json_of_many_unmanaged_replicas_is_the_plan_document_encoded():
    """Issue 29: plan_json encodes the unmanaged rows a chunk at a time; the text is still the document's."""
    remote = [RemoteReplica(f"r{i:06d}", f"u-{i:05d}", status="completed") for i in range(4100)]
    remote.append(RemoteReplica("rurl", "u-see https://x.example/a?Signature=abc", status="completed"))
    plan = compute_plan(Config("f.yaml", replicas=(), settings=Settings(name_prefix="u-")), remote)
    text = render.plan_json(plan, file="f.yaml")
    assert json.loads(text) == render.plan_document(plan, file="f.yaml")
    assert text == json.dumps(render.plan_document(plan, file="f.yaml"), indent=2, ensure_ascii=False) + "\n"
    assert "Signature=abc" not in text
    empty = compute_plan(Config("f.yaml", replicas=(), settings=Settings(name_prefix="u-")), [])
    assert render.plan_json(empty, file="f.yaml") == json.dumps(render.plan_document(empty, file="f.yaml"),
                                                                indent=2, ensure_ascii=False) + "\n"


def test_an_id_the_server_made_a_presigned_url_never_prints_its_signature():
    """Ids are untrusted text too: an unmanaged, pending or forgotten replica whose id is a presigned URL (found
    by the API fuzz test) shows without its signature in every format."""
    url = "https://s3/x?X-Amz-Signature=SIGSIG"
    remote = [RemoteReplica(replica_id=url, name="other", status="ready")]
    plan = compute_plan(Config("f.yaml", replicas=(), settings=Settings()), remote)
    text = render.plan_text(plan, file=FILE) + render.plan_json(plan, file=FILE) + render.plan_markdown(plan, file=FILE)
    assert plan.unmanaged and "SIGSIG" not in text
