"""The audit trail of budget actions, newest first (``budgetbot audit``, ``/ionq-usage audit``)."""

from __future__ import annotations

from budgetbot.store import Store

from .model import AuditEntry
from .records import audit_rows

__all__ = ["DEFAULT_AUDIT_LIMIT", "audit_entries"]

#: How many entries ``budgetbot audit`` and ``/ionq-usage audit`` show unless told.
DEFAULT_AUDIT_LIMIT = 50


def audit_entries(store: Store, limit: int = DEFAULT_AUDIT_LIMIT) -> list[AuditEntry]:
    """The ``limit`` most recent audit entries, newest first: proposals, refusals, approvals,
    cancellations (one entry per job, ok or why not), resubmits and clones."""
    return audit_rows(store, limit)
