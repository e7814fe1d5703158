"""reconciler.engine.status: the generic phase of an asynchronous object (the replicas' status words are
tests/test_replicas_readiness.py's)."""

from __future__ import annotations

from reconciler.engine.status import Phase


def test_only_pending_and_preview_are_still_training():
    assert [p for p in Phase if p.training] == [Phase.PENDING, Phase.PREVIEW]
    assert {p.value for p in Phase} == {"pending", "preview", "ready", "failed"}
