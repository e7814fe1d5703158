"""The one table that maps every Tavus status word to what it means for us.

Tavus's own documents disagree on the vocabulary: the API answers ``started`` / ``completed`` / ``error``,
older docs and client code say ``training``, the training webhook says ``ready``. Anything else is treated
as still pending (shown as is, logged once) so a new server-side word never breaks a run.
"""

from __future__ import annotations

import enum
import logging

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


STATUS_PHASES: dict[str, Phase] = {
    "started": Phase.PENDING,
    "training": Phase.PENDING,
    "completed": Phase.READY,
    "ready": Phase.READY,
    "error": Phase.FAILED,
}

_unknown_seen: set[str] = set()


def phase_of(status: str | None) -> Phase:
    """Phase of a raw status word; unknown words (and a missing status) are pending, logged once each."""
    word = (status or "").strip().lower()
    phase = STATUS_PHASES.get(word)
    if phase is None:
        if word not in _unknown_seen:
            _unknown_seen.add(word)
            log.warning("unknown replica status %r: treating it as still training", status)
        return Phase.PENDING
    return phase
