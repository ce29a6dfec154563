"""Shared fixtures: the simulated IonQ organization served over loopback HTTP, a fixed `now`."""

from __future__ import annotations

from collections.abc import Iterator

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
