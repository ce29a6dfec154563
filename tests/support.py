"""Constants and small fakes shared by the tests (importable, unlike conftest)."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
API_KEY = "sim-test-key-5f1b2c"


class RecordedSleep:
    """A fake `sleep` that records the waits instead of sleeping (time is injected, never slept)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.clock = 0.0

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock += seconds

    def monotonic(self) -> float:
        return self.clock


def outbox_rows(db_file: object) -> list[tuple[str, bool]]:
    """(dedup_key, sent) of every notification in a SQLite state file, read-only.

    For polling a database another process is writing: no schema creation, and a locked or
    not yet created database reads as empty instead of failing the poll.
    """
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT dedup_key, sent_at FROM notifications ORDER BY id")
            return [(key, sent is not None) for key, sent in rows.fetchall()]
    except sqlite3.OperationalError:
        return []


def wait_for(predicate, seconds: float = 30.0, interval: float = 0.05) -> None:
    """Poll ``predicate`` until true, for tests that watch another process; fail after
    ``seconds`` (a bound on the wait, never a timing assertion)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")
