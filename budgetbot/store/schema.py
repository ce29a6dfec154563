"""Creating and upgrading the schema, safely from several processes at once.

Version 1 is the initial schema. Each later version has one upgrade step in :data:`MIGRATIONS`,
applied in order to a database that records an older ``schema_version``; a fresh database is
created whole at :data:`~budgetbot.store.tables.SCHEMA_VERSION`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .tables import (
    ACTION_TABLES,
    DEFAULT_DESTINATION,
    SCHEMA_VERSION,
    group_names,
    job_estimates,
    job_ledger,
    ledger_marks,
    meta,
    metadata,
    outbox,
)

__all__ = ["MIGRATIONS", "SchemaTooNew", "schema_version", "upgrade"]

#: Tries of a schema upgrade that lost a race to another process (SQLite).
_UPGRADE_ATTEMPTS = 5


class SchemaTooNew(Exception):
    """The database was upgraded by a newer budgetbot than this one."""


def _outbox_destinations(conn: Connection) -> None:
    """Version 2: outbox rows name their destination; unique per (destination, dedup_key).

    Existing rows were all for Slack (or the terminal standing in for it): ``chat``.
    """
    if conn.dialect.name == "sqlite":
        # SQLite cannot drop a column's UNIQUE: the table is rebuilt under the write lock.
        columns = ", ".join(c.name for c in outbox.columns if c.name != "destination")
        conn.execute(sa.text("DROP INDEX IF EXISTS ix_notifications_thread_key"))
        conn.execute(sa.text("ALTER TABLE notifications RENAME TO notifications_v1"))
        outbox.create(conn)
        conn.execute(
            sa.text(
                f"INSERT INTO notifications ({columns}, destination)"
                f" SELECT {columns}, :destination FROM notifications_v1"
            ),
            {"destination": DEFAULT_DESTINATION},
        )
        conn.execute(sa.text("DROP TABLE notifications_v1"))
        return
    conn.execute(
        sa.text(
            "ALTER TABLE notifications ADD COLUMN destination VARCHAR(32) NOT NULL"
            f" DEFAULT '{DEFAULT_DESTINATION}'"
        )
    )
    for unique in sa.inspect(conn).get_unique_constraints("notifications"):
        if unique["column_names"] == ["dedup_key"] and unique["name"]:
            conn.execute(sa.text(f'ALTER TABLE notifications DROP CONSTRAINT "{unique["name"]}"'))
    conn.execute(
        sa.text(
            "ALTER TABLE notifications ADD CONSTRAINT uq_notifications_destination_key"
            " UNIQUE (destination, dedup_key)"
        )
    )


def _queue_tables(conn: Connection) -> None:
    """Version 3: job estimates and group names (committed spend). Only new tables, which
    ``create_all`` has usually made already; made here too so the step stands on its own."""
    for table in (job_estimates, group_names):
        table.create(conn, checkfirst=True)


def _ledger_tables(conn: Connection) -> None:
    """Version 4: the job ledger and its walk marks (exact figures). Only new tables, made here
    too so the step stands on its own."""
    for table in (job_ledger, ledger_marks):
        table.create(conn, checkfirst=True)


def _action_tables(conn: Connection) -> None:
    """Version 5: budget actions (proposals, their jobs, the audit trail). Only new tables,
    made here too (``checkfirst``) so the step stands on its own."""
    for table in ACTION_TABLES:
        table.create(conn, checkfirst=True)


#: Upgrades from version N-1 to N, applied in order by :func:`upgrade`.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _outbox_destinations,
    3: _queue_tables,
    4: _ledger_tables,
    5: _action_tables,
}


def upgrade(engine: Engine) -> int:
    """Create or upgrade the schema to ``SCHEMA_VERSION``; returns the version reached.

    Safe to run from several processes at once: on PostgreSQL an advisory lock serializes
    upgrades; on SQLite the whole upgrade is one ``BEGIN IMMEDIATE`` transaction (the file's
    write lock, taken before looking at what exists), and a lost race is tried again.
    """
    for attempt in range(1, _UPGRADE_ATTEMPTS + 1):
        try:
            return _upgrade(engine)
        except sa.exc.OperationalError as exc:
            # Only SQLite gets here by racing: another process created a table between our
            # look and our CREATE, or held the write lock past the busy timeout.
            if attempt == _UPGRADE_ATTEMPTS or not _lost_schema_race(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _upgrade(engine: Engine) -> int:
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite begins transactions lazily (and never for DDL): without an explicit
            # BEGIN IMMEDIATE, create_all's "does it exist?" and its CREATE race.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7262001)"))
        version = _upgrade_in(conn)
        conn.commit()
    return version


def _upgrade_in(conn: Connection) -> int:
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
        MIGRATIONS[version](conn)
    if found is None:
        conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif current != SCHEMA_VERSION:
        conn.execute(
            meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
        )
    return SCHEMA_VERSION


def schema_version(engine: Engine) -> int:
    """The version the database records."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(meta.c.value).where(meta.c.key == "schema_version")
        ).scalar_one()
    return int(value)


def _lost_schema_race(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "already exists" in text or "database is locked" in text
