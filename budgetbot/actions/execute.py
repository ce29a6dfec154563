"""Carrying out a proposal, exactly once: approve, resume after a restart, resubmit.

The protocol is the outbox's: the action is *recorded* in the store (who approved, when, which
jobs are about to be cancelled) and *leased* to one process before IonQ is called. A second
click, two approvers at once or a retried Slack request find the record and report it; a
process that dies between "recorded" and "IonQ answered" leaves a lease that ends (or whose
holder is known dead), and the next call (:func:`resume`, or any click) finishes the recorded
action: it lists the group's jobs again, counts a recorded job that is no longer queued as
cancelled where IonQ lists it ``canceled``, and cancels only those still queued. No job id is
ever cancelled twice, and none is taken from a button's value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from budgetbot.ionq import IonQClient
from budgetbot.store import Store

from .model import ActionMode, Outcome

__all__ = [
    "DEFAULT_LEASE",
    "ActionRuntime",
    "approve",
    "load_outcome",
    "record_refusal",
    "resubmit",
    "resume",
]

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


def approve(rt: ActionRuntime, proposal_id: str, user_id: str, now: dt.datetime) -> Outcome:
    """Carry out ``proposal_id`` for ``user_id`` (the Slack side has checked they are an approver).

    Refuses an unknown or expired proposal (``state`` says which; an expired click is audited).
    Otherwise records the approval (the first approver's, once), leases the action, lists the
    group's jobs now from IonQ and cancels those ``submitted``/``ready`` (a ``started`` one is
    reported). Returns the outcome; calling again returns the same outcome with ``first=False``.
    In ``dry-run`` mode nothing is cancelled (``state="dry_run"`` lists what would be); ``off``
    does nothing (``state="off"``). IonQ refusing (403, 429, 5xx) gives ``state="failed"`` with a
    message that names the cause; calling again retries, still cancelling each job once.
    """
    raise NotImplementedError


def load_outcome(store: Store, proposal_id: str) -> Outcome:
    """Where ``proposal_id`` stands now, as an outcome (``first=False``): for a message update
    or ``/ionq-usage audit``; ``state="unknown"`` if there is no such proposal."""
    raise NotImplementedError


def resume(rt: ActionRuntime, now: dt.datetime) -> list[Outcome]:
    """Finish every recorded action left unfinished by a process that stopped (its lease ended,
    or its holder is known dead). Called at the start of each cycle and of ``serve``."""
    raise NotImplementedError


def record_refusal(
    store: Store, proposal_id: str, user_id: str, now: dt.datetime, *, reason: str = ""
) -> None:
    """Audit a click by ``user_id``, who is not an approver (nothing else happens)."""
    raise NotImplementedError


def resubmit(rt: ActionRuntime, proposal_id: str, user_id: str, now: dt.datetime) -> Outcome:
    """Re-queue the jobs ``proposal_id`` cancelled (``POST /jobs/{id}/clone``), once.

    Each clone is recorded as it is made, so a second click, a retry or a restart clones no job
    twice. Returns the outcome with ``resubmit`` ``done`` (each job's ``clone_id``), ``failed``
    (clicking again retries the jobs not yet cloned) or ``in_progress``.
    """
    raise NotImplementedError
