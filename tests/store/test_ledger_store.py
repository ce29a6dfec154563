"""Schema version 4: the job ledger and its walk marks, on SQLite and PostgreSQL, and the in-place
upgrade of a version-3 database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from budgetbot.store import JobEstimate, LedgerEntry, LedgerMark, Store
from budgetbot.store.db import SCHEMA_VERSION, _driver_url

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
DAY = NOW.date()


def entry(job_id: str, usd: str | None = "12.50", day: dt.date = DAY, **kw: object) -> LedgerEntry:
    completed = dt.datetime.combine(day, dt.time(9), dt.UTC)
    value = None if usd is None else Decimal(usd)
    fields: dict[str, object] = {
        "project_id": "p1",
        "submitter_id": "u1",
        "unit": None if usd is None else "usd",
        "value": value,
        "usd": value,
        "billed_us": Decimal("1500"),
        "asked_at": NOW,
        **kw,
    }
    return LedgerEntry(job_id, completed_at=completed, day=day, **fields)  # type: ignore[arg-type]


def make_version_3(url: str) -> None:
    """A database as schema version 3 left it (version 4 only adds two tables), with rows."""
    store = Store(url)
    store.put_job_estimates({"j0": JobEstimate("usd", Decimal("1"), Decimal("1"), NOW)})
    store.close()
    engine = sa.create_engine(_driver_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE job_ledger"))
        conn.execute(sa.text("DROP TABLE ledger_marks"))
        conn.execute(sa.text("UPDATE budgetbot_meta SET value = '3' WHERE key = 'schema_version'"))
    engine.dispose()


def test_a_version_3_database_upgrades_in_place(db_url: str) -> None:
    make_version_3(db_url)
    engine = sa.create_engine(_driver_url(db_url))
    assert not {"job_ledger", "ledger_marks"} & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    store = Store(db_url)
    assert SCHEMA_VERSION >= 4
    assert store.schema_version() == SCHEMA_VERSION
    assert store.job_estimates(["j0"])["j0"].usd == Decimal("1")
    assert store.put_ledger_entries([entry("j1")]) == 1
    assert store.ledger_entries(["j1"])["j1"].usd == Decimal("12.50")
    store.set_ledger_mark("k1", LedgerMark(NOW, NOW))
    assert store.ledger_mark("k1") == LedgerMark(NOW, NOW)
    assert store.upgrade() == SCHEMA_VERSION  # and again: nothing to do
    store.close()


def test_entries_are_kept_exactly_and_once(db_url: str) -> None:
    store = Store(db_url)
    exact = "1234.567890123456789012"
    credit = dataclasses.replace(entry("j2", "120", project_id=None), unit="credit", usd=None)
    assert store.put_ledger_entries([entry("j1", exact), credit, entry("j3", None)]) == 3
    # A second process storing the same job keeps the first row.
    assert store.put_ledger_entries([entry("j1", "1"), entry("j4")]) == 1
    found = store.ledger_entries(["j1", "j2", "j3", "j4", "missing"])
    assert set(found) == {"j1", "j2", "j3", "j4"}
    assert found["j1"].usd == Decimal(exact) and found["j1"].billed_us == Decimal("1500")
    assert found["j1"].completed_at == dt.datetime.combine(DAY, dt.time(9), dt.UTC)
    assert found["j2"].usd is None and found["j2"].unit == "credit" and found["j2"].billed
    assert found["j2"].project_id is None
    assert not found["j3"].billed and found["j3"].asked_at == NOW
    store.close()


def test_days_and_unbilled_entries_are_read_by_range(db_url: str) -> None:
    store = Store(db_url)
    yesterday = DAY - dt.timedelta(days=1)
    store.put_ledger_entries(
        [entry("a", day=yesterday), entry("b"), entry("c", None), entry("d", None, day=yesterday)]
    )
    assert {e.job_id for e in store.ledger_days(DAY, DAY + dt.timedelta(1))} == {"b", "c"}
    assert {e.job_id for e in store.ledger_days(yesterday, DAY)} == {"a", "d"}
    since = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    assert [e.job_id for e in store.unbilled_since(since)] == ["c"]
    # A cost once given is kept; an entry already billed is not changed again.
    billed = entry("c", "3.25", asked_at=LATER)
    store.update_ledger_costs([billed, entry("b", "99", asked_at=LATER)])
    found = store.ledger_entries(["b", "c"])
    assert found["c"].usd == Decimal("3.25") and found["c"].asked_at == LATER
    assert found["b"].usd == Decimal("12.50")
    assert store.unbilled_since(since) == []
    store.close()


def test_a_mark_is_replaced(db_url: str) -> None:
    store = Store(db_url)
    assert store.ledger_mark("k") is None
    store.set_ledger_mark("k", LedgerMark(NOW, NOW))
    store.set_ledger_mark("k", LedgerMark(NOW - dt.timedelta(days=30), LATER))
    assert store.ledger_mark("k") == LedgerMark(NOW - dt.timedelta(days=30), LATER)
    assert store.ledger_mark("other") is None
    store.close()
