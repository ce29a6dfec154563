"""An IonQ answer that breaks IonQ's own invariants, served over HTTP to a whole `check` cycle
(real client, usage cache, store, fake Slack): no alert, nothing stored as settled, one outage
notice, and once IonQ answers correctly again the real alerts fire."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Anomaly, Budget, Policy
from budgetbot.sim.server import CORRUPTIONS
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.store.db import usage_buckets
from budgetbot.usage import UsageSource
from budgetbot.usage.cache import UsageCache
from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, RecordedSleep

T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)


def stored_buckets(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(usage_buckets)).scalar_one())


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_broken_answer_is_an_outage_and_real_alerts_fire_after(sim, org, tmp_path, corruption):
    month = dt.date(2026, 11, 1)
    spent = org.total(month, dt.date(2026, 11, 21), until=T0).amount
    # 85% used: the 80% level is crossed by the true figures, the 100% level is not.
    budget = (spent / Decimal("0.85")).quantize(Decimal(1))
    rules = PolicySet(
        policies=(
            Policy(
                name="org",
                scope="organization",
                budget=Budget(usd=budget),
                alert_at=[80, 100],
                channel="#quantum-spend",
            ),
        ),
        anomalies=(
            Anomaly(name="spike", scope="project", window="14d", factor=Decimal(3), channel="#q"),
        ),
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    sleep = RecordedSleep()
    with (
        FakeSlack() as slack,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic) as client,
    ):
        sink = SlackNotifier(make_web_client("xoxb-test", slack.base_url))
        cache = UsageCache(client, store)

        def cycle(at: dt.datetime):
            sim.now = at
            source = UsageSource(client, cache=cache, today=at.date())
            return run_check(rules, source, store, [sink], at, notice_channel="#quantum-spend")

        sim.corrupt(corruption, times=10_000)
        bad = cycle(T0)
        assert bad.error is not None and "IonQ" in bad.error
        assert bad.findings == [] and bad.decisions == []
        assert sleep.waits, "a refused answer is retried like an outage"
        assert stored_buckets(store) == 0, "nothing from a refused answer is stored as settled"
        posts = slack.posts()
        assert [p["metadata"]["event_type"] for p in posts] == ["budgetbot_notice"]
        assert "unavailable" in posts[0]["text"]

        bad_again = cycle(T0 + dt.timedelta(minutes=15))  # nothing new while it persists
        assert bad_again.error is not None and len(slack.posts()) == 1

        sim.reset()
        good = cycle(T0 + dt.timedelta(minutes=30))
        assert good.error is None
        assert stored_buckets(store) > 0
        posts = slack.posts()
        kinds = [p["metadata"]["event_type"] for p in posts]
        assert kinds == ["budgetbot_notice", "budgetbot_alert", "budgetbot_notice"]
        alert = posts[1]["metadata"]["event_payload"]
        assert alert["dedup_key"].startswith("org|") and "|80" in alert["dedup_key"]
        assert "available again" in posts[2]["text"]
    store.close()


def test_an_answer_showing_less_than_before_is_refused_not_taken_back(sim, org, tmp_path):
    """Usage only grows: an empty (but self-consistent) answer after a real one is a glitch. It
    must not turn fired alerts into "back under" notices, nor be stored as figures."""
    month = dt.date(2026, 11, 1)
    spent = org.total(month, dt.date(2026, 11, 21), until=T0).amount
    rules = PolicySet(
        policies=(
            Policy(
                name="org",
                scope="organization",
                budget=Budget(usd=(spent / Decimal("0.85")).quantize(Decimal(1))),
                alert_at=[50, 80],
                channel="#quantum-spend",
            ),
        ),
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    sleep = RecordedSleep()
    with (
        FakeSlack() as slack,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic) as client,
    ):
        sink = SlackNotifier(make_web_client("xoxb-test", slack.base_url))

        def cycle(at: dt.datetime):
            sim.now = at
            # A new cache each cycle, as a new `check` process would have: only the store remembers.
            source = UsageSource(client, cache=UsageCache(client, store), today=at.date())
            return run_check(rules, source, store, [sink], at, notice_channel="#quantum-spend")

        first = cycle(T0)
        assert first.error is None
        assert [p["metadata"]["event_type"] for p in slack.posts()] == ["budgetbot_alert"]

        sim.empty(times=10_000)
        glitch = cycle(T0 + dt.timedelta(hours=1))
        assert glitch.error is not None and "less usage" in glitch.error
        assert glitch.findings == []
        posts = slack.posts()
        assert not any("Back under" in p["text"] for p in posts), "no false 'back under'"
        assert [p["metadata"]["event_type"] for p in posts][-1] == "budgetbot_notice"
        assert "unavailable" in posts[-1]["text"]

        sim.reset()
        again = cycle(T0 + dt.timedelta(hours=2))
        assert again.error is None
        texts = [p["text"] for p in slack.posts()]
        assert not any("Back under" in t for t in texts)
        assert "available again" in texts[-1]
        # The alert stands, fired once: nothing was taken back, nothing is posted twice.
        alerts = [p for p in slack.posts() if p["metadata"]["event_type"] == "budgetbot_alert"]
        assert len(alerts) == 1
    store.close()
