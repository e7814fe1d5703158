"""The plan document (reconciler/views/plan_document.py): each kind's keys come from its view hook."""

from __future__ import annotations

import json

from reconciler.engine.models import Action, Change, Plan
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.views.plan_document import plan_document, plan_failure, plan_json

SIGNED = "https://b.s3.amazonaws.com/a.mp4?X-Amz-Signature=SECRETSIG"


def test_each_kind_adds_its_own_keys():
    plan = Plan(changes=(
        Change(Action.DELETE, "r", "x", object_id="r1"),
        Change(Action.UPDATE, "p", "x", kind="personas", object_id="p1", diff=(("a", 1, 2),), resent=("b",)),
        Change(Action.DELETE, "d", "x", kind="documents", object_id="d1")))
    replica, persona, document = plan_document(plan, file="f.yaml")["changes"]
    assert "kind" not in replica and "diff" not in replica
    assert persona["kind"] == "personas" and persona["persona_id"] == "p1" and persona["resent"] == ["b"]
    assert persona["diff"] == [{"path": "a", "before": 1, "after": 2}]
    assert document == {**document, "kind": "documents", "object_id": "d1", "diff": []}


def test_json_is_the_document_with_the_unmanaged_rows_in_place_and_redacted():
    plan = Plan(unmanaged=(RemoteReplica("r1", SIGNED, "completed"),))
    text = plan_json(plan, file="f.yaml")
    assert "SECRETSIG" not in text
    assert json.loads(text) == json.loads(json.dumps(plan_document(plan, file="f.yaml")))


def test_a_failure_is_a_document_carrying_the_errors():
    doc = json.loads(plan_failure([f"bad {SIGNED}"], file="f.yaml", fmt="json"))
    assert doc["failed"] is True and "SECRETSIG" not in doc["errors"][0]
    md = plan_failure(["bad <b>"], file="f.yaml", fmt="markdown")
    assert md.startswith("### tavus-reconciler plan failed: `f.yaml`") and "\\<b\\>" in md


def test_unmanaged_rows_are_redacted_chunk_by_chunk_only_where_needed():
    from reconciler.views.plan_document import _replica_row, _replica_rows

    plain = [RemoteReplica(f"r{i}", f"n{i}", "completed") for i in range(3)]
    assert _replica_rows(plain) == [_replica_row(r) for r in plain]
    mixed = [*plain, RemoteReplica("r9", SIGNED, "completed"), RemoteReplica("r8", "a=b", "completed")]
    rows = _replica_rows(mixed)
    assert rows == [_replica_row(r) for r in mixed] and "SECRETSIG" not in str(rows)


def test_plan_json_written_in_pieces_is_plan_json(monkeypatch):
    """Issue 29: ``plan --format json`` writes the document as it is made; the bytes are plan_json's."""
    from reconciler.engine.models import Config, Settings
    from reconciler.engine.planner import compute_plan
    from reconciler.kinds.replicas.models import RemoteReplica
    from reconciler.views import json_text
    from reconciler.views.plan_document import plan_json, write_plan_json

    monkeypatch.setattr(json_text._Sink, "SIZE", 700)
    monkeypatch.setattr(json_text.Rows, "CHUNK", 7)
    remote = [RemoteReplica(f"r{i:04d}", f"u-{i:04d}", status="completed") for i in range(300)]
    remote.append(RemoteReplica("rurl", "u-see https://x.example/a?Signature=abc\u202e", status="completed"))
    plan = compute_plan(Config("f.yaml", replicas=(), settings=Settings(name_prefix="u-")), remote)
    pieces: list[str] = []
    write_plan_json(plan, pieces.append, file="f.yaml")
    assert len(pieces) > 10 and "".join(pieces) == plan_json(plan, file="f.yaml")
    assert "Signature=abc" not in "".join(pieces)
