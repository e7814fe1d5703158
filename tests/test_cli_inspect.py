"""reconciler.cli.inspect: status, output, export; where an exported file's $schema points."""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.cli.inspect import _schema_ref, export, output, status

ROOT = Path(__file__).resolve().parent.parent


def test_an_export_inside_the_checkout_points_at_its_schema_by_relative_path(tmp_path):
    assert _schema_ref(None) == {}
    assert _schema_ref(str(ROOT / "replicas.yaml")) == {"schema_ref": "schemas/replicas.schema.json"}
    assert _schema_ref(str(ROOT / "examples" / "out.yaml")) == {
        "schema_ref": os.path.join("..", "schemas", "replicas.schema.json")}


def test_an_export_elsewhere_uses_the_published_schema(tmp_path):
    assert _schema_ref(str(tmp_path / "replicas.yaml")) == {}


def test_the_read_only_commands_and_their_options():
    assert [p.name for p in status.params][:2] == ["file", "fmt"]
    assert {p.name for p in output.params} >= {"file", "fmt", "allow_partial"}
    hidden = {p.name for p in export.params if getattr(p, "hidden", False)}
    assert "output_alias" in hidden  # 0.1.0's spelling of --out, still accepted
