"""Budget actions: a policy proposes cancelling a group's queued jobs, an approver confirms it in
Slack (or it is automatic), budgetbot does it through IonQ's API exactly once, and every step is
audited.

- :mod:`.model` (pure, re-exported here): proposals, outcomes, audit entries.
- :mod:`.plan` (pure): which proposals a cycle makes, which jobs an action acts on.
- :mod:`.execute` (IonQ and the store): :func:`~.execute.approve`,
  :func:`~.execute.record_refusal`, :func:`~.execute.resubmit`, :func:`~.execute.load_outcome`,
  :func:`~.execute.resume`, :class:`~.execute.ActionRuntime`: what the Slack side calls.
- :mod:`.audit`: :func:`~.audit.audit_entries` (``budgetbot audit``, ``/ionq-usage audit``).
- :mod:`.records`: the store's tables (schema 4); :mod:`.cycle`: the check cycle's part.

This package's door carries only the pure model, so the renderers (pure) may import it; the
services are imported from their modules.
"""

from .model import (
    ACTION_MODES,
    ActionMode,
    ActionState,
    AuditEntry,
    AuditEvent,
    JobOutcome,
    JobResult,
    Outcome,
    OutcomeState,
    Proposal,
    ResubmitState,
    proposal_id,
)

__all__ = [
    "ACTION_MODES",
    "ActionMode",
    "ActionState",
    "AuditEntry",
    "AuditEvent",
    "JobOutcome",
    "JobResult",
    "Outcome",
    "OutcomeState",
    "Proposal",
    "ResubmitState",
    "proposal_id",
]
