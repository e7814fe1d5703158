"""The phase of an asynchronous object (a replica training, a document processing), as the engine's waiter,
planner and renderers read it; each asynchronous kind maps its own status words to it (the replicas':
``reconciler.kinds.replicas.readiness``)."""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    PENDING = "pending"
    PREVIEW = "preview"  # status done, fine-tune still running: a watermarked preview, not ready (issue 25)
    READY = "ready"
    FAILED = "failed"

    @property
    def training(self) -> bool:
        """Still on its way to ready (training, or a preview whose fine-tune runs)."""
        return self is Phase.PENDING or self is Phase.PREVIEW
