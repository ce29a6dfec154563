"""The way back: re-queue the jobs an action cancelled (``POST /jobs/{id}/clone``), once.

Cloning is not idempotent, so each job's clone is marked *started* in the store before IonQ is
asked: a second click, a retry or a restart never asks for it again. A clone IonQ refused before
making it (400, 403, 404, 429) may be asked again on the next click; one whose answer was lost
(5xx, a timeout, a crash) stays unknown and is reported, never repeated.
"""

from __future__ import annotations

import datetime as dt

from budgetbot.ionq import (
    IonQAuthError,
    IonQClient,
    IonQError,
    IonQNotFound,
    IonQRateLimited,
    IonQRequestError,
)
from budgetbot.store.lease import LeaseHolder, owner_alive

from . import records
from .model import Outcome, Proposal
from .outcomes import ActionRuntime, outcome_of, switched_off, unknown
from .records import Audit
from .text import resubmit_text

__all__ = ["resubmit"]

#: IonQ refused before doing anything: the clone may be asked for again.
_REFUSED = (IonQAuthError, IonQRequestError, IonQNotFound, IonQRateLimited)


def resubmit(rt: ActionRuntime, proposal_id: str, user_id: str, now: dt.datetime) -> Outcome:
    """Re-queue the jobs ``proposal_id`` cancelled (``POST /jobs/{id}/clone``), once.

    Each clone is recorded as it is made, so a second click, a retry or a restart clones no job
    twice. Returns the outcome with ``resubmit`` ``done`` (each job's ``clone_id``), ``failed``
    (clicking again retries the jobs IonQ refused to clone) or ``in_progress``; ``state``
    stays the action's (``done``). Nothing is cloned unless ``BUDGETBOT_ACTIONS=on``.
    """
    rec = records.load(rt.store, proposal_id)
    if rec is None:
        return unknown(proposal_id)
    if rt.mode != "on":
        return switched_off(rec)
    p = rec.proposal
    if rec.state != "done" or not any(j.result == "cancelled" for j in rec.jobs):
        return outcome_of(rec, message="Nothing to resubmit: no job was cancelled.")
    if rec.resubmit == "done":
        return outcome_of(rec, message=resubmit_text(rec.jobs, rec.resubmitted_by, now))
    with LeaseHolder(rt.store.engine) as holder:
        alive = owner_alive(rt.store.engine, rec.claimed_by)
        entry = Audit("resubmit", user_id, detail=f"resubmit the jobs of {p.summary}")
        taken = records.claim(
            rt.store,
            p,
            holder.owner,
            now,
            rt.lease,
            states=("done",),
            values={
                "resubmit": "in_progress",
                "resubmitted_by": user_id[:64],
                "resubmitted_at": now,
            },
            entries=[entry],
            dead_owner=None if alive else rec.claimed_by,
            resubmit=("none", "failed", "in_progress"),
        )
        if not taken:
            return outcome_of(records.load(rt.store, p.id) or rec)
        _clone_all(rt, p, user_id, now)
        after = records.load(rt.store, p.id) or rec
        # Failed while a clone IonQ refused may be asked again; done once none is left.
        retry = any(j.clone_state == "failed" for j in after.jobs if j.result == "cancelled")
        state = "failed" if retry else "done"
        first = records.finish(rt.store, p, holder.owner, now, {"resubmit": state})
        final = records.load(rt.store, p.id) or after
        return outcome_of(
            final, first=first, message=resubmit_text(final.jobs, final.resubmitted_by, now)
        )


def _clone_all(rt: ActionRuntime, p: Proposal, user_id: str, now: dt.datetime) -> None:
    rec = records.load(rt.store, p.id)
    if rec is None:
        return
    by_project = _clients_by_project(rt)
    for job in rec.jobs:
        if job.result != "cancelled" or job.clone_id:
            continue
        if not records.mark_clone_started(rt.store, p, job.job_id):
            if job.clone_state == "started":  # asked for by a run that stopped (we hold the lease)
                why = "asked for before a restart; IonQ may have made the clone: check"
                records.finish_clone(rt.store, p, job.job_id, None, why, user_id, now)
            continue  # asked for before: never twice
        client = by_project.get(job.project_id or "", rt.clients[0])
        try:
            cloned = client.clone_job(job.job_id)
        except _REFUSED as exc:
            records.finish_clone(
                rt.store, p, job.job_id, None, str(exc)[:500], user_id, now, retryable=True
            )
            continue
        except IonQError as exc:
            why = f"{str(exc)[:400]}; IonQ may have made the clone: check before resubmitting"
            records.finish_clone(rt.store, p, job.job_id, None, why, user_id, now)
            continue
        records.finish_clone(rt.store, p, job.job_id, cloned.id, None, user_id, now)


def _clients_by_project(rt: ActionRuntime) -> dict[str, IonQClient]:
    """Each key's project (``/whoami``), so a job is cloned with a key that sees it."""
    found: dict[str, IonQClient] = {}
    for client in rt.clients:
        try:
            who = client.whoami()
        except IonQError:
            continue
        if who.project_id is not None:
            found.setdefault(who.project_id, client)
    return found
