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

from budgetbot.ionq import IonQClient, Job
from budgetbot.store import Store
from budgetbot.store.lease import LeaseHolder, owner_alive

from . import records
from .listing import ActionFailed, Cancelled, Listing, cancel, canceled_ids, list_group
from .model import AuditEvent, JobOutcome, Outcome, Proposal
from .outcomes import (
    DEFAULT_LEASE,
    ActionRuntime,
    load_outcome,
    outcome_of,
    said,
    switched_off,
    unknown,
)
from .plan import CANCELLABLE
from .records import ActionRecord, Audit
from .resubmit import resubmit
from .text import (
    AUTOMATIC,
    done_text,
    dry_run_text,
    expired_text,
    failed_text,
)

__all__ = [
    "AUTOMATIC",
    "DEFAULT_LEASE",
    "ActionRuntime",
    "approve",
    "approve_automatically",
    "load_outcome",
    "outcome_of",
    "record_refusal",
    "resubmit",
    "resume",
]


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
    rec = records.load(rt.store, proposal_id)
    if rec is None:
        return unknown(proposal_id)
    if rt.mode == "off":
        return switched_off(rec)
    if rec.state == "done":
        return outcome_of(rec)
    # A retry of a failed action expires too; one recorded and interrupted is finished.
    if rec.state in ("proposed", "failed") and rec.proposal.expired(now):
        entry = Audit("expired", user_id, detail="clicked after the proposal expired")
        records.audit(rt.store, rec.proposal, [entry], now)
        return said(rec, "expired", expired_text(rec.proposal))
    if rt.mode == "dry-run" or rec.proposal.mode == "dry-run":
        return _dry_run(rt, rec, user_id, now)
    return _act(rt, rec, user_id, now)


def approve_automatically(rt: ActionRuntime, proposal_id: str, now: dt.datetime) -> Outcome:
    """Carry out a proposal of ``approval: automatic`` (the cycle, when the level is reached):
    :func:`approve` by :data:`AUTOMATIC`, audited as ``automatic``."""
    return approve(rt, proposal_id, AUTOMATIC, now)


def resume(rt: ActionRuntime, now: dt.datetime) -> list[Outcome]:
    """Finish every recorded action left unfinished by a process that stopped (its lease ended,
    or its holder is known dead), and retry failed automatic ones within their period. Called
    by each cycle (and ``serve`` may call it at start); returns the outcomes of those it ran
    (to be posted in their threads). Nothing is resumed unless ``BUDGETBOT_ACTIONS=on``."""
    if rt.mode != "on":
        return []
    done = []
    for proposal_id in records.unfinished(rt.store):
        rec = records.load(rt.store, proposal_id)
        if rec is None:
            continue
        if rec.state == "failed" and (
            rec.proposal.approval != "automatic" or rec.proposal.expired(now)
        ):
            continue  # a manual action is retried by a click
        held = rec.claimed_until is not None and rec.claimed_until >= now
        if held and owner_alive(rt.store.engine, rec.claimed_by):
            continue  # a live process is on it
        outcome = _act(rt, rec, rec.approved_by or AUTOMATIC, now)
        if outcome.first:
            done.append(outcome)
    return done


def record_refusal(
    store: Store, proposal_id: str, user_id: str, now: dt.datetime, *, reason: str = ""
) -> None:
    """Audit a click by ``user_id``, who is not an approver (nothing else happens)."""
    rec = records.load(store, proposal_id)
    if rec is not None:
        entry = Audit("refused", user_id, detail=reason or "not an approver: nothing was done")
        records.audit(store, rec.proposal, [entry], now)


# -- the action ---------------------------------------------------------------------------------


def _act(rt: ActionRuntime, rec: ActionRecord, user_id: str, now: dt.datetime) -> Outcome:
    """Lease the action (recording the approval if it is the first) and run it."""
    p = rec.proposal
    with LeaseHolder(rt.store.engine) as holder:
        if rec.state == "proposed":
            event: AuditEvent = "automatic" if user_id == AUTOMATIC else "approved"
            taken = records.claim(
                rt.store,
                p,
                holder.owner,
                now,
                rt.lease,
                states=("proposed",),
                values={"state": "approved", "approved_by": user_id[:64], "approved_at": now},
                entries=[Audit(event, user_id, detail=p.summary)],
            )
        else:
            alive = owner_alive(rt.store.engine, rec.claimed_by)
            retry = [Audit("approved", user_id, detail="retried")] if rec.state == "failed" else []
            taken = records.claim(
                rt.store,
                p,
                holder.owner,
                now,
                rt.lease,
                states=("approved", "failed"),
                values={"state": "approved"},
                entries=retry,
                dead_owner=None if alive else rec.claimed_by,
            )
        if not taken:
            return outcome_of(records.load(rt.store, p.id) or rec)
        return _run(rt, p, holder.owner, now)


def _run(rt: ActionRuntime, p: Proposal, owner: str, now: dt.datetime) -> Outcome:
    rec = records.load(rt.store, p.id)
    assert rec is not None  # a leased proposal is never deleted
    by = rec.approved_by
    try:
        listing = list_group(rt.clients, p)
        if listing.unseen:
            raise ActionFailed(
                f"no IonQ key sees the queue of project {', '.join(listing.unseen)}: add that"
                " project's key to IONQ_PROJECT_KEYS"
            )
        jobs = _recorded(rt, p, rec, listing, now)
        _cancel_pending(rt, p, jobs, listing, by, now)
    except ActionFailed as exc:
        now_jobs = records.load(rt.store, p.id)
        so_far = now_jobs.jobs if now_jobs else ()
        failed = {"state": "failed", "message": failed_text(p, str(exc), so_far)}
        first = records.finish(
            rt.store, p, owner, now, failed, [Audit("failed", by, detail=str(exc))]
        )
        return outcome_of(records.load(rt.store, p.id) or rec, first=first)
    final = records.load(rt.store, p.id) or rec
    message = done_text(p, final.jobs, by, now)
    done = {"state": "done", "finished_at": now, "message": message}
    first = records.finish(rt.store, p, owner, now, done)
    return outcome_of(records.load(rt.store, p.id) or final, first=first)


