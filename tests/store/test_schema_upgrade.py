"""Schema version 2: outbox rows say which destination they are for. A version-1 database
(written by the budgetbot before) upgrades in place and keeps its rows."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from budgetbot.store import Store
from budgetbot.store.db import DEFAULT_DESTINATION, SCHEMA_VERSION, _driver_url

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
NOTICE = '{"type": "notice", "text": "x"}'


def create_version_1(url: str) -> None:
    """The outbox and meta tables exactly as schema version 1 created them, with rows."""
    old = sa.MetaData()
    meta = sa.Table(
        "budgetbot_meta",
        old,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    outbox = sa.Table(
        "notifications",
        old,
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
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    )
    engine = sa.create_engine(_driver_url(url))
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(meta.insert().values(key="schema_version", value="1"))
        conn.execute(
            outbox.insert(),
            [
                {
                    "dedup_key": "sent",
                    "thread_key": "t",
                    "channel": "#c",
                    "payload": NOTICE,
                    "created_at": NOW,
                    "sent_at": NOW,
                    "sent_channel": "C1",
                    "ts": "1.0",
                    "attempts": 1,
                },
                {
                    "dedup_key": "pending",
                    "thread_key": "t",
                    "channel": "#c",
                    "payload": NOTICE,
                    "created_at": NOW,
                    "sent_at": None,
                    "sent_channel": None,
                    "ts": None,
                    "attempts": 0,
                },
            ],
        )
    engine.dispose()


def test_a_version_1_database_upgrades_and_keeps_its_outbox(db_url: str) -> None:
    create_version_1(db_url)
    store = Store(db_url)
    assert SCHEMA_VERSION >= 2
    assert store.schema_version() == SCHEMA_VERSION
    rows = {r.dedup_key: r for r in store.notifications()}
    assert set(rows) == {"sent", "pending"}
    assert {r.destination for r in rows.values()} == {DEFAULT_DESTINATION}
    assert rows["sent"].ts == "1.0" and rows["sent"].sent_at is not None
    assert [r.dedup_key for r in store.pending()] == ["pending"]
    assert store.thread_root("t") == ("C1", "1.0")
    # The same key for another destination is a row of its own; for the same one, not again.
    assert len(store.record([], [("sent", "t", "#c", NOTICE)], NOW, destinations=["mail"])) == 1
    assert store.record([], [("sent", "t", "#c", NOTICE)], NOW) == []
    assert [r.dedup_key for r in store.pending(destinations=["mail"])] == ["sent"]
    assert store.upgrade() == SCHEMA_VERSION  # and again: nothing to do
    store.close()


def test_new_rows_ids_continue_after_the_upgrade(db_url: str) -> None:
    create_version_1(db_url)
    store = Store(db_url)
    [new] = store.record([], [("later", "t2", "#c", NOTICE)], NOW)
    assert new > max(r.id for r in store.notifications() if r.dedup_key != "later")
    store.close()
