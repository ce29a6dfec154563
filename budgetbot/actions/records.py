"""The store's side of budget actions: proposals, their jobs and the audit trail (schema 4).

Every change of an action's state is one conditional ``UPDATE`` (a compare-and-set), made in the
same transaction as its audit entry: two processes racing on a proposal find out which won from
the rows they changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from budgetbot.store import Store
from budgetbot.store.dialect import _insert_ignoring_duplicates, _utc
from budgetbot.store.tables import action_audit, action_jobs, action_proposals

from .model import ActionState, AuditEntry, AuditEvent, JobOutcome, Proposal, ResubmitState

__all__ = [
    "ActionRecord",
    "Audit",
    "add_proposal",
    "audit",
    "audit_rows",
    "claim",
    "finish",
    "finish_clone",
    "load",
    "mark_clone_started",
    "put_jobs",
    "unfinished",
]

P = action_proposals
J = action_jobs


@dataclass(frozen=True)
class Audit:
    """An audit entry to write: the event, who, which job, and what it says."""

    event: AuditEvent
    by_user: str | None = None
    job_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ActionRecord:
    """A proposal and where its action stands."""

    proposal: Proposal
    state: ActionState
    approved_by: str | None
    approved_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str | None
    claimed_by: str | None
    claimed_until: dt.datetime | None
    resubmit: ResubmitState
    resubmitted_by: str | None
    resubmitted_at: dt.datetime | None
    jobs: tuple[JobOutcome, ...]


def _audit_rows(proposal: Proposal, entries: Sequence[Audit], now: dt.datetime) -> list[Any]:
    return [
        {
            "at": now,
            "event": e.event,
            "proposal_id": proposal.id,
            "rule": proposal.rule,
            "group_name": proposal.group_name[:512],
            "by_user": None if e.by_user is None else e.by_user[:64],
            "job_id": e.job_id,
            "detail": e.detail,
        }
        for e in entries
    ]


def _write_audit(
    conn: Connection, proposal: Proposal, entries: Sequence[Audit], now: dt.datetime
) -> None:
    if entries:
        conn.execute(action_audit.insert(), _audit_rows(proposal, entries, now))


def add_proposal(store: Store, proposal: Proposal, now: dt.datetime) -> bool:
    """Store ``proposal`` (and its ``proposed`` audit entry) unless it exists; True if added."""
    with store.engine.begin() as conn:
        added = _insert_ignoring_duplicates(
            conn,
            P,
            [
                {
                    "id": proposal.id,
                    "rule": proposal.rule,
                    "group_key": proposal.group_key,
                    "period": proposal.period,
                    "proposal": proposal.model_dump_json(),
                    "created_at": now,
                    "expires_at": proposal.expires_at,
                    "state": "proposed",
                    "attempts": 0,
                    "resubmit": "none",
                }
            ],
        )
        if added:
            detail = f"{proposal.summary}; {proposal.approval} approval; mode {proposal.mode}"
            _write_audit(conn, proposal, [Audit("proposed", detail=detail)], now)
    return bool(added)


def _job(row: Any) -> JobOutcome:
    return JobOutcome(
        job_id=row.job_id,
        label=row.label,
        project_id=row.project_id,
        submitter_id=row.submitter_id,
        status=row.status,
        result=row.result,
        reason=row.reason,
        estimate_usd=None if row.estimate_usd is None else Decimal(row.estimate_usd),
        clone_id=row.clone_id,
        clone_error=row.clone_error,
        clone_state=row.clone_state,
    )


def load(store: Store, proposal_id: str) -> ActionRecord | None:
    """The proposal ``proposal_id`` and where it stands; None if there is none."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(P).where(P.c.id == proposal_id)).first()
        if row is None:
            return None
        jobs = conn.execute(
            sa.select(J).where(J.c.proposal_id == proposal_id).order_by(J.c.label, J.c.job_id)
        ).all()
    return ActionRecord(
        proposal=Proposal.model_validate_json(row.proposal),
        state=row.state,
        approved_by=row.approved_by,
        approved_at=_utc(row.approved_at),
        finished_at=_utc(row.finished_at),
        message=row.message,
        claimed_by=row.claimed_by,
        claimed_until=_utc(row.claimed_until),
        resubmit=row.resubmit,
        resubmitted_by=row.resubmitted_by,
        resubmitted_at=_utc(row.resubmitted_at),
        jobs=tuple(_job(j) for j in jobs),
    )


def claim(
    store: Store,
    proposal: Proposal,
    owner: str,
    now: dt.datetime,
    lease: dt.timedelta,
    *,
    states: Sequence[str],
    values: dict[str, Any],
    entries: Sequence[Audit] = (),
    dead_owner: str | None = None,
    resubmit: Sequence[str] | None = None,
) -> bool:
    """Take the action's lease when it is in one of ``states`` (and, given ``resubmit``, its
    resubmit in one of those) and no live process holds it, setting ``values`` and writing
    ``entries`` in the same transaction; True if taken."""
    free = [P.c.claimed_until.is_(None), P.c.claimed_until < now]
    if dead_owner is not None:
        free.append(P.c.claimed_by == dead_owner)
    where = [P.c.id == proposal.id, P.c.state.in_(list(states)), sa.or_(*free)]
    if resubmit is not None:
        where.append(P.c.resubmit.in_(list(resubmit)))
    with store.engine.begin() as conn:
        taken = conn.execute(
            P.update()
            .where(*where)
            .values(
                claimed_by=owner,
                claimed_until=now + lease,
                attempts=P.c.attempts + 1,
                **values,
            )
        ).rowcount
        if taken:
            _write_audit(conn, proposal, entries, now)
    return bool(taken)


