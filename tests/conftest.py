"""Shared fixtures: the simulated IonQ organization served over loopback HTTP, a fixed `now`,
and a throwaway PostgreSQL schema.

PostgreSQL comes from BUDGETBOT_TEST_POSTGRES_URL (CI: the server on 127.0.0.1:5432, trust
auth, database `test`); without a reachable server those tests skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from budgetbot.ionq import IonQClient
from budgetbot.sim import SimOrg, SimServer
from tests.support import API_KEY, NOW, RecordedSleep


@pytest.fixture(scope="session")
def org() -> SimOrg:
    return SimOrg()


@pytest.fixture
def sim(org: SimOrg) -> Iterator[SimServer]:
    with SimServer(org, api_key=API_KEY, now=NOW) as server:
        yield server


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def client(sim: SimServer, org: SimOrg, sleep: RecordedSleep) -> Iterator[IonQClient]:
    with IonQClient(
        sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic, timeout=5.0
    ) as c:
        yield c


@pytest.fixture
def ionq_env(sim: SimServer, org: SimOrg, monkeypatch: pytest.MonkeyPatch, tmp_path) -> SimServer:
    """Environment for CLI tests: settings point at the simulator; no .env file is read."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IONQ_BASE_URL", sim.base_url)
    monkeypatch.setenv("IONQ_ORG_ID", org.org_id)
    monkeypatch.setenv("IONQ_API_KEY", API_KEY)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return sim


def postgres_url() -> str | None:
    return os.environ.get("BUDGETBOT_TEST_POSTGRES_URL")


def _pg_reachable(url: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: skip, saying why
        return f"PostgreSQL at BUDGETBOT_TEST_POSTGRES_URL is not reachable: {exc}"


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A database URL whose search_path is a fresh, throwaway schema."""
    url = postgres_url()
    if url is None:
        pytest.skip("BUDGETBOT_TEST_POSTGRES_URL is not set (no PostgreSQL to test against)")
    reason = _pg_reachable(url)
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
