"""reconciler.cli.sim: the demo's packaged example and its edited copy (the file itself never changes)."""

from __future__ import annotations

import yaml

from reconciler.cli.sim import _demo_edit, _example


def test_the_packaged_example_is_the_repository_one():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert _example("replicas.yaml") == (root / "examples" / "replicas.yaml").read_text(encoding="utf-8")


def test_the_demo_edits_the_first_persona_in_a_copy(tmp_path):
    src, scratch = tmp_path / "src", tmp_path / "scratch"
    src.mkdir()
    scratch.mkdir()
    (src / "prompts").mkdir()
    (src / "prompts" / "p.md").write_text("Be brief.\n")
    text = ("version: 1\npersonas:\n  - name: acme-a\n    system_prompt_file: prompts/p.md\n"
            "  - name: acme-b\n    system_prompt_file: prompts/p.md\n")
    (src / "r.yaml").write_text(text)
    assert _demo_edit("r.yaml", str(src), str(scratch)) == ("acme-a", "r.edited.yaml")
    assert (src / "r.yaml").read_text() == text  # never changed
    first, second = yaml.safe_load((scratch / "r.edited.yaml").read_text())["personas"]
    assert first["system_prompt"] == "Be brief.\n- Keep every answer under two minutes.\n"
    assert second["system_prompt_file"] == str(src / "prompts" / "p.md")  # absolute: the copy lives elsewhere


def test_no_persona_no_edit(tmp_path):
    (tmp_path / "r.yaml").write_text("version: 1\nreplicas: []\n")
    assert _demo_edit("r.yaml", str(tmp_path), str(tmp_path)) is None
    (tmp_path / "bad.yaml").write_text("version: 1\npersonas: [\n")
    assert _demo_edit("bad.yaml", str(tmp_path), str(tmp_path)) is None
