"""The replica kind's readiness: the one table that maps every Tavus status word to a phase, and the one
readiness rule (:func:`replica_phase`).

Tavus's own documents disagree on the vocabulary: the API answers ``started`` / ``completed`` / ``error``,
older docs and client code say ``training``, the training webhook says ``ready``. Anything else is treated
as still pending (shown as is) so a new server-side word never breaks a run. This module is pure (the
planner reads phases through it): the client, which reads the words off the wire, logs an unknown one once.

Readiness (issue 25): for a model with a fine-tune phase (phoenix-4.5), ``status: completed`` is only a
watermarked zero-shot *preview*; the separate ``finetune_status`` (``null`` while the fine-tune runs, then
``completed`` or ``errored``) says when the replica is production-ready. :func:`replica_phase` is the rule:
a replica whose answer carries ``finetune_status`` is READY only when that is ``completed``, PREVIEW while
``status`` is done and the fine-tune is not, FAILED when the fine-tune errored. A replica whose answer never
carries the field (every older model) keeps the plain meaning of ``status``. PREVIEW is never ready: the
waiter keeps waiting, output leaves it out, smoke/converse refuse it, a rollout does not swap it in.
"""

from __future__ import annotations

from reconciler.engine.status import Phase

STATUS_PHASES: dict[str, Phase] = {
    "started": Phase.PENDING,
    "training": Phase.PENDING,
    "completed": Phase.READY,
    "ready": Phase.READY,
    "error": Phase.FAILED,
}

# finetune_status words (the Phoenix-4.5 page says completed / errored; the others are tolerated spellings)
FINETUNE_PHASES: dict[str, Phase] = {
    "completed": Phase.READY,
    "ready": Phase.READY,
    "errored": Phase.FAILED,
    "error": Phase.FAILED,
    "failed": Phase.FAILED,
}


def phase_of(status: str | None) -> Phase:
    """Phase of a raw status word; unknown words (and a missing status) are pending."""
    return STATUS_PHASES.get((status or "").strip().lower(), Phase.PENDING)


def is_known(status: str | None) -> bool:
    return (status or "").strip().lower() in STATUS_PHASES


def replica_phase(status: str | None, finetune_status: str | None = None, finetunes: bool = False) -> Phase:
    """THE readiness rule of a replica: ``finetunes`` is whether the answer carries ``finetune_status`` at all
    (even as null). Without it, the phase of ``status``; with it, a done ``status`` is only a PREVIEW until
    the fine-tune completes (READY) or errors (FAILED). Unknown fine-tune words keep it a preview."""
    phase = phase_of(status)
    if not finetunes or phase is not Phase.READY:
        return phase
    return FINETUNE_PHASES.get((finetune_status or "").strip().lower(), Phase.PREVIEW)
