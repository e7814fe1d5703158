"""Issue 19, what a user declares and reads about a rollout: ``settings.rollout`` (schema + located errors),
the plan's rollout in text / JSON / markdown (and ``show``), saved plans that refuse a different rollout, and
the ``status`` rows and summary line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from reconciler.engine import planfile
from reconciler.engine.config import parse_config
from reconciler.engine.models import Config, Settings
from reconciler.engine.planner import compute_plan
from reconciler.engine.rollout import RolloutSettings
from reconciler.errors import ConfigError
from reconciler.kinds.replicas.models import DesiredReplica, RemoteReplica
from reconciler.kinds.replicas.resolve import status_rows
from reconciler.views import render, rollout_view
from reconciler.workflows.show import plan_from_document

ROOT = Path(__file__).parent.parent
F = "replicas.yaml"
ESC = "\x1b"
SECRET = "SIGSECRET19"


def schema(name: str) -> dict:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def load(settings: str) -> Config:
    text = "version: 1\nsettings:\n" + textwrap.indent(textwrap.dedent(settings), "  ") + (
        "replicas:\n  - name: acme-a\n    train_video_url: https://x.example.com/a.mp4\n    synthetic: true\n")
    return parse_config(text, F, environ={})


def errors_of(settings: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(settings)
    return info.value.diagnostics


# ----------------------------------------------------------------------------------------- the file


def test_rollout_settings_are_loaded_and_default_to_two_one_smoke():
    assert load("prune: false\n").settings.rollout == RolloutSettings(2, 1, "smoke")
    assert load("rollout: {}\n").settings.rollout == RolloutSettings(2, 1, "smoke")
    assert load("rollout:\n  max_replacing: 5\n  canary: 0\n  verify: none\n").settings.rollout == \
        RolloutSettings(5, 0, "none")
    assert load("rollout: {max_replacing: 3.0}\n").settings.rollout.max_replacing == 3  # an integer to JSON Schema


@pytest.mark.parametrize("settings, expected", [
    ("rollout:\n  max_replacing: 0\n", "replicas.yaml:4:20: settings.rollout.max_replacing must be at least 1, not 0"),
    ("rollout:\n  canary: -1\n", "replicas.yaml:4:13: settings.rollout.canary must be at least 0, not -1"),
    ("rollout:\n  verify: smok\n",
     "replicas.yaml:4:13: settings.rollout.verify must be one of smoke, none, not 'smok' (did you mean 'smoke'?)"),
    ("rollout:\n  canery: 1\n", "replicas.yaml:4:5: unknown field 'canery' (did you mean 'canary'?)"),
    ("rollouts: {}\n", "replicas.yaml:3:3: unknown field 'rollouts' (did you mean 'rollout'?)"),
    ("rollout:\n  max_replacing: true\n",
     "replicas.yaml:4:20: settings.rollout.max_replacing must be an integer, not a boolean true"),
    ("rollout:\n  canary: '1'\n", "replicas.yaml:4:13: settings.rollout.canary must be an integer, not a string '1'"),
    ("rollout:\n  max_replacing: 1.5\n", "replicas.yaml:4:20: settings.rollout.max_replacing must be an integer"),
    ("rollout: 3\n", "replicas.yaml:3:12: settings.rollout must be a mapping, not an integer 3"),
    ("rollout:\n  max_replacing: ${N}\n", "settings.rollout.max_replacing must be an integer"),
])
def test_bad_rollout_settings_are_one_located_line_each(settings, expected):
    errors = errors_of(settings)
    assert len(errors) == 1, errors
    assert errors[0].startswith(expected) if expected.startswith(F) else expected in errors[0]


def test_the_schema_documents_the_defaults():
    rollout = schema("replicas.schema.json")["properties"]["settings"]["properties"]["rollout"]
    assert {k: v["default"] for k, v in rollout["properties"].items()} == {
        "max_replacing": 2, "canary": 1, "verify": "smoke"}
    assert "max_replacing 2, canary 1, verify smoke" in rollout["description"]


# ----------------------------------------------------------------------------------------- the plan


def fleet(n: int, *, phases: dict[int, str] | None = None, names=None) -> tuple[Config, list[RemoteReplica]]:
    """n declared replicas on phoenix-4 whose remote ones run phoenix-3; ``phases``: index -> successor status."""
    names = names or [f"acme-{i:02d}" for i in range(1, n + 1)]
    declared = tuple(DesiredReplica(name, train_video_url="https://x.example.com/a.mp4", synthetic=True,
                                    model_name="phoenix-4") for name in names)
    remote = [RemoteReplica(f"r{i}", name, "completed", model_name="phoenix-3") for i, name in enumerate(names, 1)]
    for i, status in (phases or {}).items():
        remote.append(RemoteReplica(f"s{i}", f"{names[i - 1]}~next~r{i}", status, model_name="phoenix-4"))
    return Config(F, replicas=declared, settings=Settings()), remote


def test_plan_text_shows_settings_order_canary_batches_and_each_state():
    config, remote = fleet(10, phases={1: "completed", 3: "started"})
    text = render.plan_text(compute_plan(config, remote), file=F)
    block = text.split("\n\n")[-2]
    assert block.splitlines() == [
        "Rollout of 10 replacements (max_replacing 2, canary 1, verify smoke), in this order:",
        "  batch 1, canary (trained: verify and swap next): acme-01",
        "  batch 2: acme-02 (not started), acme-03 (training)",
        "  batch 3 (not started): acme-04, acme-05",
        "  batch 4 (not started): acme-06, acme-07",
        "  batch 5 (not started): acme-08, acme-09",
        "  batch 6 (not started): acme-10",
        "  The canary must train and pass verify (smoke) before any other starts; then a successor starts as soon "
        "as a slot frees, in this order (at most 2 training at once).",
        "  A failed training or verify halts the rollout: nothing new starts, the rest keep their old replica.",
    ]
    assert text.endswith("Plan: 0 to create, 0 to rename, 10 to replace, 0 to delete.\n")


def test_overrides_change_the_batches():
    config, remote = fleet(5)
    text = render.plan_text(compute_plan(config, remote, rollout=RolloutSettings(3, 0, "none")), file=F)
    assert "Rollout of 5 replacements (max_replacing 3, canary 0, verify none), in this order:\n" \
           "  batch 1 (not started): acme-01, acme-02, acme-03\n  batch 2 (not started): acme-04, acme-05\n" \
           "  A successor starts as soon as a slot frees, in this order (at most 3 training at once).\n" \
           "  A failed training halts the rollout" in text
    two = render.plan_text(compute_plan(config, remote, rollout=RolloutSettings(1, 2)), file=F)
    assert "batch 1, canary (not started): acme-01, acme-02\n  batch 2 (not started): acme-03\n" in two
    assert "The 2 canaries must train and pass verify (smoke)" in two


def test_a_single_replace_is_one_short_line():
    config, remote = fleet(1)
    result = compute_plan(config, remote)
    text = render.plan_text(result, file=F)
    rollout = [line for line in text.splitlines() if "Rollout" in line]
    assert rollout == ["Rollout: 1 replacement, acme-01 (not started): it trains, passes verify (smoke), then "
                       "replaces the old replica."]
    md = render.plan_markdown(result, file=F)
    assert ("**Rollout:** 1 replacement, `acme-01` (not started): it trains, passes verify (smoke), then replaces "
            "the old replica.") in md
    assert "Rollout order" not in md


def test_no_rollout_without_replaces():
    config, remote = fleet(2)
    result = compute_plan(config, [RemoteReplica(r.replica_id, r.name, "completed", model_name="phoenix-4")
                                   for r in remote])
    assert result.rollout is None
    assert "Rollout" not in render.plan_text(result, file=F) + render.plan_markdown(result, file=F)
    assert "rollout" not in render.plan_document(result, file=F)


def test_plan_json_carries_the_rollout_and_validates():
    config, remote = fleet(4, phases={1: "started"})
    doc = json.loads(render.plan_json(compute_plan(config, remote), file=F))
    jsonschema.Draft202012Validator(schema("plan.schema.json")).validate(doc)
    assert {k: v for k, v in doc["rollout"].items() if k != "steps"} == {
        "max_replacing": 2, "canary": 1, "verify": "smoke", "batches": 3}
    assert doc["rollout"]["steps"][:2] == [
        {"name": "acme-01", "replica_id": "r1", "successor_id": "s1", "canary": True, "batch": 1, "phase": "training",
         "state": "training"},
        {"name": "acme-02", "replica_id": "r2", "successor_id": None, "canary": False, "batch": 2, "phase": "create",
         "state": "not_started"}]
    assert [s["batch"] for s in doc["rollout"]["steps"]] == [1, 2, 2, 3]


def test_plan_markdown_has_a_paragraph_and_a_collapsed_batch_table():
    config, remote = fleet(4, phases={1: "started"})
    md = render.plan_markdown(compute_plan(config, remote), file=F)
    assert "**Rollout:** 4 replacements in 3 batches (max\\_replacing 2, canary 1, verify smoke)." not in md
    assert "**Rollout:** 4 replacements in 3 batches (max_replacing 2, canary 1, verify smoke). The canary must" in md
    assert ("| Batch | Replicas |\n|---|---|\n| batch 1, canary (training) | `acme-01` |\n"
            "| batch 2 (not started) | `acme-02`, `acme-03` |\n| batch 3 (not started) | `acme-04` |") in md


def test_hostile_names_are_escaped_and_redacted_in_every_rollout_output():
    evil = f"acme-{ESC}[31mx|`<b>https://b.example.com/v.mp4?X-Amz-Signature={SECRET}"
    config, remote = fleet(3, names=["acme-a", evil, "acme-c"])
    result = compute_plan(config, remote)
    assert result.rollout is not None and len(result.rollout.steps) == 3
    md = render.plan_markdown(result, file=F)
    parts = (render.plan_text(result, file=F).split("\n\n")[-2], md.split("**Rollout:**")[1],
             json.dumps(json.loads(render.plan_json(result, file=F))["rollout"]))
    for out in parts:
        assert ESC not in out and SECRET not in out
    assert "acme-\\x1b[31mx|`<b>https://b.example.com/v.mp4?REDACTED" in parts[0]
    table = [line for line in md.splitlines() if line.startswith("| batch 2")]
    assert len(table) == 1 and table[0].count(" | ") == 1  # the | in the name cannot open a cell
    assert render._md_code(evil) in table[0]  # <b> only inside a code span: shown, never rendered


def test_show_renders_the_saved_rollout_like_plan_did():
    config, remote = fleet(6, phases={1: "completed", 2: "started"})
    result = compute_plan(config, remote, rollout=RolloutSettings(3, 1, "none"))
    doc = json.loads(render.plan_json(result, file=F))
    again = plan_from_document(doc)
    assert render.plan_text(again, file=F).split("\n\n")[-2] == render.plan_text(result, file=F).split("\n\n")[-2]
    assert render.plan_document(again, file=F)["rollout"] == doc["rollout"]


@pytest.mark.parametrize("bad", [{"max_replacing": 0}, {"canary": -1}, {"verify": "\x1b[31m"},
                                 {"max_replacing": "2"}, {"steps": [{"name": "a"}]}])
def test_show_refuses_a_tampered_rollout(bad):
    config, remote = fleet(2)
    doc = json.loads(render.plan_json(compute_plan(config, remote), file=F))
    doc["rollout"].update(bad)
    with pytest.raises((ValueError, KeyError, TypeError)):
        plan_from_document(doc)


# ----------------------------------------------------------------------------------------- saved plans


def saved_plan(config, remote, rollout=None, **options) -> planfile.SavedPlan:
    doc = render.plan_document(compute_plan(config, remote, rollout=rollout), file=F)
    return planfile.SavedPlan(file=F, source="", targets=(), replace=(), prune=False,
                              fingerprint=planfile.fingerprint(config, {"replicas": remote}), document=doc,
                              inputs=planfile.inputs_hash(config, "http://x"), **options)


def test_a_saved_plan_refuses_a_different_rollout_and_accepts_the_same():
    config, remote = fleet(3)
    saved = saved_plan(config, remote, RolloutSettings(2, 2), canary=2)
    same = render.plan_document(compute_plan(config, remote, rollout=RolloutSettings(2, 2)), file=F)
    assert planfile.differences(saved, config, {"replicas": remote}, same, "http://x") == []
    other = render.plan_document(compute_plan(config, remote, rollout=RolloutSettings(2, 1)), file=F)
    found = planfile.differences(saved, config, {"replicas": remote}, other, "http://x")
    assert found == ["the rollout differs: it would now be max_replacing 2, canary 1, verify smoke, the saved plan "
                     "says max_replacing 2, canary 2, verify smoke (--max-replacing / --canary are fixed when the "
                     "plan is made)"]


def test_saved_options_round_trip_and_bad_ones_are_refused(tmp_path):
    config, remote = fleet(2)
    path = str(tmp_path / "p.plan")
    planfile.write(path, saved_plan(config, remote, max_replacing=4, canary=0))
    back = planfile.read(path)
    assert (back.max_replacing, back.canary) == (4, 0)
    assert planfile.options(back) == {"targets": [], "replace": [], "prune": False, "max_replacing": 4, "canary": 0}
    doc = json.loads(Path(path).read_text())
    for bad in ({"max_replacing": 0}, {"canary": -2}, {"canary": "1"}, {"max_replacing": True}):
        doc["options"].update(bad)
        Path(path).write_text(json.dumps(doc))
        with pytest.raises(Exception, match="not a valid saved plan"):
            planfile.read(path)
        doc["options"].update(max_replacing=4, canary=0)


def test_a_saved_plan_without_options_reads_as_none(tmp_path):
    config, remote = fleet(1)
    path = str(tmp_path / "p.plan")
    planfile.write(path, saved_plan(config, remote))
    assert (planfile.read(path).max_replacing, planfile.read(path).canary) == (None, None)


# ----------------------------------------------------------------------------------------- status


def test_status_rows_and_text_show_the_rollout():
    from reconciler.workflows.workflow import rollout_status

    config, remote = fleet(4, phases={1: "completed", 2: "started"})
    rows = status_rows(config, remote)
    line = rollout_status(config, remote, None, rows)
    assert line == "rollout: 1 training, 1 trained, 2 waiting; next: acme-03"
    by_id = {r["replica_id"]: r.get("rollout") for r in rows}
    assert by_id["r1"] == by_id["s1"] == {"state": "trained", "canary": True, "batch": 1, "position": 1}
    assert by_id["s2"]["state"] == "training" and by_id["r4"] == {"state": "waiting", "canary": False, "batch": 3,
                                                                   "position": 4}
    jsonschema.Draft202012Validator(schema("status.schema.json")).validate(json.loads(render.status_json(rows)))
    text = render.status_text(rows, rollout=line)
    assert text.splitlines()[0].split() == ["NAME", "REPLICA_ID", "STATUS", "PROGRESS", "MODEL", "ROLLOUT"]
    assert "canary: trained: verify+swap next" in text and "waiting (#4)" in text
    assert text.endswith("rollout: 1 training, 1 trained, 2 waiting; next: acme-03\n")


def test_status_of_a_halted_rollout_and_of_none():
    from reconciler.workflows.workflow import rollout_status

    config, remote = fleet(3)
    rows = status_rows(config, remote)
    assert rollout_status(config, remote, None, rows) == \
        "rollout: 0 training, 0 trained, 3 waiting; next: acme-01 (halted or not started: run apply)"
    same = [RemoteReplica(r.replica_id, r.name, "completed", model_name="phoenix-4") for r in remote]
    rows = status_rows(config, same)
    assert rollout_status(config, same, None, rows) is None
    assert all("rollout" not in r for r in rows)
    assert "ROLLOUT" not in render.status_text(rows)


def test_progress_summary_has_no_next_when_all_started():
    config, remote = fleet(2, phases={1: "started", 2: "started"})
    p = rollout_view.progress(compute_plan(config, remote).rollout)
    assert p.summary == "rollout: 2 training, 0 trained, 0 waiting"


def test_status_names_the_replace_whose_successor_failed():
    from reconciler.workflows.workflow import rollout_status

    config, remote = fleet(3, phases={1: "error"})
    rows = status_rows(config, remote)
    assert rollout_status(config, remote, None, rows) == (
        "rollout: 0 training, 0 trained, 3 waiting, 1 failed (acme-01); next: acme-01 "
        "(halted or not started: run apply)")
    failed_row = next(r for r in rows if r["replica_id"] == "s1")
    assert failed_row["phase"] == "failed" and "rollout" not in failed_row  # removed by the next apply
