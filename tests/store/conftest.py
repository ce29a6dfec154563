"""The store under test: SQLite in a temp folder, and PostgreSQL when one is reachable.

PostgreSQL comes from BUDGETBOT_TEST_POSTGRES_URL (CI: the server on 127.0.0.1:5432, trust
auth, database `test`). Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest


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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_schema_url"))
