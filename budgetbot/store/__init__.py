"""budgetbot's state: which alert levels fired, and the outbox of notifications (SQLAlchemy Core).

SQLite by default; any SQLAlchemy URL works. Unique keys make recording idempotent, so a cycle run
twice, or by two processes, records each level and each notification once.
"""

from .db import JobEstimate, LedgerEntry, LedgerMark, SchemaTooNew, Store, StoredNotification

__all__ = [
    "JobEstimate",
    "LedgerEntry",
    "LedgerMark",
    "SchemaTooNew",
    "Store",
    "StoredNotification",
]
