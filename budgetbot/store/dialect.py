"""What differs between SQLite and PostgreSQL: inserts that skip duplicates, naive datetimes,
the driver in a URL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

__all__: list[str] = []


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


def _driver_url(url: str) -> str:
    # Users write postgresql://; psycopg 3 is the driver we ship.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