def _recorded(
    rt: ActionRuntime, p: Proposal, rec: ActionRecord, listing: Listing, now: dt.datetime
) -> dict[str, JobOutcome]:
    """The action's jobs: those recorded by an earlier attempt, else the group's jobs now,
    recorded (``pending``) before IonQ is asked to cancel any."""
    if rec.jobs:
        return {j.job_id: j for j in rec.jobs}
    fresh = [
        _job_outcome(job, "pending" if job.status in CANCELLABLE else "started")
        for job, _ in listing.jobs.values()
    ]
    started = [
        Audit("not_cancelled", rec.approved_by, j.job_id, f"started: {_STARTED}")
        for j in fresh
        if j.result == "started"
    ]
    records.put_jobs(rt.store, p, fresh, now, started)
    return {j.job_id: j for j in fresh}


def _cancel_pending(
    rt: ActionRuntime,
    p: Proposal,
    jobs: dict[str, JobOutcome],
    listing: Listing,
    by: str | None,
    now: dt.datetime,
) -> None:
    """Cancel the recorded jobs still pending, each once, recording each result as IonQ gives
    it. A pending job IonQ no longer lists as queued was cancelled by an attempt that stopped
    before recording it (IonQ lists it ``canceled``), or it ran or went otherwise."""
    pending = [j for j in jobs.values() if j.result == "pending"]
    batches: dict[int, tuple[IonQClient, list[str]]] = {}
    settled: list[JobOutcome] = []
    missing = []
    for job in pending:
        seen = listing.jobs.get(job.job_id)
        if seen is None:
            missing.append(job)
        elif seen[0].status not in CANCELLABLE:
            settled.append(
                job.model_copy(
                    update={"result": "started", "status": seen[0].status, "reason": _STARTED}
                )
            )
        else:
            batches.setdefault(id(seen[1]), (seen[1], []))[1].append(job.job_id)
    if missing:
        earlier = canceled_ids(rt.clients, [j.job_id for j in missing])
        for job in missing:
            if job.job_id in earlier:
                settled.append(job.model_copy(update={"result": "cancelled", "status": "canceled"}))
            else:
                settled.append(job.model_copy(update={"result": "gone", "reason": _GONE}))
    _settle(rt, p, settled, by, now)
    for client, ids in batches.values():
        try:
            done = cancel(client, ids)
        except ActionFailed as exc:
            _settle(rt, p, _cancelled(jobs, exc.done or Cancelled()), by, now)
            raise
        _settle(rt, p, _cancelled(jobs, done), by, now)


def _cancelled(jobs: dict[str, JobOutcome], done: Cancelled) -> list[JobOutcome]:
    out = [
        jobs[i].model_copy(update={"result": "cancelled", "status": "canceled"})
        for i in sorted(done.ok)
    ]
    out += [
        jobs[i].model_copy(update={"result": "refused", "reason": why[:500]})
        for i, why in sorted(done.refused.items())
    ]
    return out


def _settle(
    rt: ActionRuntime, p: Proposal, jobs: list[JobOutcome], by: str | None, now: dt.datetime
) -> None:
    """Record what became of ``jobs``, each with its audit entry (once: only pending jobs are
    ever settled, under the action's lease)."""
    entries = [
        Audit("cancelled", by, j.job_id, j.label)
        if j.result == "cancelled"
        else Audit("not_cancelled", by, j.job_id, f"{j.result}: {j.reason or ''}".strip(": "))
        for j in jobs
    ]
    records.put_jobs(rt.store, p, jobs, now, entries)


_STARTED = "it had started: IonQ runs it to the end"
_GONE = "no longer queued: it ran, failed or was cancelled elsewhere"


def _job_outcome(job: Job, result: str) -> JobOutcome:
    return JobOutcome.model_validate(
        {
            "job_id": job.id,
            "label": job.name or job.id,
            "project_id": job.project_id,
            "submitter_id": job.submitter_id,
            "status": job.status,
            "result": result,
            "reason": _STARTED if result == "started" else None,
        }
    )


def _dry_run(rt: ActionRuntime, rec: ActionRecord, user_id: str, now: dt.datetime) -> Outcome:
    """What the action would cancel now; nothing is cancelled and the proposal stays open."""
    p = rec.proposal
    try:
        listing = list_group(rt.clients, p)
    except ActionFailed as exc:
        return said(rec, "failed", failed_text(p, str(exc), ()))
    jobs = tuple(
        _job_outcome(job, "would_cancel" if job.status in CANCELLABLE else "started")
        for job, _ in listing.jobs.values()
    )
    message = dry_run_text(p, jobs)
    records.audit(rt.store, p, [Audit("dry_run", user_id, detail=message)], now)
    return Outcome(
        proposal_id=p.id, state="dry_run", first=True, proposal=p, jobs=jobs, message=message
    )


# -- outcomes -----------------------------------------------------------------------------------
