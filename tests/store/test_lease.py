"""Delivery leases: a dead holder's lease is taken over at once, a live one's is waited for and
named; on SQLite (process ids on this host) and PostgreSQL (the holder's advisory lock)."""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from budgetbot.alerts.console import ConsoleNotifier
from budgetbot.alerts.deliver import Waiting, deliver
from budgetbot.cli import main
from budgetbot.store import Store
from budgetbot.store import lease as lease_mod
from budgetbot.store.lease import LOCK_CLASS, LeaseHolder, owner_alive

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
NOTICE = json.dumps({"type": "notice", "text": "hello"})


def wall_clock() -> dt.datetime:
    return NOW  # the leases below are taken at NOW and last 10 minutes


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process of this host (the holder of a lease)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait(10)


def holder_of(url: str, sleeper: subprocess.Popen[bytes]) -> tuple[str, Callable[[], None]]:
    """An owner id held by a live process, and how to kill it (simulated on PostgreSQL: a
    session holding the owner's advisory lock, which dies with the session)."""
    host = socket.gethostname()
    owner = f"{host}:{sleeper.pid}:{lease_mod._SPACE}:deadbeef"
    if not url.startswith("postgresql"):

        def kill() -> None:
            sleeper.kill()
            sleeper.wait(10)

        return owner, kill
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    conn = engine.connect()
    conn.execute(
        sa.text("SELECT pg_advisory_lock(:c, :k)"),
        {"c": LOCK_CLASS, "k": lease_mod._lock_key(owner)},
    )
    conn.commit()

    def end_session() -> None:
        conn.invalidate()  # the session goes away without unlocking, as a killed process's
        conn.close()
        engine.dispose()

    return owner, end_session


def test_a_live_holder_is_waited_for_and_named_a_dead_one_taken_over_at_once(db_url, sleeper):
    store = Store(db_url)
    [row] = store.record([], [("notice|lease", "notice|lease", "#c", NOTICE)], NOW)
    owner, kill = holder_of(db_url, sleeper)
    assert store.claim(row, owner, NOW, LEASE) == 0  # the holder started sending, then ...
    out = io.StringIO()

    done = deliver(store, [ConsoleNotifier(out)], NOW, clock=wall_clock)
    assert done.sent == [] and done.failed == []
    assert done.waiting == [
        Waiting("notice|lease", f"process {sleeper.pid} on {socket.gethostname()}", NOW + LEASE)
    ]
    assert str(done.waiting[0]).endswith("until 2026-11-20 12:10:00 UTC)")

    kill()  # ... died (SIGKILL) well before its lease ends
    done = deliver(store, [ConsoleNotifier(out)], NOW, clock=wall_clock)
    assert [n.dedup_key for n in done.sent] == ["notice|lease"] and done.waiting == []
    assert "NOTICE hello" in out.getvalue()
    assert store.pending() == []
    store.close()


def test_owner_ids_of_this_process(db_url):
    store = Store(db_url)
    with LeaseHolder(store.engine) as holder:
        assert owner_alive(store.engine, holder.owner)  # a run under way
    assert not owner_alive(store.engine, holder.owner)  # a run that ended (its leases: orphans)
    assert not owner_alive(store.engine, None)
    store.close()


def test_unknown_holders_are_waited_for_on_sqlite(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    # Another host (or pid namespace): no way to tell, so only the lease's end frees it.
    assert owner_alive(store.engine, "elsewhere:1:000000000000:abcd1234")
    assert owner_alive(store.engine, "old-style-owner-id")
    store.close()


def test_check_names_what_waits_on_a_live_process(ionq_env, tmp_path: Path, sleeper):
    rules = tmp_path / "rules.yaml"
    rules.write_text("policies: []\n")
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    [row] = store.record([], [("notice|held", "notice|held", "#c", NOTICE)], NOW)
    owner, _ = holder_of("sqlite", sleeper)
    # Leases run on the wall clock (``check --now`` pins only the cycle's view of usage).
    claimed = dt.datetime.now(dt.UTC)
    store.claim(row, owner, claimed, LEASE)
    store.close()
    result = CliRunner().invoke(main, ["check", "--now", NOW.isoformat(), "--policies", str(rules)])
    assert result.exit_code == 0, result.output
    assert (
        f"left to the live process delivering it: notice|held (held by process {sleeper.pid}"
        f" on {socket.gethostname()} until {claimed + LEASE:%Y-%m-%d %H:%M:%S} UTC)"
    ) in result.output
    assert "0 sent, 0 failed, 1 being sent by another process" in result.output
