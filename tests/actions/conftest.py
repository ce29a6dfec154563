from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.actions.support import World, world


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    yield from world(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def wdb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The world on SQLite, then on PostgreSQL (whose leases hold advisory locks)."""
    url = None if request.param == "sqlite" else str(request.getfixturevalue("pg_schema_url"))
    yield from world(tmp_path, db_url=url)
