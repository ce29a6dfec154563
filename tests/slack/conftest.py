"""Fixtures of the Slack tests: the fake Slack Web API on loopback and a client pointed at it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from budgetbot.rules.findings import Figure, Finding
from budgetbot.settings import Settings
from budgetbot.sim import SimServer
from budgetbot.slack.deliver import make_web_client
from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, RecordedSleep

TOKEN = "xoxb-1111-2222-s3cr3tT0ken"
USERS = {"alice@example.org": "U0ALICE", "bob@example.org": "U0BOB"}
GROUPS = {"chem-leads": "S0CHEM", "finance": "S0FIN"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A plain fake Slack (no users or groups to look up)."""
    with FakeSlack() as f:
        yield f


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A throwaway SQLite state store."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(users=USERS, usergroups=GROUPS) as fake:
        yield fake


@pytest.fixture
def waits() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def web_client(fake_slack: FakeSlack, waits: RecordedSleep) -> WebClient:
    return make_web_client(TOKEN, fake_slack.base_url, sleep=waits)


def make_finding(**changes: Any) -> Finding:
    """A spend finding of 'Quantum Chem' at 80% of a $5,000 November budget."""
    base: dict[str, Any] = {
        "rule": "chem-monthly",
        "rule_type": "policy",
        "source": "policies/chem.yaml",
        "kind": "spend",
        "scope": "project",
        "group_key": "p-chem",
        "group_name": "Quantum Chem",
        "period": "2026-11",
        "period_start": dt.date(2026, 11, 1),
        "period_end": dt.date(2026, 12, 1),
        "level": Decimal(80),
        "certain": True,
        "measure": "usd",
        "budget": Decimal(5000),
        "value": Figure(low=Decimal("4100.00"), high=Decimal("4100.00")),
        "forecast": Figure(low=Decimal("6400.00"), high=Decimal("6400.00")),
        "percent": Figure(low=Decimal(82), high=Decimal(82)),
        "reaches_budget_on": dt.date(2026, 11, 25),
        "daily_rate": Figure(low=Decimal("205.00"), high=Decimal("205.00")),
        "rate_days": 19,
        "description": "Chemistry team QPU budget",
        "channel": "#quantum-spend",
        "mention": ("@chem-leads", "alice@example.org"),
    }
    base.update(changes)
    return Finding(**base)


def slack_settings(
    sim: SimServer,
    fake: FakeSlack,
    *,
    database_url: str,
    policies: Path,
    bot_token: str,
    signing_secret: str,
    **over: Any,
) -> Settings:
    """Settings of an app whose IonQ is the simulator and whose Slack is the fake (no .env)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "slack_bot_token": bot_token,
        "slack_signing_secret": signing_secret,
        "slack_api_url": fake.base_url,
        "ionq_base_url": sim.base_url,
        "ionq_org_id": sim.org_id,
        "ionq_api_key": API_KEY,
        "budgetbot_policies": policies,
        **over,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]
