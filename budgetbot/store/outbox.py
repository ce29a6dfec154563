"""The outbox and the fired levels: recorded together, delivered under leases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .dialect import _insert_ignoring_duplicates, _utc
from .tables import DEFAULT_DESTINATION, fired, outbox

__all__ = ["FiredLevel", "OutboxQueries", "StoredNotification"]


@dataclass(frozen=True)
class FiredLevel:
    rule: str
    group_key: str
    period: str
    kind: str
    level: str


@dataclass(frozen=True)
class StoredNotification:
    id: int
    dedup_key: str
    thread_key: str
    channel: str | None
    payload: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    ts: str | None
    attempts: int
    last_error: str | None
    #: The delivery lease: who holds it (``budgetbot.store.lease``) and until when.
    claimed_by: str | None = None
    claimed_until: dt.datetime | None = None
    #: Who it is for (``chat``: Slack or the terminal; later e-mail, metrics…).
    destination: str = DEFAULT_DESTINATION


class OutboxQueries:
    """The outbox's queries (a part of :class:`~budgetbot.store.db.Store`)."""

    engine: Engine

    # -- fired levels -------------------------------------------------------------------------

    def fired_levels(self, periods: Iterable[str]) -> set[FiredLevel]:
        """Every level recorded as fired in the given periods."""
        wanted = sorted(set(periods))
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fired).where(fired.c.period.in_(wanted))).all()
        return {FiredLevel(r.rule, r.group_key, r.period, r.kind, r.level) for r in rows}

    def threads_started(self, thread_keys: Iterable[str]) -> set[str]:
        """The thread keys that already have a notification."""
        wanted = sorted(set(thread_keys))
        if not wanted:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox.c.thread_key).where(outbox.c.thread_key.in_(wanted)).distinct()
            ).all()
        return {r.thread_key for r in rows}

    def record(
        self,
        levels: Sequence[FiredLevel],
        notifications: Sequence[tuple[str, str, str | None, str]],
        now: dt.datetime,
        *,
        destinations: Sequence[str] = (DEFAULT_DESTINATION,),
    ) -> list[int]:
        """In one transaction: mark levels fired and put notifications in the outbox.

        ``notifications`` are ``(dedup_key, thread_key, channel, payload)``, each recorded once
        per destination. Returns the ids of the rows this call added (one another process added
        first is skipped).
        """
        with self.engine.begin() as conn:
            _insert_ignoring_duplicates(
                conn,
                fired,
                [
                    {
                        "rule": f.rule,
                        "group_key": f.group_key,
                        "period": f.period,
                        "kind": f.kind,
                        "level": f.level,
                        "fired_at": now,
                    }
                    for f in levels
                ],
            )
            ids = []
            for dedup_key, thread_key, channel, payload in notifications:
                for destination in destinations:
                    added = _insert_ignoring_duplicates(
                        conn,
                        outbox,
                        [
                            {
                                "dedup_key": dedup_key,
                                "destination": destination,
                                "thread_key": thread_key,
                                "channel": channel,
                                "payload": payload,
                                "created_at": now,
                                "attempts": 0,
                            }
                        ],
                    )
                    if added:
                        ids.append(
                            conn.execute(
                                sa.select(outbox.c.id).where(
                                    outbox.c.dedup_key == dedup_key,
                                    outbox.c.destination == destination,
                                )
                            ).scalar_one()
                        )
        return ids

    # -- outbox -------------------------------------------------------------------------------

    def _row(self, r: sa.Row[tuple[object, ...]]) -> StoredNotification:
        m = r._mapping
        return StoredNotification(
            id=m["id"],
            dedup_key=m["dedup_key"],
            thread_key=m["thread_key"],
            channel=m["channel"],
            payload=m["payload"],
            created_at=_utc(m["created_at"]),  # type: ignore[arg-type]
            sent_at=_utc(m["sent_at"]),
            ts=m["ts"],
            attempts=m["attempts"],
            last_error=m["last_error"],
            claimed_by=m["claimed_by"],
            claimed_until=_utc(m["claimed_until"]),
            destination=m["destination"],
        )

    def pending(
        self, now: dt.datetime | None = None, *, destinations: Iterable[str] | None = None
    ) -> list[StoredNotification]:
        """Notifications recorded but not yet delivered, oldest first.

        With ``now``, only those no other process holds a delivery lease on; with
        ``destinations``, only those for one of them.
        """
        query = sa.select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id)
        if destinations is not None:
            query = query.where(outbox.c.destination.in_(sorted(set(destinations))))
        if now is not None:
            query = query.where(
                sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now)
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [self._row(r) for r in rows]

    def claim(
        self,
        id_: int,
        owner: str,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        dead_owner: str | None = None,
    ) -> int | None:
        """Take the delivery lease on an unsent row.

        Returns how many attempts were started on the row *before* this one (an attempt that
        may have posted it), or None when another process holds the lease or it was sent.
        With ``dead_owner`` (a holder known dead), that holder's lease is taken over before it
        ends, unless someone else took it first.
        """
        free = [outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now]
        if dead_owner is not None:
            free.append(outbox.c.claimed_by == dead_owner)
        with self.engine.begin() as conn:
            found = conn.execute(
                outbox.update()
                .where(outbox.c.id == id_, outbox.c.sent_at.is_(None), sa.or_(*free))
                .values(claimed_by=owner, claimed_until=now + lease, attempts=outbox.c.attempts + 1)
                .returning(outbox.c.attempts)
            ).first()
        return None if found is None else int(found.attempts) - 1

    def oldest_pending(self) -> dt.datetime | None:
        """When the oldest undelivered notification was recorded (health checks)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
            ).scalar_one_or_none()
        return _utc(value)

    def notifications(self) -> list[StoredNotification]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
        return [self._row(r) for r in rows]

    def thread_root(
        self, thread_key: str, destination: str = DEFAULT_DESTINATION
    ) -> tuple[str, str] | None:
        """(channel, ts) of the first notification of a thread delivered to ``destination``."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(outbox.c.sent_channel, outbox.c.ts)
                .where(
                    outbox.c.thread_key == thread_key,
                    outbox.c.destination == destination,
                    outbox.c.ts.is_not(None),
                )
                .order_by(outbox.c.id)
                .limit(1)
            ).first()
        return None if row is None else (row.sent_channel, row.ts)

    def mark_sent(
        self, id_: int, channel: str, ts: str, now: dt.datetime, *, owner: str | None = None
    ) -> None:
        """Record a delivery; with ``owner``, only while that process still holds the lease."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == id_, *_owned(owner))
                .values(
                    claimed_until=None,
                    sent_at=now,
                    sent_channel=channel,
                    ts=ts,
                    last_error=None,
                )
            )

    def mark_failed(
        self, id_: int, error: str, now: dt.datetime, *, owner: str | None = None
    ) -> None:
        """Record a failed attempt and release the lease (only its holder's, with ``owner``)."""
        with self.engine.begin() as conn:
            conn.execute(
                outbox.update()
                .where(outbox.c.id == id_, *_owned(owner))
                .values(claimed_until=None, last_error=error[:2000])
            )

    def notification(
        self, dedup_key: str, destination: str = DEFAULT_DESTINATION
    ) -> StoredNotification | None:
        """The outbox row of ``dedup_key`` for ``destination``, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(outbox).where(
                    outbox.c.dedup_key == dedup_key, outbox.c.destination == destination
                )
            ).first()
        return None if row is None else self._row(row)

    def recent_notifications(
        self, limit: int, destination: str = DEFAULT_DESTINATION
    ) -> list[StoredNotification]:
        """The ``limit`` most recently recorded notifications for ``destination``, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outbox)
                .where(outbox.c.destination == destination)
                .order_by(outbox.c.id.desc())
                .limit(limit)
            ).all()
        return [self._row(r) for r in rows]


def _owned(owner: str | None) -> list[sa.ColumnElement[bool]]:
    return [] if owner is None else [outbox.c.claimed_by == owner]
