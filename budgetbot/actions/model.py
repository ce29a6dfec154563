"""Budget actions as plain data (pure): proposals, what an action did, the audit trail.

A *proposal* is made once per (policy, group, period, level) when a level with an action is
reached: "Cancel 3 queued jobs of Quantum Chem ($640.00 estimated)". Its id is derived from that
key, so two cycles (or two processes) proposing the same thing store one row. An *outcome* is
what a click (or an automatic action) led to: per job, cancelled or why not. Every step is an
:class:`AuditEntry`.

Nothing here talks to IonQ, the store or Slack; the text is plain (the Slack side escapes it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from budgetbot.rules.findings import level_text
from budgetbot.usage.measures import Measure

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

#: ``BUDGETBOT_ACTIONS``: ``on`` (default) proposes and acts; ``dry-run`` proposes and says what
#: would be cancelled, never cancelling; ``off`` proposes nothing and acts on nothing.
ActionMode = Literal["on", "dry-run", "off"]
ACTION_MODES: Final[tuple[ActionMode, ...]] = ("on", "dry-run", "off")

#: Where a proposal stands in the store: ``proposed`` (waiting for an approver), ``approved``
#: (recorded: cancelling, or to be resumed after a restart), ``done``, ``failed`` (IonQ refused;
#: a retry resumes it).
ActionState = Literal["proposed", "approved", "done", "failed"]

#: What a call of :func:`budgetbot.actions.execute.approve` found or did:
#: ``done`` (cancelled now or earlier: see ``first``), ``dry_run`` (would cancel; nothing was),
#: ``proposed`` (waiting for an approver: :func:`~budgetbot.actions.execute.load_outcome` only),
#: ``expired`` (the period is over), ``in_progress`` (another click or process is cancelling),
#: ``failed`` (IonQ refused: ``message`` says why; clicking again retries), ``unknown`` (no such
#: proposal), ``off`` (``BUDGETBOT_ACTIONS=off``).
OutcomeState = Literal[
    "done", "dry_run", "proposed", "expired", "in_progress", "failed", "unknown", "off"
]

#: A job's fate: ``cancelled``; ``started`` (it ran before it could be cancelled: reported, not
#: cancelled); ``gone`` (no longer queued: finished, failed or cancelled by someone else);
#: ``refused`` (IonQ would not cancel it: ``reason``); ``would_cancel`` (dry run); ``pending``
#: (recorded, IonQ not yet answered).
JobResult = Literal["cancelled", "started", "gone", "refused", "would_cancel", "pending"]

#: The way back: ``none`` (not asked), ``in_progress``, ``done``, ``failed`` (some job could
#: not be cloned; clicking again retries those IonQ refused before cloning).
ResubmitState = Literal["none", "in_progress", "done", "failed"]

AuditEvent = Literal[
    "proposed",
    "refused",
    "expired",
    "approved",
    "automatic",
    "dry_run",
    "cancelled",
    "not_cancelled",
    "failed",
    "resubmit",
    "cloned",
    "not_cloned",
]


def proposal_id(rule: str, group_key: str, period: str, kind: str, level: Decimal) -> str:
    """The proposal's id: one per (policy, group, period, kind, level), short enough for a
    Slack button's value."""
    key = "|".join((rule, group_key, period, kind, level_text(level)))
    return "p-" + hashlib.sha256(key.encode()).hexdigest()[:20]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Proposal(_Frozen):
    """Cancel a group's queued jobs, proposed when a policy's level with an action is reached."""

    id: str
    rule: str
    #: ``project`` or ``user``: whose queue is cancelled.
    scope: str
    group_key: str
    group_name: str
    #: The project ids (scope ``project``) or submitter ids (``user``) whose jobs are cancelled:
    #: the group itself, or the matched groups of a policy counting several together.
    groups: tuple[str, ...]
    period: str
    #: ``spend`` or ``committed``: the figure that reached ``level``.
    kind: str
    level: Decimal
    approval: Literal["manual", "automatic"]
    #: As the policy lists them (user ids, ``@user-groups``, e-mails): resolved at click time.
    approvers: tuple[str, ...] = ()
    #: The mode it was proposed in (``on`` or ``dry-run``).
    mode: ActionMode = "on"
    #: The alert thread it belongs in, and the channel.
    thread_key: str
    channel: str | None = None
    created_at: dt.datetime
    #: The end of the period: a click from then on is refused as expired.
    expires_at: dt.datetime
    #: The group's cancellable (``submitted``/``ready``) jobs when proposed: how many, and their
    #: estimated USD (None: unknown: no queue snapshot, or an estimate not in USD).
    jobs: int
    amount_usd: Decimal | None = None

    @property
    def level_text(self) -> str:
        return level_text(self.level)

    @property
    def summary(self) -> str:
        """``Cancel 3 queued jobs of Quantum Chem ($640.00 estimated)``."""
        count = f"{self.jobs} queued job{'' if self.jobs == 1 else 's'}"
        usd = self.amount_usd
        amount = "" if usd is None else f" ({Measure.USD.format(usd)} estimated)"
        return f"Cancel {count} of {self.group_name}{amount}"

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at


class JobOutcome(_Frozen):
    """One job an action found, and what became of it."""

    job_id: str
    #: The job's name, else its id (IonQ text: escape before Slack).
    label: str
    project_id: str | None = None
    submitter_id: str | None = None
    #: The status IonQ listed it in when the action ran.
    status: str
    result: JobResult
    #: Why not cancelled (``started``, ``refused``, ``gone``), for people.
    reason: str | None = None
    estimate_usd: Decimal | None = None
    #: After a resubmit: the clone's job id, or why it could not be cloned; ``clone_state`` is
    #: ``started`` (asked), ``done``, ``failed`` (IonQ refused: asked again on the next click)
    #: or ``unknown`` (the answer was lost: never asked again).
    clone_id: str | None = None
    clone_error: str | None = None
    clone_state: str | None = None


class Outcome(_Frozen):
    """What an approval (or automatic action, or resubmit) found or did, for the message."""

    proposal_id: str
    state: OutcomeState
    #: True when this call did the work (False: an earlier click or process had, or it waits).
    first: bool = False
    proposal: Proposal | None = None
    #: Slack user id of the approver (``automatic`` for automatic approval).
    approved_by: str | None = None
    approved_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    jobs: tuple[JobOutcome, ...] = ()
    #: One plain sentence or two for people: what was cancelled, what was not and why, or why
    #: nothing was done.
    message: str
    resubmit: ResubmitState = "none"
    resubmitted_by: str | None = None
    resubmitted_at: dt.datetime | None = None

    @property
    def cancelled(self) -> tuple[JobOutcome, ...]:
        return tuple(j for j in self.jobs if j.result == "cancelled")

    @property
    def not_cancelled(self) -> tuple[JobOutcome, ...]:
        return tuple(j for j in self.jobs if j.result in ("started", "refused", "gone"))

    @property
    def can_resubmit(self) -> bool:
        """Whether a Resubmit button belongs on the message: jobs were cancelled, none cloned."""
        return self.state == "done" and bool(self.cancelled) and self.resubmit in ("none", "failed")


class AuditEntry(_Frozen):
    """One line of the audit trail."""

    id: int
    at: dt.datetime
    event: AuditEvent
    proposal_id: str
    rule: str
    group_name: str
    #: Slack user id (``automatic`` for automatic approval, None for budgetbot's own steps).
    by_user: str | None = None
    job_id: str | None = None
    detail: str = ""
