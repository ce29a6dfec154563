"""Committed spend end to end over HTTP: the simulator's own queue read by the real queue reader
(organization key plus project keys), jobs queued and cancelled through IonQ's API, alerts posted
to the fake Slack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import GroupBy, IonQClient
from budgetbot.queue.reader import IonQQueueReader
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.sim import SimOrg, SimServer
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, NOW

D = Decimal
QUEUED_AT = NOW - dt.timedelta(minutes=10)


@pytest.fixture
def org() -> SimOrg:
    return SimOrg()  # its own: the test queues and cancels jobs in it


@pytest.fixture
def world(org: SimOrg, tmp_path: Any) -> Iterator[Any]:
    chem = org.project("Quantum Chem")
    spent = org.truth(GroupBy.PROJECT, dt.date(2026, 11, 1), NOW.date(), until=NOW)[chem.id]
    budget = (spent.amount / D("0.9")).quantize(D(1))  # about 90% spent
    batch = org.submit(chem.id, None, [D(500)] * 6, QUEUED_AT, name="FeMoco <!here> scan")
    rules = PolicySet(
        policies=(
            Policy.model_validate(
                {
                    "name": "chem",
                    "scope": "project",
                    "each": True,
                    "match": [chem.id, "Lattice QCD"],
                    "budget": {"usd": budget},
                    "alert_at": [100],
                    "committed_at": [100],
                    "channel": "#quantum-spend",
                }
            ),
        )
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    with SimServer(org, api_key=API_KEY, now=NOW) as sim, FakeSlack() as slack:
        notifier = SlackNotifier(make_web_client("xoxb-test", slack.base_url))
        with IonQClient(sim.base_url, org.org_id, API_KEY) as client:
            yield sim, client, store, slack, notifier, rules, batch
    store.close()


def reader(sim: SimServer, client: IonQClient, store: Store, projects: list[str]) -> Any:
    keys = [sim.project_keys[p] for p in projects]
    clients = [client] + [client.with_key(k, key_label=f"key {i}") for i, k in enumerate(keys)]
    return IonQQueueReader(clients, store)


def test_fires_once_and_resolves_when_the_jobs_are_cancelled(world, org) -> None:
    sim, client, store, slack, notifier, rules, batch = world
    chem = org.project("Quantum Chem")
    queue = reader(sim, client, store, [p.id for p in org.projects])

    def cycle(at: dt.datetime) -> Any:
        sim.now = at
        source = UsageSource(client, today=at.date())
        return run_check(rules, source, store, [notifier], at, queue_reader=queue)

    first = cycle(NOW)
    [alert] = [d.finding for d in first.to_notify if d.finding.kind == "committed"]
    assert alert.group_key == chem.id and alert.certain
    assert alert.queue is not None and alert.queue.jobs >= len(batch)
    [post] = slack.messages("#quantum-spend")
    assert "Quantum Chem has committed 1" in post["text"] and "queued jobs" in post["text"]
    assert "<!here>" not in str(post["blocks"]) and "&lt;!here&gt;" in str(post["blocks"])
    estimates = sim.route_requests("cost")
    assert len(estimates) >= len(batch)

    later = NOW + dt.timedelta(minutes=5)  # the batch still waits (hours on a busy Friday)
    assert cycle(later).to_notify == [] and len(slack.posts()) == 1  # once per level
    assert len(sim.route_requests("cost")) == len(estimates)  # each estimate asked once

    # The team cancels the batch through IonQ's API with the project's own key.
    with IonQClient(sim.base_url, org.org_id, sim.project_keys[chem.id]) as own:
        cancelled = own.cancel_jobs([j.id for j in batch]).canceled
    assert sorted(cancelled) == sorted(j.id for j in batch)
    cycle(later + dt.timedelta(minutes=5))
    [_, reply] = slack.messages("#quantum-spend")
    assert reply["thread_ts"] == post["ts"]
    assert reply["text"].startswith("Back under 100% committed: Quantum Chem has now committed")
    cycle(later + dt.timedelta(minutes=10))
    assert len(slack.posts()) == 2  # said once


def test_a_project_no_key_sees_never_gets_a_committed_alert(world, org) -> None:
    sim, client, store, slack, notifier, rules, _ = world
    lattice = org.project("Lattice QCD")
    # Every project key but Quantum Chem's; in the simulator the organization key belongs to
    # Quantum Chem, so here it is made a key of no project.
    others = [p.id for p in org.projects if p.name != "Quantum Chem"]
    sim.api_key_project = False  # the organization key covers no project
    queue = reader(sim, client, store, others)
    sim.now = NOW
    source = UsageSource(client, today=NOW.date())
    result = run_check(rules, source, store, [notifier], NOW, queue_reader=queue)
    assert result.queue_error is None
    assert not any(f.kind == "committed" for f in result.findings if f.group_name == "Quantum Chem")
    assert slack.posts() == []
    result = run_check(rules, source, store, [], NOW, queue_reader=queue, dry_run=True)
    burns = {b.group_name: b for b in result.uncounted}
    assert burns["Quantum Chem"].queue is not None
    assert burns["Quantum Chem"].queue.state == "not_visible"
    assert lattice.id not in {b.group_key for b in result.uncounted}  # its queue is seen
