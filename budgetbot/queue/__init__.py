"""IonQ's job queue: what is queued or running now, and what it will cost (committed spend)."""

from .model import (
    QUEUED_STATUSES,
    QueuedJob,
    QueueReader,
    QueueSnapshot,
    queued_amount,
)

__all__ = ["QUEUED_STATUSES", "QueueReader", "QueueSnapshot", "QueuedJob", "queued_amount"]
