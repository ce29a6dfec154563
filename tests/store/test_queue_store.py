"""Schema version 3: job estimates and group names, on SQLite and PostgreSQL, and the in-place
upgrade of a version-2 database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from budgetbot.store import JobEstimate, Store
from budgetbot.store.db import SCHEMA_VERSION, _driver_url

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
NOTICE = '{"type": "notice", "text": "x"}'


def usd(value: str) -> JobEstimate:
    return JobEstimate("usd", Decimal(value), Decimal(value), NOW)


def make_version_2(url: str) -> None:
    """A database as schema version 2 left it (version 3 only adds two tables), with a row."""
    store = Store(url)
    store.record([], [("kept", "t", "#c", NOTICE)], NOW)
    store.close()
    engine = sa.create_engine(_driver_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE job_estimates"))
        conn.execute(sa.text("DROP TABLE group_names"))
        conn.execute(sa.text("UPDATE budgetbot_meta SET value = '2' WHERE key = 'schema_version'"))
    engine.dispose()


def test_a_version_2_database_upgrades_in_place(db_url: str) -> None:
    make_version_2(db_url)
    engine = sa.create_engine(_driver_url(db_url))
    assert not {"job_estimates", "group_names"} & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    store = Store(db_url)
    assert SCHEMA_VERSION >= 3  # later versions upgrade through 3
    assert store.schema_version() == SCHEMA_VERSION
    assert [r.dedup_key for r in store.pending()] == ["kept"]
    assert store.put_job_estimates({"j1": usd("12.50")}) == 1
    assert store.job_estimates(["j1"])["j1"].usd == Decimal("12.50")
    assert store.remember_group_names("project", {"p1": "Quantum Chem"}, NOW) == 1
    assert store.upgrade() == SCHEMA_VERSION  # and again: nothing to do
    store.close()


def test_estimates_are_kept_exactly_and_once(db_url: str) -> None:
    store = Store(db_url)
    exact = "1234.567890123456789012"
    credit = JobEstimate("credit", Decimal("120"), None, NOW)
    assert store.put_job_estimates({"j1": usd(exact), "j2": credit}) == 2
    # A second process storing the same job keeps the first row.
    assert store.put_job_estimates({"j1": usd("1"), "j3": usd("0")}) == 1
    found = store.job_estimates(["j1", "j2", "j3", "missing"])
    assert set(found) == {"j1", "j2", "j3"}
    assert found["j1"].value == Decimal(exact) and found["j1"].usd == Decimal(exact)
    assert found["j2"].usd is None and found["j2"].unit == "credit"
    assert found["j1"].fetched_at == NOW
    store.close()


def test_many_ids_are_looked_up_in_chunks(db_url: str) -> None:
    store = Store(db_url)
    ids = [f"job-{i:05d}" for i in range(2_100)]
    store.put_job_estimates({i: usd("1") for i in ids[::2]})
    assert set(store.job_estimates(ids)) == set(ids[::2])
    store.close()


def test_a_name_learned_once_is_kept_and_a_newer_one_replaces_it(db_url: str) -> None:
    store = Store(db_url)
    assert store.remember_group_names("project", {"p1": "Chem", "p2": "Optics"}, NOW) == 2
    assert store.remember_group_names("user", {"u1": "Ada"}, NOW) == 1
    # An answer that does not list p2 leaves its name; the same name again changes nothing.
    assert store.remember_group_names("project", {"p1": "Chem"}, LATER) == 0
    assert store.remember_group_names("project", {"p1": "Quantum Chem"}, LATER) == 1
    assert store.group_names("project") == {"p1": "Quantum Chem", "p2": "Optics"}
    assert store.group_names("user") == {"u1": "Ada"}
    store.close()


def test_names_too_long_for_the_column_are_cut_and_odd_ids_skipped(db_url: str) -> None:
    store = Store(db_url)
    store.remember_group_names("project", {"p1": "x" * 2000, "": "empty", "y" * 300: "n"}, NOW)
    assert store.group_names("project") == {"p1": "x" * 512}
    store.close()
