"""One store test suite, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from budgetbot.store import SchemaTooNew, Store
from budgetbot.store.db import SCHEMA_VERSION, FiredLevel

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)


def note(key: str, thread: str = "t") -> tuple[str, str, str | None, str]:
    return (key, thread, "#c", '{"type": "notice", "text": "x"}')


def test_upgrade_is_idempotent_and_records_the_version(db_url):
    store = Store(db_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.upgrade() == SCHEMA_VERSION
    Store(db_url).close()  # a second process opening the same database
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_a_newer_schema_is_refused_with_a_clear_error(db_url):
    store = Store(db_url)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE budgetbot_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION + 1)},
        )
    with pytest.raises(SchemaTooNew, match="upgrade budgetbot"):
        Store(db_url)
    store.close()


def test_recording_is_idempotent(db_url):
    store = Store(db_url)
    level = FiredLevel("p", "g", "2026-11", "spend", "80")
    first = store.record([level], [note("k1")], NOW)
    again = store.record([level], [note("k1")], NOW)
    assert len(first) == 1 and again == []
    assert store.fired_levels(["2026-11"]) == {level}
    assert store.fired_levels(["2026-10"]) == set()
    assert store.threads_started(["t", "other"]) == {"t"}
    store.close()


def test_outbox_claim_send_and_thread_root(db_url):
    store = Store(db_url)
    [a] = store.record([], [note("a", "thread")], NOW)
    [b] = store.record([], [note("b", "thread")], NOW)
    assert [r.id for r in store.pending(NOW)] == [a, b]
    assert store.claim(a, "one", NOW, LEASE) == 0  # no attempt before this one
    assert store.claim(a, "two", NOW, LEASE) is None  # leased
    assert [r.id for r in store.pending(NOW)] == [b]
    # Lease over (a crash): claimable again, and it says an attempt came before.
    assert store.claim(a, "two", NOW + LEASE * 2, LEASE) == 1
    store.mark_sent(a, "C9", "9.9", NOW, owner="one")  # "one" lost the lease: ignored
    assert store.thread_root("thread") is None
    store.mark_sent(a, "C1", "1.1", NOW, owner="two")
    assert store.thread_root("thread") == ("C1", "1.1")
    assert store.claim(a, "three", NOW + LEASE * 10, LEASE) is None  # sent rows stay sent
    assert store.claim(b, "one", NOW, LEASE) == 0
    store.mark_failed(b, "channel_not_found", NOW, owner="one")
    [row] = store.pending(NOW)
    assert row.id == b and row.attempts == 1 and row.last_error == "channel_not_found"
    assert store.oldest_pending() == NOW
    store.close()


def test_status_keys(db_url):
    store = Store(db_url)
    assert store.get_status("x") is None
    store.set_status("x", "1", NOW)
    store.set_status("x", "2", NOW + dt.timedelta(minutes=1))
    assert store.get_status("x") == ("2", NOW + dt.timedelta(minutes=1))
    store.clear_status("x")
    assert store.get_status("x") is None
    store.close()


def test_racing_writers_record_a_notification_once(db_url):
    stores = [Store(db_url) for _ in range(4)]
    results: list[list[int]] = []
    barrier = threading.Barrier(len(stores))

    def race(store: Store) -> None:
        barrier.wait()
        results.append(store.record([], [note("same-key")], NOW))

    threads = [threading.Thread(target=race, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    claims = []
    row_id = next(r for r in results if r)[0]

    def claim(store: Store) -> None:
        claims.append(store.claim(row_id, str(id(store)), NOW, LEASE) is not None)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims) == [False, False, False, True]
    for s in stores:
        s.close()


def _race_to_create(url: str, racers: int) -> list[BaseException]:
    """``racers`` stores, each with its own engine, opening one fresh database at once."""
    barrier = threading.Barrier(racers)
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            Store(url).close()
        except BaseException as exc:  # every failure counts, whatever its kind
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_first_start_by_many_at_once_never_fails_on_sqlite(tmp_path):
    # Before the fix every round failed with "table … already exists".
    for round_ in range(15):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        assert _race_to_create(url, racers=6) == []
        store = Store(url)
        assert store.schema_version() == SCHEMA_VERSION
        with store.engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT count(*) FROM budgetbot_meta")).scalar_one()
        assert versions == 1
        store.close()


def test_first_start_by_many_at_once_never_fails_on_postgresql(pg_schema_url):
    from budgetbot.store.db import metadata

    for _ in range(5):
        engine = sa.create_engine(pg_schema_url.replace("postgresql://", "postgresql+psycopg://"))
        metadata.drop_all(engine)  # a fresh schema each round
        engine.dispose()
        assert _race_to_create(pg_schema_url, racers=6) == []
        store = Store(pg_schema_url)
        assert store.schema_version() == SCHEMA_VERSION
        store.close()
