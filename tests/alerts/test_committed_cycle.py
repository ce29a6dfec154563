"""Committed spend through the check cycle: usage from the simulator over HTTP, the queue from
a fixed reader (the real one is ``budgetbot.queue.reader``), posts to the fake Slack."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from budgetbot.alerts.decide import Reason
from budgetbot.alerts.outbox import AlertPayload, decode, encode
from budgetbot.alerts.pipeline import run_check
from budgetbot.cli.cycle_output import print_cycle
from budgetbot.ionq import GroupBy, IonQClient, IonQError
from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.sim import SimOrg, SimServer
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack
from tests.support import NOW

D = Decimal
MONTH = (dt.date(2026, 11, 1), dt.date(2026, 11, 21))


class FixedReader:
    """The queue reader protocol, answering with whatever the test set (or failing)."""

    def __init__(self, snapshot: QueueSnapshot) -> None:
        self.queue = snapshot
        self.fail: IonQError | None = None
        self.calls = 0

    def snapshot(self, now: dt.datetime) -> QueueSnapshot:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.queue


def queue_of(
    org: SimOrg, *jobs: QueuedJob, covered: tuple[str, ...] | None = None
) -> QueueSnapshot:
    known = frozenset(p.id for p in org.projects)
    return QueueSnapshot(
        at=NOW,
        jobs=jobs,
        covered=known if covered is None else frozenset(covered),
        known=known,
        names={**{p.id: p.name for p in org.projects}, **{u.id: u.name for u in org.users}},
        requests={"whoami": 1, "jobs": 3, "cost": len(jobs)},
    )


def queued(org: SimOrg, usd: Decimal, n: int, name: str = "vqe <!channel>") -> list[QueuedJob]:
    chem = org.project("Quantum Chem")
    return [
        QueuedJob(
            id=f"job-{i}",
            status="submitted",
            project_id=chem.id,  # a project's usage group_id is the id its jobs carry
            submitter_id=chem.user_ids[0],
            name=f"{name} {i}",
            estimate_usd=usd / n,
            estimate_unit="usd",
        )
        for i in range(n)
    ]


@pytest.fixture
def env(sim: SimServer, org: SimOrg, client: IonQClient, tmp_path: Any) -> Iterator[Any]:
    chem = org.project("Quantum Chem")
    spent = org.truth(GroupBy.PROJECT, *MONTH, until=NOW)[chem.id].amount
    budget = (spent / D("0.85")).quantize(D(1))  # 85% spent now
    policy = Policy.model_validate(
        {
            "name": "chem",
            "scope": "project",
            "match": ["Quantum Chem"],
            "each": True,
            "budget": {"usd": budget},
            "alert_at": [50],
            "committed_at": [100],
            "channel": "#quantum-spend",
        }
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    with FakeSlack() as slack:
        notifier = SlackNotifier(make_web_client("xoxb-test", slack.base_url))
        yield PolicySet(policies=(policy,)), budget, store, slack, notifier
    store.close()


def test_fires_once_threads_and_resolves_only_on_a_queue_read(
    env, sim, org, client, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="budgetbot.cycle")
    rules, budget, store, slack, notifier = env
    reader = FixedReader(queue_of(org, *queued(org, budget * D("0.2"), 4)))

    def cycle(minutes: int) -> Any:
        at = NOW + dt.timedelta(minutes=minutes)
        sim.now = at
        return run_check(rules, UsageSource(client), store, [notifier], at, queue_reader=reader)

    first = cycle(0)
    assert first.error is None and first.queue_error is None
    assert first.queue_requests == {"whoami": 1, "jobs": 3, "cost": 4}
    [logged] = [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event")]
    assert logged["queue_requests"] == first.queue_requests and logged["queue_jobs"] == 4
    assert [(d.finding.kind, d.finding.level_text) for d in first.to_notify] == [
        ("spend", "50"),
        ("committed", "100"),
    ]
    spend_post, committed_post = slack.messages("#quantum-spend")
    assert committed_post["thread_ts"] == spend_post["ts"]  # the policy's thread
    assert "Quantum Chem has committed 10" in committed_post["text"]
    assert "in 4 queued jobs" in committed_post["text"]
    blocks = str(committed_post["blocks"])
    assert "vqe &lt;!channel&gt; 0" in blocks and "<!channel>" not in blocks
    assert "and 1 more" in blocks

    assert cycle(15).to_notify == [] and len(slack.posts()) == 2  # once per level

    # The jobs were cancelled, but the queue cannot be read: usage is still checked, and an
    # unknown queue is never taken for "back under".
    reader.queue = queue_of(org)
    reader.fail = IonQError("IonQ is not answering (503 for GET /jobs)", status=503)
    failed = cycle(30)
    assert failed.error is None and failed.queue_error is not None and "503" in failed.queue_error
    assert "IonQ queue unavailable, committed spend not checked" in caplog.text
    assert any(f.kind == "spend" for f in failed.findings)
    assert not any(f.kind == "committed" for f in failed.findings)
    assert len(slack.posts()) == 2

    reader.fail = None
    back = cycle(45)
    assert back.to_notify == []
    [reply] = slack.messages("#quantum-spend")[2:]
    assert reply["thread_ts"] == spend_post["ts"]
    assert reply["text"].startswith("Back under 100% committed: Quantum Chem has now committed 8")
    assert "spent + nothing queued" in reply["text"]
    assert cycle(60).to_notify == [] and len(slack.posts()) == 3  # said once
    assert reader.calls == 5


def test_a_queue_not_visible_never_fires_and_is_said(env, sim, org, client) -> None:
    rules, budget, store, _, notifier = env
    other = org.project("Lattice QCD").id
    reader = FixedReader(queue_of(org, *queued(org, budget, 2), covered=(other,)))
    sim.now = NOW
    result = run_check(
        rules, UsageSource(client), store, [notifier], NOW, dry_run=True, queue_reader=reader
    )
    assert not any(f.kind == "committed" for f in result.findings)
    [burn] = result.uncounted
    assert burn.queue is not None and burn.queue.state == "not_visible"


def test_the_queue_is_read_only_when_a_policy_counts_it(env, sim, org, client) -> None:
    rules, _, store, _, notifier = env
    plain = PolicySet(policies=(rules.policies[0].model_copy(update={"committed_at": []}),))
    reader = FixedReader(queue_of(org))
    sim.now = NOW
    result = run_check(plain, UsageSource(client), store, [notifier], NOW, queue_reader=reader)
    assert reader.calls == 0 and result.queue_requests == {}
    # No reader given: committed spend is simply not checked.
    result = run_check(rules, UsageSource(client), store, [notifier], NOW)
    assert result.error is None and not any(f.kind == "committed" for f in result.findings)


def test_a_committed_alert_survives_the_outbox(env, sim, org, client) -> None:
    rules, budget, store, _, notifier = env
    reader = FixedReader(queue_of(org, *queued(org, budget, 3)))
    sim.now = NOW
    result = run_check(
        rules, UsageSource(client), store, [notifier], NOW, dry_run=True, queue_reader=reader
    )
    [finding] = [f for f in result.findings if f.kind == "committed"]
    back = decode(encode(AlertPayload(finding, Reason.FIRST)))
    assert isinstance(back, AlertPayload) and back.finding == finding
    assert back.finding.queue is not None and back.finding.queue.largest
    assert back.finding.committed == finding.committed


def test_check_dry_run_lists_committed_findings_and_unseen_queues(env, sim, org, client, capsys):
    rules, budget, store, _, notifier = env
    chem = org.project("Quantum Chem")
    lattice = Policy.model_validate(
        {
            "name": "lattice",
            "scope": "project",
            "match": ["Lattice QCD"],
            "budget": {"usd": 1},
            "committed_at": [100],
        }
    )
    rules = PolicySet(policies=(*rules.policies, lattice))
    reader = FixedReader(queue_of(org, *queued(org, budget, 2), covered=(chem.id,)))
    sim.now = NOW
    result = run_check(
        rules, UsageSource(client), store, [notifier], NOW, dry_run=True, queue_reader=reader
    )
    print_cycle(result, NOW, dry_run=True)
    captured = capsys.readouterr()
    out = captured.out
    assert "6 IonQ queue requests" in captured.err  # whoami, 3 statuses, 2 estimates
    assert "ALERT chem: Quantum Chem has committed 18" in out
    assert "Queued now: $" in out and "largest: vqe <!channel> 0" in out
    assert "committed spend not checked: lattice for Lattice QCD: queue not visible" in out
