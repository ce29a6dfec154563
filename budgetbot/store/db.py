"""Tables and queries of the state store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

__all__ = [
    "SCHEMA_VERSION",
    "Ack",
    "FiredLevel",
    "SchemaTooNew",
    "Snooze",
    "Store",
    "StoredNotification",
    "metadata",
]

SCHEMA_VERSION = 1
#: Tries of a schema upgrade that lost a race to another process (SQLite).
_UPGRADE_ATTEMPTS = 5
#: Upgrades from version N-1 to N, applied in order by ``Store.upgrade``. Version 1 is the
#: initial schema, created whole; later versions add their ALTERs here.
MIGRATIONS: dict[int, list[str]] = {}


class SchemaTooNew(Exception):
    """The database was upgraded by a newer budgetbot than this one."""


metadata = sa.MetaData()

meta = sa.Table(
    "budgetbot_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

fired = sa.Table(
    "fired_levels",
    metadata,
    sa.Column("rule", sa.String(64), primary_key=True),
    sa.Column("group_key", sa.String(256), primary_key=True),
    sa.Column("period", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("level", sa.String(32), primary_key=True),
    sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.String(512), nullable=False, unique=True),
    sa.Column("thread_key", sa.String(512), nullable=False, index=True),
    sa.Column("channel", sa.String(128), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sent_channel", sa.String(128), nullable=True),
    sa.Column("ts", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    # A delivery lease: one process at a time may try to send a row; a crashed one's lease ends.
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
)

usage_buckets = sa.Table(
    "usage_buckets",
    metadata,
    # Which organization (and API) the figures are of: one database may outlive an IONQ_ORG_ID.
    sa.Column("source", sa.String(512), primary_key=True),
    sa.Column("group_by", sa.String(16), primary_key=True),
    sa.Column("modality", sa.String(16), primary_key=True),
    sa.Column("start", sa.Date, primary_key=True),
    sa.Column("end", sa.Date, primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
)

status = sa.Table(
    "budgetbot_status",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

#: Snoozes from the alert buttons: a (rule, group) stays quiet until ``until``. Rows are kept
#: (history); the latest-ending one of a (rule, group) is what counts.
snoozes = sa.Table(
    "snoozes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(64), nullable=False),
    sa.Column("group_key", sa.String(256), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by_user", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    #: The period and alert the button was on (for the record).
    sa.Column("period", sa.String(32), nullable=True),
    sa.Column("dedup_key", sa.String(512), nullable=True),
    sa.Index("ix_snoozes_rule_group", "rule", "group_key"),
)

#: Acknowledgements of an alert (by its dedup key): who, when; once per person and alert.
acks = sa.Table(
    "acks",
    metadata,
    sa.Column("dedup_key", sa.String(512), primary_key=True),
    sa.Column("by_user", sa.String(64), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

#: Slack users who opened the App Home: their Home view is refreshed after each cycle.
home_viewers = sa.Table(
    "home_viewers",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
)


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


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _insert_ignoring_duplicates(
    conn: Connection, table: sa.Table, rows: list[dict[str, object]]
) -> int:
    """Insert rows, skipping those whose unique key exists; returns how many were inserted."""
    if not rows:
        return 0
    dialect = conn.dialect.name
    stmt: sa.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - other databases: row by row
        inserted = 0
        for row in rows:
            try:
                with conn.begin_nested():
                    conn.execute(table.insert().values(**row))
                inserted += 1
            except sa.exc.IntegrityError:
                pass
        return inserted
    inserted = 0
    # RETURNING counts what was really inserted; rowcount is unreliable with ON CONFLICT on
    # some drivers (psycopg reports -1 when the implicit RETURNING of a key is in play).
    key = next(iter(table.primary_key.columns))
    for row in rows:
        inserted += len(conn.execute(stmt.values(**row).returning(key)).all())
    return inserted


class Store:
    """The state store behind ``DATABASE_URL``."""

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
        """Create or upgrade the schema to ``SCHEMA_VERSION``; returns the version reached.

        Safe to run from several processes at once: on PostgreSQL an advisory lock serializes
        upgrades; on SQLite the whole upgrade is one ``BEGIN IMMEDIATE`` transaction (the file's
        write lock, taken before looking at what exists), and a lost race is tried again.
        """
        for attempt in range(1, _UPGRADE_ATTEMPTS + 1):
            try:
                return self._upgrade()
            except sa.exc.OperationalError as exc:
                # Only SQLite gets here by racing: another process created a table between our
                # look and our CREATE, or held the write lock past the busy timeout.
                if attempt == _UPGRADE_ATTEMPTS or not _lost_schema_race(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _upgrade(self) -> int:
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite begins transactions lazily (and never for DDL): without an explicit
                # BEGIN IMMEDIATE, create_all's "does it exist?" and its CREATE race.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7262001)"))
            version = self._upgrade_in(conn)
            conn.commit()
        return version

    def _upgrade_in(self, conn: Connection) -> int:
        metadata.create_all(conn)
        found = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar_one_or_none()
        current = SCHEMA_VERSION if found is None else int(found)
        if current > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the database's schema version {current} is newer than this budgetbot's"
                f" ({SCHEMA_VERSION}): upgrade budgetbot"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS.get(version, []):
                conn.execute(sa.text(statement))
        if found is None:
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif current != SCHEMA_VERSION:
            conn.execute(
                meta.update()
                .where(meta.c.key == "schema_version")
                .values(value=str(SCHEMA_VERSION))
            )
        return SCHEMA_VERSION

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    def close(self) -> None:
        self.engine.dispose()

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
    ) -> list[int]:
        """In one transaction: mark levels fired and put notifications in the outbox.

        ``notifications`` are ``(dedup_key, thread_key, channel, payload)``. Returns the ids of
        the notifications this call added (one another process added first is skipped).
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
                added = _insert_ignoring_duplicates(
                    conn,
                    outbox,
                    [
                        {
                            "dedup_key": dedup_key,
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
                            sa.select(outbox.c.id).where(outbox.c.dedup_key == dedup_key)
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
        )

    def pending(self, now: dt.datetime | None = None) -> list[StoredNotification]:
        """Notifications recorded but not yet delivered, oldest first.

        With ``now``, only those no other process holds a delivery lease on.
        """
        query = sa.select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id)
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

    def notifications(self) -> list[StoredNotification]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(outbox).order_by(outbox.c.id)).all()
        return [self._row(r) for r in rows]

    def thread_root(self, thread_key: str) -> tuple[str, str] | None:
        """(channel, ts) of the first delivered notification of a thread."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(outbox.c.sent_channel, outbox.c.ts)
                .where(outbox.c.thread_key == thread_key, outbox.c.ts.is_not(None))
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

    def notification(self, dedup_key: str) -> StoredNotification | None:
        """The outbox row of ``dedup_key``, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(outbox).where(outbox.c.dedup_key == dedup_key)).first()
        return None if row is None else self._row(row)

    def recent_notifications(self, limit: int) -> list[StoredNotification]:
        """The ``limit`` most recently recorded notifications, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(outbox).order_by(outbox.c.id.desc()).limit(limit)).all()
        return [self._row(r) for r in rows]

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


def _lost_schema_race(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "already exists" in text or "database is locked" in text


def _owned(owner: str | None) -> list[sa.ColumnElement[bool]]:
    return [] if owner is None else [outbox.c.claimed_by == owner]


def _driver_url(url: str) -> str:
    # Users write postgresql://; psycopg 3 is the driver we ship.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
