"""What an action needs (:class:`ActionRuntime`) and how a stored action reads as an
:class:`~budgetbot.actions.model.Outcome`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from budgetbot.ionq import IonQClient
from budgetbot.store import Store

from . import records
from .model import ActionMode, Outcome, OutcomeState
from .records import ActionRecord
from .text import in_progress_text

__all__ = ["DEFAULT_LEASE", "ActionRuntime", "load_outcome", "outcome_of"]

#: How long one process may hold an action while IonQ answers (wall clock): longer than the
#: IonQ client's deadline for the listing plus the cancels.
DEFAULT_LEASE: Final = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class ActionRuntime:
    """What an action needs: the store, IonQ clients and the operator's switch.

    ``clients`` are one per key, the organization's first and then the project keys (as the queue
    reader has them: ``Runtime.action_runtime()``); a job is cancelled with the key that listed
    it, so some key must see the group's projects.
    """

    store: Store
    clients: Sequence[IonQClient]
    mode: ActionMode = "on"
    lease: dt.timedelta = DEFAULT_LEASE


def load_outcome(store: Store, proposal_id: str) -> Outcome:
    """Where ``proposal_id`` stands now, as an outcome (``first=False``): for a message update
    or ``/ionq-usage audit``; ``state="unknown"`` if there is no such proposal."""
    rec = records.load(store, proposal_id)
    return unknown(proposal_id) if rec is None else outcome_of(rec)


_STATES: dict[str, OutcomeState] = {
    "proposed": "proposed",
    "approved": "in_progress",
    "done": "done",
    "failed": "failed",
}


def outcome_of(rec: ActionRecord, *, first: bool = False, message: str | None = None) -> Outcome:
    """The outcome a stored action stands at."""
    state = _STATES[rec.state]
    if message is None:
        message = rec.message or ""
        if state == "in_progress":
            message = in_progress_text(rec.approved_by)
        elif state == "proposed":
            message = rec.proposal.summary
    return Outcome(
        proposal_id=rec.proposal.id,
        state=state,
        first=first,
        proposal=rec.proposal,
        approved_by=rec.approved_by,
        approved_at=rec.approved_at,
        finished_at=rec.finished_at,
        jobs=rec.jobs,
        message=message,
        resubmit=rec.resubmit,
        resubmitted_by=rec.resubmitted_by,
        resubmitted_at=rec.resubmitted_at,
    )


def said(rec: ActionRecord, state: OutcomeState, message: str) -> Outcome:
    return Outcome(proposal_id=rec.proposal.id, state=state, proposal=rec.proposal, message=message)


def unknown(proposal_id: str) -> Outcome:
    return Outcome(
        proposal_id=proposal_id,
        state="unknown",
        message="No such proposal (it may belong to another budgetbot): nothing was done.",
    )


def switched_off(rec: ActionRecord) -> Outcome:
    return said(
        rec, "off", "Budget actions are switched off (BUDGETBOT_ACTIONS=off): nothing was done."
    )
