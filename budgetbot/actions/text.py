"""What an action's outcome says, in plain words (pure; the Slack side escapes IonQ's names)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from budgetbot.usage.measures import Measure

from .model import JobOutcome, Proposal

__all__ = [
    "by_text",
    "done_text",
    "dry_run_text",
    "expired_text",
    "failed_text",
    "in_progress_text",
    "jobs_text",
    "resubmit_text",
]

AUTOMATIC = "automatic"


def jobs_text(count: int, *, what: str = "queued job") -> str:
    """``1 queued job``, ``3 queued jobs``."""
    return f"{count} {what}{'' if count == 1 else 's'}"


def _amount(jobs: Sequence[JobOutcome]) -> str:
    total = Decimal(0)
    for job in jobs:
        if job.estimate_usd is None:
            return ""
        total += job.estimate_usd
    return f" ({Measure.USD.format(total)} estimated)" if jobs else ""


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def by_text(user: str | None) -> str:
    """Who approved: ``automatically`` or ``by U0123ABCD``."""
    return "automatically" if user in (None, AUTOMATIC) else f"by {user}"


def _not_cancelled(jobs: Sequence[JobOutcome]) -> str:
    started = [j for j in jobs if j.result == "started"]
    other = [j for j in jobs if j.result in ("refused", "gone")]
    parts = []
    if started:
        parts.append(f"{jobs_text(len(started), what='job')} had started and run on")
    if other:
        parts.append(f"{jobs_text(len(other), what='job')} could not be cancelled")
    return f" Not cancelled: {'; '.join(parts)}." if parts else ""


def done_text(
    proposal: Proposal, jobs: Sequence[JobOutcome], by: str | None, at: dt.datetime
) -> str:
    """``Cancelled 3 queued jobs of Quantum Chem ($640.00 estimated), approved by U… at …``."""
    cancelled = [j for j in jobs if j.result == "cancelled"]
    head = (
        f"Cancelled {jobs_text(len(cancelled))} of {proposal.group_name}{_amount(cancelled)}"
        if cancelled
        else f"No queued job of {proposal.group_name} to cancel"
    )
    return f"{head}, approved {by_text(by)} at {_when(at)}.{_not_cancelled(jobs)}"


def dry_run_text(proposal: Proposal, jobs: Sequence[JobOutcome]) -> str:
    """What a dry run would have cancelled."""
    would = [j for j in jobs if j.result == "would_cancel"]
    return (
        f"Dry run (BUDGETBOT_ACTIONS=dry-run): would cancel {jobs_text(len(would))} of"
        f" {proposal.group_name}{_amount(would)}; nothing was cancelled.{_not_cancelled(jobs)}"
    )


def expired_text(proposal: Proposal) -> str:
    return (
        f"This proposal expired at the end of its period ({_when(proposal.expires_at)}):"
        " nothing was cancelled."
    )


def in_progress_text(by: str | None) -> str:
    return (
        f"Already approved {by_text(by)} and being carried out; the message is updated when"
        " IonQ has answered."
    )


def failed_text(proposal: Proposal, why: str, jobs: Sequence[JobOutcome]) -> str:
    """IonQ refused or failed: what was done so far, and that a retry is safe."""
    cancelled = sum(j.result == "cancelled" for j in jobs)
    pending = sum(j.result == "pending" for j in jobs)
    so_far = f" {jobs_text(cancelled, what='job')} cancelled so far" if cancelled else ""
    left = f", {jobs_text(pending, what='job')} left" if pending else ""
    return (
        f"Could not finish cancelling the queued jobs of {proposal.group_name}: {why}.{so_far}"
        f"{left}. Click again to retry: no job is cancelled twice."
    )


def resubmit_text(jobs: Sequence[JobOutcome], by: str | None, at: dt.datetime) -> str:
    """``Resubmitted 3 jobs (clones queued) by U… at …``, and what could not be."""
    cloned = [j for j in jobs if j.clone_id]
    failed = [j for j in jobs if j.result == "cancelled" and not j.clone_id]
    text = f"Resubmitted {jobs_text(len(cloned), what='job')} {by_text(by)} at {_when(at)}"
    if failed:
        text += f"; {jobs_text(len(failed), what='job')} could not be resubmitted"
    return text + "."
