"""Tables and queries of the state store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dialect import _driver_url, _insert_ignoring_duplicates, _utc
from .ledger import LedgerEntry, LedgerMark, LedgerQueries
from .marks import UsageMark, UsageMarkQueries
from .outbox import FiredLevel, OutboxQueries, StoredNotification
from .queue import GroupScope, JobEstimate, QueueQueries
from .schema import SchemaTooNew, schema_version, upgrade
from .tables import (
    DEFAULT_DESTINATION,
    SCHEMA_VERSION,
    acks,
    home_viewers,
    metadata,
    snoozes,
    status,
    usage_buckets,
)

__all__ = [
    "DEFAULT_DESTINATION",
    "SCHEMA_VERSION",
    "Ack",
    "FiredLevel",
    "GroupScope",
    "JobEstimate",
    "LedgerEntry",
    "LedgerMark",
    "SchemaTooNew",
    "Snooze",
    "Store",
    "StoredNotification",
    "UsageMark",
    "metadata",
]


@dataclass(frozen=True)
class Snooze:
    rule: str
    group_key: str
    until: dt.datetime
    by_user: str
    at: dt.datetime


@dataclass(frozen=True)
class Ack:
    dedup_key: str
    by_user: str
    at: dt.datetime


class Store(OutboxQueries, UsageMarkQueries, QueueQueries, LedgerQueries):
    """The state store behind ``DATABASE_URL``: the outbox and fired levels
    (:class:`~budgetbot.store.outbox.OutboxQueries`), usage buckets and their marks
    (:class:`~budgetbot.store.marks.UsageMarkQueries`), job estimates and group names
    (:class:`~budgetbot.store.queue.QueueQueries`), the job ledger and its walk marks
    (:class:`~budgetbot.store.ledger.LedgerQueries`), status, snoozes, acks and App Home
    viewers."""

    def __init__(
        self, url: str | Engine, *, delivery_lease: dt.timedelta = dt.timedelta(seconds=600)
    ) -> None:
        self.engine = url if isinstance(url, Engine) else sa.create_engine(_driver_url(url))
        #: How long one process may hold a notification while delivering it (wall clock).
        self.delivery_lease = delivery_lease
        self.upgrade()

    @classmethod
    def memory(cls) -> Store:
        """A throwaway store (backtests, dry runs)."""
        return cls(sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool))

    def upgrade(self) -> int:
        """Create or upgrade the schema to ``SCHEMA_VERSION``; returns the version reached
        (:func:`budgetbot.store.schema.upgrade`: safe from several processes at once)."""
        return upgrade(self.engine)

    def schema_version(self) -> int:
        return schema_version(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- settled usage buckets -----------------------------------------------------------------

    def buckets(
        self,
        source: str,
        group_by: str,
        modality: str,
        spans: Sequence[tuple[dt.date, dt.date]],
    ) -> dict[tuple[dt.date, dt.date], str]:
        """Stored bucket payloads for the spans that have one."""
        if not spans:
            return {}
        t = usage_buckets
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.start, t.c.end, t.c.payload).where(
                    t.c.source == source,
                    t.c.group_by == group_by,
                    t.c.modality == modality,
                    t.c.start >= spans[0][0],
                    t.c.end <= spans[-1][1],
                )
            ).all()
        return {(r.start, r.end): r.payload for r in rows}

    def put_buckets(
        self,
        source: str,
        group_by: str,
        modality: str,
        payloads: dict[tuple[dt.date, dt.date], str],
    ) -> None:
        with self.engine.begin() as conn:
            _insert_ignoring_duplicates(
                conn,
                usage_buckets,
                [
                    {
                        "source": source,
                        "group_by": group_by,
                        "modality": modality,
                        "start": start,
                        "end": end,
                        "payload": payload,
                    }
                    for (start, end), payload in payloads.items()
                ],
            )

    # -- status -------------------------------------------------------------------------------

    def get_status(self, key: str) -> tuple[str | None, dt.datetime] | None:
        """``(value, updated_at)`` of a status key, or None if never set."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(status).where(status.c.key == key)).first()
        return None if row is None else (row.value, _utc(row.updated_at) or row.updated_at)

    def set_status(self, key: str, value: str | None, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            updated = conn.execute(
                status.update().where(status.c.key == key).values(value=value, updated_at=now)
            ).rowcount
            if not updated:
                _insert_ignoring_duplicates(
                    conn, status, [{"key": key, "value": value, "updated_at": now}]
                )

    def clear_status(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(status.delete().where(status.c.key == key))

    # -- snoozes and acknowledgements ---------------------------------------------------------

    def add_snooze(
        self,
        rule: str,
        group_key: str,
        until: dt.datetime,
        by_user: str,
        now: dt.datetime,
        *,
        period: str | None = None,
        dedup_key: str | None = None,
    ) -> None:
        """Keep (rule, group) quiet until ``until`` (a later snooze replaces an earlier one)."""
        with self.engine.begin() as conn:
            conn.execute(
                snoozes.insert().values(
                    rule=rule,
                    group_key=group_key,
                    until=until,
                    by_user=by_user[:64],
                    at=now,
                    period=period,
                    dedup_key=dedup_key,
                )
            )

    def active_snoozes(self, now: dt.datetime) -> dict[tuple[str, str], Snooze]:
        """The snooze in force at ``now`` of every (rule, group) that has one.

        The most recent click wins, so "snooze 24 h" after "snooze to end of period" shortens
        the snooze, as its button says.
        """
        # Only clicks from the earliest one still in force onwards can matter: anything older
        # has ended and was made before every snooze in force.
        first_active = (
            sa.select(sa.func.min(snoozes.c.at)).where(snoozes.c.until > now).scalar_subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(snoozes)
                .where(snoozes.c.at >= first_active)
                .order_by(snoozes.c.at, snoozes.c.id)
            ).all()
        latest: dict[tuple[str, str], Snooze] = {}
        for r in rows:
            latest[(r.rule, r.group_key)] = Snooze(
                r.rule, r.group_key, _utc(r.until) or r.until, r.by_user, _utc(r.at) or r.at
            )
        return {key: s for key, s in latest.items() if s.until > now}

    def add_ack(self, dedup_key: str, by_user: str, now: dt.datetime) -> bool:
        """Record that ``by_user`` acknowledged the alert; False if they had already."""
        with self.engine.begin() as conn:
            added = _insert_ignoring_duplicates(
                conn, acks, [{"dedup_key": dedup_key, "by_user": by_user[:64], "at": now}]
            )
        return bool(added)

    def acks(self, dedup_key: str) -> list[Ack]:
        """Who acknowledged the alert, first first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(acks).where(acks.c.dedup_key == dedup_key).order_by(acks.c.at)
            ).all()
        return [Ack(r.dedup_key, r.by_user, _utc(r.at) or r.at) for r in rows]

    # -- App Home -----------------------------------------------------------------------------

    def add_home_viewer(self, user_id: str, now: dt.datetime) -> None:
        """Remember that ``user_id`` opened the App Home (its view is refreshed after cycles)."""
        with self.engine.begin() as conn:
            updated = conn.execute(
                home_viewers.update().where(home_viewers.c.user_id == user_id).values(opened_at=now)
            ).rowcount
            if not updated:
                _insert_ignoring_duplicates(
                    conn, home_viewers, [{"user_id": user_id, "opened_at": now}]
                )

    def home_viewers(self, since: dt.datetime | None = None) -> list[str]:
        """Users who opened the App Home (since ``since``, when given), by id."""
        query = sa.select(home_viewers.c.user_id).order_by(home_viewers.c.user_id)
        if since is not None:
            query = query.where(home_viewers.c.opened_at >= since)
        with self.engine.connect() as conn:
            return [r.user_id for r in conn.execute(query).all()]
