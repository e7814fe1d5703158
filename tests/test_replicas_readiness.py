"""reconciler.kinds.replicas.readiness: every Tavus status word maps to one phase, unknown words tolerated."""

from __future__ import annotations

import logging

import pytest

from reconciler.engine.status import Phase
from reconciler.kinds.replicas.models import RemoteReplica
from reconciler.kinds.replicas.readiness import STATUS_PHASES, phase_of


@pytest.mark.parametrize("word,phase", [
    ("started", Phase.PENDING), ("training", Phase.PENDING), ("completed", Phase.READY), ("ready", Phase.READY),
    ("error", Phase.FAILED), ("COMPLETED", Phase.READY), (" ready ", Phase.READY),
    ("queued", Phase.PENDING), ("", Phase.PENDING), (None, Phase.PENDING),
])
def test_every_tavus_status_word_maps_to_one_phase(word, phase):
    assert phase_of(word) is phase


def test_table_covers_the_documented_vocabulary():
    assert set(STATUS_PHASES) == {"started", "training", "completed", "ready", "error"}


def test_unknown_status_is_logged_once(caplog):
    from reconciler.api.client import TavusClient

    client = TavusClient("http://127.0.0.1:9", "k")
    with caplog.at_level(logging.WARNING, logger="reconciler.engine.status"):
        assert phase_of("brand-new-word") is Phase.PENDING  # pure: phase_of itself never logs
        assert not caplog.records
        for rid in ("r1", "r2"):
            client._replica({"replica_id": rid, "status": "brand-new-word"}, "GET", "/v2/replicas")
    assert [r.getMessage() for r in caplog.records].count(
        "unknown replica status 'brand-new-word': treating it as still training") == 1


@pytest.mark.parametrize("progress,percent", [("45/100", 45.0), ("45", 45.0), ("45%", 45.0), ("3/4", 75.0),
                                              (None, None), ("n/a", None), ("1/0", None), ("250/100", 100.0)])
def test_training_progress_is_read_tolerantly(progress, percent):
    assert RemoteReplica("r1", "a", training_progress=progress).progress_percent == percent




@pytest.mark.parametrize("status,finetune,sent,phase", [
    ("completed", None, True, Phase.PREVIEW),  # phoenix-4.5: a watermarked preview while the fine-tune runs
    ("completed", "completed", True, Phase.READY),
    ("completed", "errored", True, Phase.FAILED),
    ("completed", "tuning", True, Phase.PREVIEW),  # an unknown fine-tune word keeps it a preview
    ("started", None, True, Phase.PENDING),
    ("error", None, True, Phase.FAILED),
    ("completed", None, False, Phase.READY),  # a model that never sends the field keeps today's meaning
])
def test_the_readiness_rule_reads_finetune_status_when_the_answer_carries_it(status, finetune, sent, phase):
    from reconciler.kinds.replicas.kind import REPLICAS
    from reconciler.kinds.replicas.readiness import replica_phase

    assert replica_phase(status, finetune, sent) is phase
    data = {"replica_id": "r1", "replica_name": "a", "status": status,
            **({"finetune_status": finetune} if sent else {})}
    remote = RemoteReplica.from_api(data)
    assert REPLICAS.phase(remote) is phase
    assert (REPLICAS.not_ready(remote) is None) is (phase is Phase.READY)
    assert not phase.training or phase in (Phase.PENDING, Phase.PREVIEW)
