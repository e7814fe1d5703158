"""status as a table and a document (reconciler/views/status_view.py)."""

from __future__ import annotations

import json

from reconciler.views.status_view import status_json, status_text

SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def _row(name, phase="ready", **extra):
    return {"name": name, "replica_id": f"id-{name}", "status": "completed", "phase": phase, "progress": None,
            "model_name": "phoenix-4", **extra}


def test_aligned_table_failed_rows_unmanaged_and_summary():
    text = status_text([_row("a"), _row("bb", "failed", error_message="boom"), _row("u", managed=False)])
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "REPLICA_ID", "STATUS", "PROGRESS", "MODEL"]
    assert lines[1].index("id-a") == lines[0].index("REPLICA_ID") and "  error: boom" in lines
    assert "Unmanaged (in scope, not declared):" in lines
    assert lines[-1] == "2 declared: 1 ready, 0 training, 1 failed, 0 absent; 1 unmanaged"


def test_untrusted_cells_are_redacted_and_wide_ones_aligned():
    text = status_text([_row(SIGNED), _row("日本語")])
    assert "SECRETSIG" not in text
    lines = text.splitlines()
    assert lines[2].startswith("日本語 ") and "id-日本語" in lines[2]


def test_rollout_column_and_line():
    text = status_text([_row("a", rollout={"state": "waiting", "position": 2, "canary": True})], rollout="roll")
    assert "ROLLOUT" in text and "canary: waiting (#2)" in text and text.endswith("roll\n")


def test_json_document_is_versioned_and_redacted():
    doc = json.loads(status_json([_row(SIGNED)], [{"name": "p"}], {"documents": [{"name": "d"}]}))
    assert doc["format_version"] == "1" and "SECRETSIG" not in doc["replicas"][0]["name"]
    assert doc["documents"] == [{"name": "d"}]
