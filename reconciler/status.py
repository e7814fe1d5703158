"""The one table that maps every Tavus status word to what it means for us.

Tavus's own documents disagree on the vocabulary: the API answers ``started`` / ``completed`` / ``error``,
older docs and client code say ``training``, the training webhook says ``ready``. Anything else is treated
as still pending (shown as is) so a new server-side word never breaks a run. This module is pure (the
planner reads phases through it): the client, which reads the words off the wire, logs an unknown one once.
"""

from __future__ import annotations

import enum


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



def phase_of(status: str | None) -> Phase:
    """Phase of a raw status word; unknown words (and a missing status) are pending."""
    return STATUS_PHASES.get((status or "").strip().lower(), Phase.PENDING)


def is_known(status: str | None) -> bool:
    return (status or "").strip().lower() in STATUS_PHASES
