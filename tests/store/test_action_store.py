"""Schema version 5: budget actions' tables on SQLite and PostgreSQL, the in-place upgrade of a
version-4 database, and the compare-and-set that lets one of two processes take an action."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from budgetbot.actions import JobOutcome, Proposal, proposal_id, records
from budgetbot.actions.audit import audit_entries
from budgetbot.store import Store
from budgetbot.store.db import SCHEMA_VERSION, _driver_url
from budgetbot.store.schema import MIGRATIONS

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
NOTICE = '{"type": "notice", "text": "x"}'
ACTION_TABLES = {"action_proposals", "action_jobs", "action_audit"}


def proposal(group: str = "p1") -> Proposal:
    return Proposal(
        id=proposal_id("cap", group, "2026-11", "spend", Decimal(100)),
        rule="cap",
        scope="project",
        group_key=group,
        group_name="Quantum Chem",
        groups=(group,),
        period="2026-11",
        kind="spend",
        level=Decimal(100),
        approval="manual",
        approvers=("U1",),
        thread_key=f"cap|{group}|2026-11",
        created_at=NOW,
        expires_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        jobs=2,
        amount_usd=Decimal("640.00"),
    )


def make_version_4(url: str) -> None:
    """A database as schema version 4 left it (version 5 only adds tables), with a row."""
    store = Store(url)
    store.record([], [("kept", "t", "#c", NOTICE)], NOW)
    store.close()
    engine = sa.create_engine(_driver_url(url))
    with engine.begin() as conn:
        for table in sorted(ACTION_TABLES):
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("UPDATE budgetbot_meta SET value = '4' WHERE key = 'schema_version'"))
    engine.dispose()


def test_a_version_4_database_upgrades_in_place(db_url: str) -> None:
    make_version_4(db_url)
    engine = sa.create_engine(_driver_url(db_url))
    assert not ACTION_TABLES & set(sa.inspect(engine).get_table_names())
    engine.dispose()
    store = Store(db_url)
    assert SCHEMA_VERSION >= 5 and 5 in MIGRATIONS
    assert store.schema_version() == SCHEMA_VERSION
    assert [r.dedup_key for r in store.pending()] == ["kept"]
    assert records.add_proposal(store, proposal(), NOW)
    assert store.upgrade() == SCHEMA_VERSION  # and again: nothing to do
    store.close()


def test_the_version_5_step_stands_on_its_own(db_url: str) -> None:
    make_version_4(db_url)
    engine = sa.create_engine(_driver_url(db_url))
    with engine.begin() as conn:
        MIGRATIONS[5](conn)
        MIGRATIONS[5](conn)  # twice: only what is missing is made
    assert set(sa.inspect(engine).get_table_names()) >= ACTION_TABLES
    engine.dispose()


def test_a_proposal_is_stored_once_and_one_claim_wins(db_url: str) -> None:
    store = Store(db_url)
    p = proposal()
    assert records.add_proposal(store, p, NOW)
    assert not records.add_proposal(store, p, NOW)  # a second cycle, another process
    loaded = records.load(store, p.id)
    assert loaded is not None and loaded.proposal == p and loaded.state == "proposed"
    approved = {"state": "approved", "approved_by": "U1", "approved_at": NOW}
    args = (store, p)
    assert records.claim(*args, "a", NOW, LEASE, states=("proposed",), values=approved)
    assert not records.claim(*args, "b", NOW, LEASE, states=("proposed",), values=approved)
    assert not records.claim(*args, "b", NOW, LEASE, states=("approved",), values={})
    assert records.claim(*args, "b", NOW, LEASE, states=("approved",), values={}, dead_owner="a")
    assert not records.finish(store, p, "a", NOW, {"state": "done"})  # a's lease was lost
    job = JobOutcome(job_id="j1", label="vqe", status="ready", result="pending")
    records.put_jobs(store, p, [job], NOW)
    records.put_jobs(store, p, [job.model_copy(update={"result": "cancelled"})], NOW)
    assert records.finish(store, p, "b", NOW, {"state": "done", "finished_at": NOW})
    done = records.load(store, p.id)
    assert done is not None and done.state == "done" and done.finished_at == NOW
    assert [j.result for j in done.jobs] == ["cancelled"]
    assert [e.event for e in audit_entries(store)] == ["proposed"]
    store.close()