def put_jobs(
    store: Store,
    proposal: Proposal,
    jobs: Sequence[JobOutcome],
    now: dt.datetime,
    entries: Sequence[Audit] = (),
) -> None:
    """Record ``jobs`` of the action (new ones added, known ones updated to what they say),
    with the audit ``entries`` of what changed, in one transaction."""
    if not jobs:
        return
    with store.engine.begin() as conn:
        known = {
            r.job_id
            for r in conn.execute(sa.select(J.c.job_id).where(J.c.proposal_id == proposal.id)).all()
        }
        for job in jobs:
            values = {
                "label": job.label[:512],
                "project_id": job.project_id,
                "submitter_id": job.submitter_id,
                "status": job.status,
                "estimate_usd": None if job.estimate_usd is None else str(job.estimate_usd),
                "result": job.result,
                "reason": job.reason,
                "clone_id": job.clone_id,
                "clone_error": job.clone_error,
                "clone_state": job.clone_state,
            }
            if job.job_id in known:
                conn.execute(
                    J.update()
                    .where(J.c.proposal_id == proposal.id, J.c.job_id == job.job_id)
                    .values(**values)
                )
            else:
                conn.execute(
                    J.insert().values(proposal_id=proposal.id, job_id=job.job_id, **values)
                )
        _write_audit(conn, proposal, entries, now)


def mark_clone_started(store: Store, proposal: Proposal, job_id: str) -> bool:
    """Mark a job's clone as started before ``POST /jobs/{id}/clone`` is sent; False when it was
    started before (a clone is never asked for twice)."""
    with store.engine.begin() as conn:
        return bool(
            conn.execute(
                J.update()
                .where(
                    J.c.proposal_id == proposal.id,
                    J.c.job_id == job_id,
                    sa.or_(J.c.clone_state.is_(None), J.c.clone_state == "failed"),
                )
                .values(clone_state="started")
            ).rowcount
        )


def finish_clone(
    store: Store,
    proposal: Proposal,
    job_id: str,
    clone_id: str | None,
    error: str | None,
    by_user: str,
    now: dt.datetime,
    *,
    retryable: bool = False,
) -> None:
    """Record a clone's result. ``retryable``: IonQ refused before cloning (asked again on the
    next click); otherwise a failed clone stays ``unknown`` (IonQ may have made it) and is
    never asked for again."""
    state = "done" if clone_id else ("failed" if retryable else "unknown")
    with store.engine.begin() as conn:
        conn.execute(
            J.update()
            .where(J.c.proposal_id == proposal.id, J.c.job_id == job_id)
            .values(clone_state=state, clone_id=clone_id, clone_error=error)
        )
        entry = (
            Audit("cloned", by_user, job_id, f"clone {clone_id}")
            if clone_id
            else Audit("not_cloned", by_user, job_id, error or "")
        )
        _write_audit(conn, proposal, [entry], now)


def finish(
    store: Store,
    proposal: Proposal,
    owner: str,
    now: dt.datetime,
    values: dict[str, Any],
    entries: Sequence[Audit] = (),
) -> bool:
    """Release the lease ``owner`` holds, setting ``values`` and writing ``entries``; False when
    the lease was lost (another process took it over: it writes the outcome instead)."""
    with store.engine.begin() as conn:
        done = conn.execute(
            P.update()
            .where(P.c.id == proposal.id, P.c.claimed_by == owner)
            .values(claimed_until=None, **values)
        ).rowcount
        if done:
            _write_audit(conn, proposal, entries, now)
    return bool(done)


def audit(store: Store, proposal: Proposal, entries: Sequence[Audit], now: dt.datetime) -> None:
    """Write audit entries about ``proposal``."""
    with store.engine.begin() as conn:
        _write_audit(conn, proposal, entries, now)


def unfinished(store: Store) -> list[str]:
    """Ids of actions recorded and not finished: ``approved`` (under way, or interrupted) or
    ``failed`` (IonQ refused; retried by a click, or by the cycle when automatic)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(P.c.id).where(P.c.state.in_(["approved", "failed"])).order_by(P.c.created_at)
        ).all()
    return [r.id for r in rows]


def audit_rows(store: Store, limit: int) -> list[AuditEntry]:
    """The ``limit`` newest audit entries, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(action_audit).order_by(action_audit.c.id.desc()).limit(max(limit, 0))
        ).all()
    return [
        AuditEntry(
            id=r.id,
            at=_utc(r.at) or r.at,
            event=r.event,
            proposal_id=r.proposal_id,
            rule=r.rule,
            group_name=r.group_name,
            by_user=r.by_user,
            job_id=r.job_id,
            detail=r.detail,
        )
        for r in rows
    ]
