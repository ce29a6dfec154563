"""What the queue reader keeps between cycles (a part of the store): each job's estimate, asked of
IonQ once, and the names of projects and users learned from usage answers."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dialect import _insert_ignoring_duplicates, _utc
from .tables import group_names, job_estimates

__all__ = ["GroupScope", "JobEstimate", "QueueQueries"]

#: Ids per ``IN (…)``: far below every database's limit on bound parameters.
_CHUNK: Final = 500

_ID_MAX: Final = 256
_NAME_MAX: Final = 512

GroupScope = Literal["project", "user"]


@dataclass(frozen=True)
class JobEstimate:
    """A job's estimated cost as IonQ gave it; ``usd`` None where the unit is not USD."""

    unit: str
    value: Decimal
    usd: Decimal | None
    fetched_at: dt.datetime


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


class QueueQueries:
    """Job estimates and group names (a part of :class:`~budgetbot.store.db.Store`)."""

    engine: Engine

    def job_estimates(self, job_ids: Iterable[str]) -> dict[str, JobEstimate]:
        """The stored estimates of those of ``job_ids`` that have one."""
        ids = sorted(set(job_ids))
        t = job_estimates
        found: dict[str, JobEstimate] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                rows = conn.execute(sa.select(t).where(t.c.job_id.in_(chunk))).all()
                for r in rows:
                    try:
                        value, usd = Decimal(r.value), _decimal(r.usd)
                    except decimal.InvalidOperation:
                        continue  # an unreadable row is asked of IonQ again
                    found[r.job_id] = JobEstimate(
                        r.unit, value, usd, _utc(r.fetched_at) or r.fetched_at
                    )
        return found

    def put_job_estimates(self, estimates: Mapping[str, JobEstimate]) -> int:
        """Keep these estimates; a job already stored (by another process) keeps its row.
        Returns how many were new."""
        rows: list[dict[str, object]] = [
            {
                "job_id": job_id,
                "unit": e.unit,
                "value": str(e.value),
                "usd": None if e.usd is None else str(e.usd),
                "fetched_at": e.fetched_at,
            }
            for job_id, e in estimates.items()
        ]
        if not rows:
            return 0
        try:
            # The reader stores only jobs it did not find: one bulk insert, as a rule.
            with self.engine.begin() as conn:
                conn.execute(job_estimates.insert(), rows)
            return len(rows)
        except sa.exc.IntegrityError:
            # Another process stored some of them meanwhile: theirs stand.
            with self.engine.begin() as conn:
                return _insert_ignoring_duplicates(conn, job_estimates, rows)

    def group_names(self, scope: GroupScope) -> dict[str, str]:
        """Every ``scope`` id with the name IonQ last gave it."""
        t = group_names
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.group_id, t.c.name).where(t.c.scope == scope)).all()
        return {r.group_id: r.name for r in rows}

    def remember_group_names(
        self, scope: GroupScope, names: Mapping[str, str], now: dt.datetime
    ) -> int:
        """Keep ``names`` (id → name) of ``scope``: new ids are added, a changed name replaces the
        stored one (``seen_at`` says when that name was first seen). Returns how many changed."""
        # Longer ids are not IonQ's (UUIDs); longer names are cut to the column.
        names = {i: n[:_NAME_MAX] for i, n in names.items() if 0 < len(i) <= _ID_MAX and n}
        if not names:
            return 0
        t = group_names
        ids = sorted(names)
        with self.engine.begin() as conn:
            stored: dict[str, str] = {}
            for chunk in _chunks(ids):
                rows = conn.execute(
                    sa.select(t.c.group_id, t.c.name).where(
                        t.c.scope == scope, t.c.group_id.in_(chunk)
                    )
                ).all()
                stored.update({r.group_id: r.name for r in rows})
            renamed = [i for i in ids if i in stored and stored[i] != names[i]]
            for group_id in renamed:
                conn.execute(
                    t.update()
                    .where(t.c.scope == scope, t.c.group_id == group_id)
                    .values(name=names[group_id], seen_at=now)
                )
            added = _insert_ignoring_duplicates(
                conn,
                t,
                [
                    {"scope": scope, "group_id": i, "name": names[i], "seen_at": now}
                    for i in ids
                    if i not in stored
                ],
            )
        return len(renamed) + added
