"""Fixtures for the simulator's own tests: one seeded organization, one server, an HTTP client.

The names are prefixed with ``sim_`` so they never shadow the project-wide fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer

SIM_NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
"""The simulated present: a Wednesday afternoon, so 2026-11-18 is a partial day."""

SIM_KEY = "sim-test-key"


@pytest.fixture(scope="session")
def sim_now() -> datetime:
    return SIM_NOW


@pytest.fixture(scope="session")
def sim_key() -> str:
    return SIM_KEY


@pytest.fixture(scope="session")
def sim_org() -> SimOrg:
    return SimOrg()


@pytest.fixture(scope="session")
def _sim_server_session(sim_org: SimOrg) -> Iterator[SimServer]:
    with SimServer(sim_org, api_key=SIM_KEY, now=SIM_NOW) as server:
        yield server


@pytest.fixture
def sim_server(_sim_server_session: SimServer) -> Iterator[SimServer]:
    """The shared server with no faults, no latency and an empty request log."""
    _sim_server_session.reset()
    _sim_server_session.new_fields = False
    yield _sim_server_session
    _sim_server_session.reset()
    _sim_server_session.new_fields = False


@pytest.fixture
def sim_http(sim_server: SimServer) -> Iterator[httpx.Client]:
    """An httpx client for the server, authenticated, with a short timeout."""
    with httpx.Client(
        base_url=sim_server.base_url,
        headers={"Authorization": f"apiKey {SIM_KEY}"},
        timeout=5.0,
    ) as client:
        yield client


UsageGet = Callable[..., httpx.Response]


@pytest.fixture
def sim_usage(sim_http: httpx.Client, sim_org: SimOrg) -> UsageGet:
    """``sim_usage(start_date=..., end_date=..., group_by=..., modality=...)`` → the response."""

    def get(*, org_id: str | None = None, **params: Any) -> httpx.Response:
        query = {k: str(v) for k, v in params.items()}
        return sim_http.get(f"/organizations/{org_id or sim_org.org_id}/usage", params=query)

    return get
