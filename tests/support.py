"""Constants and small fakes shared by the tests (importable, unlike conftest)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
#: A busy evening in the simulated organization: about 20 jobs queued, 6 of them in its first
#: project (the organization key's), a few in each of the next two.
QUEUE_NOW = dt.datetime(2026, 11, 20, 19, 0, tzinfo=dt.UTC)
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


#: Environment variables budgetbot reads as settings: a child process gets only the test's own.
SETTINGS_VARIABLES = ("SLACK_", "IONQ_", "BUDGETBOT_", "DATABASE_URL", "PORT")
REPO = Path(__file__).resolve().parents[1]


def process_env(**values: object) -> dict[str, str]:
    """The environment for a budgetbot child process: this one's without any budgetbot setting
    (the developer's own IonQ key or database must not leak in), plus ``values``.

    The child imports this checkout's budgetbot and writes its output unbuffered, so a test
    watching its log sees each line as it is written.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTINGS_VARIABLES)}
    env |= {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env |= {key: str(value) for key, value in values.items()}
    return env


def budgetbot_command(*args: str) -> list[str]:
    """The argv that runs ``budgetbot ARGS...`` in a child process (as ``python -m budgetbot``)."""
    return [sys.executable, "-m", "budgetbot", *args]


def wait_for(
    predicate: Callable[[], T],
    seconds: float = 30.0,
    interval: float = 0.05,
    *,
    message: str | Callable[[], str] = "condition not met in time",
) -> T:
    """Poll ``predicate`` until it returns something true, and return that, for tests that watch
    another process or thread; fail after ``seconds`` (a bound on the wait, never a timing
    assertion). The one polling loop of the test suite."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise AssertionError(message() if callable(message) else message)


def settle(app: Any) -> None:
    """Wait until every listener the Bolt ``app`` started has finished: a barrier, not a sleep,
    before asserting that nothing (more) arrived. The app runs no listener after it."""
    app.listener_runner.listener_executor.shutdown(wait=True)
