"""What the ledger walk keeps between cycles (a part of the store): every completed job seen, with
its billed cost once IonQ gives it, and how far each key's completed listing was walked."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dialect import _insert_ignoring_duplicates, _utc
from .queue import _chunks, _decimal
from .tables import job_ledger, ledger_marks

__all__ = ["LedgerEntry", "LedgerMark", "LedgerQueries"]


@dataclass(frozen=True)
class LedgerEntry:
    """One completed job. ``unit``/``value``/``usd`` are its billed cost (all None while IonQ
    does not give it; ``usd`` None too where the unit is not USD); ``billed_us`` its billed QPU
    time where IonQ gives it; ``asked_at`` when its cost was last asked (None: not yet)."""

    job_id: str
    project_id: str | None
    submitter_id: str
    completed_at: dt.datetime
    day: dt.date
    unit: str | None = None
    value: Decimal | None = None
    usd: Decimal | None = None
    billed_us: Decimal | None = None
    asked_at: dt.datetime | None = None

    @property
    def billed(self) -> bool:
        """Whether IonQ gave its billed cost."""
        return self.value is not None


@dataclass(frozen=True)
class LedgerMark:
    """How far one key's completed listing was walked: every job it lists that was submitted
    from ``since`` on was seen by the walk that started at ``walked_at``."""

    since: dt.datetime
    walked_at: dt.datetime


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _row(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "job_id": entry.job_id,
        "project_id": entry.project_id,
        "submitter_id": entry.submitter_id,
        "completed_at": entry.completed_at,
        "day": entry.day,
        "unit": entry.unit,
        "value": _text(entry.value),
        "usd": _text(entry.usd),
        "billed_us": _text(entry.billed_us),
        "asked_at": entry.asked_at,
    }


def _entry(r: Any) -> LedgerEntry | None:
    try:
        value, usd, billed_us = _decimal(r.value), _decimal(r.usd), _decimal(r.billed_us)
    except decimal.InvalidOperation:
        return None  # an unreadable row counts as a job not billed
    return LedgerEntry(
        job_id=r.job_id,
        project_id=r.project_id,
        submitter_id=r.submitter_id,
        completed_at=_utc(r.completed_at) or r.completed_at,
        day=r.day,
        unit=r.unit,
        value=value,
        usd=usd,
        billed_us=billed_us,
        asked_at=_utc(r.asked_at),
    )


class LedgerQueries:
    """The job ledger and its walk marks (a part of :class:`~budgetbot.store.db.Store`)."""

    engine: Engine

    def ledger_entries(self, job_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """The stored entries of those of ``job_ids`` the ledger holds."""
        ids = sorted(set(job_ids))
        t = job_ledger
        found: dict[str, LedgerEntry] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                for r in conn.execute(sa.select(t).where(t.c.job_id.in_(chunk))).all():
                    entry = _entry(r)
                    if entry is not None:
                        found[r.job_id] = entry
        return found

    def ledger_days(self, start: dt.date, end: dt.date) -> list[LedgerEntry]:
        """Every entry billed on a UTC day of ``[start, end)``."""
        t = job_ledger
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.day >= start, t.c.day < end)).all()
        entries = [_entry(r) for r in rows]
        return [e for e in entries if e is not None]

    def unbilled_since(self, since: dt.datetime) -> list[LedgerEntry]:
        """The entries without a billed cost that completed at or after ``since``."""
        t = job_ledger
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.value.is_(None), t.c.completed_at >= since)
            ).all()
        entries = [_entry(r) for r in rows]
        return [e for e in entries if e is not None]

    def put_ledger_entries(self, entries: Sequence[LedgerEntry]) -> int:
        """Keep these new entries; a job already stored (by another process) keeps its row.
        Returns how many were new."""
        rows = [_row(e) for e in entries]
        if not rows:
            return 0
        try:
            with self.engine.begin() as conn:
                conn.execute(job_ledger.insert(), rows)
            return len(rows)
        except sa.exc.IntegrityError:
            with self.engine.begin() as conn:
                return _insert_ignoring_duplicates(conn, job_ledger, rows)

    def update_ledger_costs(self, entries: Sequence[LedgerEntry]) -> None:
        """Record what the cost of these stored, unbilled entries was asked and answered: the
        billed cost (once given, never changed again) and when it was asked."""
        t = job_ledger
        with self.engine.begin() as conn:
            for e in entries:
                conn.execute(
                    t.update()
                    .where(t.c.job_id == e.job_id, t.c.value.is_(None))
                    .values(
                        unit=e.unit,
                        value=_text(e.value),
                        usd=_text(e.usd),
                        asked_at=e.asked_at,
                    )
                )

    def ledger_mark(self, key_id: str) -> LedgerMark | None:
        """How far the key with this id (``/whoami``'s ``key_id``) was walked."""
        t = ledger_marks
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(t).where(t.c.key_id == key_id)).one_or_none()
        if r is None:
            return None
        return LedgerMark(_utc(r.since) or r.since, _utc(r.walked_at) or r.walked_at)

    def set_ledger_mark(self, key_id: str, mark: LedgerMark) -> None:
        """Record how far the key was walked (replacing what was recorded)."""
        t = ledger_marks
        values = {"since": mark.since, "walked_at": mark.walked_at}
        with self.engine.begin() as conn:
            done = conn.execute(t.update().where(t.c.key_id == key_id).values(**values))
            if not done.rowcount:
                _insert_ignoring_duplicates(conn, t, [{"key_id": key_id, **values}])
