"""IonQ down for three cycles: one notice, no findings from missing data, catch-up after, and
/healthz going 503 and back to 200 — with the real store, client, sim and fake Slack."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from budgetbot.alerts.health import HealthProbe
from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Budget, Policy
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.slack.web import health
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, RecordedSleep

T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
T_BACK = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)


def test_three_failed_cycles_then_recovery(sim, org, tmp_path):
    # A budget whose 80% level is crossed while IonQ is down, so recovery must catch up.
    month = dt.date(2026, 11, 1)
    before = org.total(month, dt.date(2026, 11, 21), until=T0).amount
    after = org.total(month, dt.date(2026, 11, 22), until=T_BACK).amount
    budget = ((before + after) / 2 / Decimal("0.8")).quantize(Decimal(1))
    rules = PolicySet(
        policies=(
            Policy(
                name="org",
                scope="organization",
                budget=Budget(usd=budget),
                alert_at=[80],
                channel="#quantum-spend",
            ),
        )
    )
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    sleep = RecordedSleep()
    clock = {"now": T0}
    probe = HealthProbe(store, "*/15 * * * *", lambda: clock["now"])

    def healthz() -> tuple[int, dict]:
        return health(probe.checks(), probe.info)

    with (
        FakeSlack() as slack,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic) as client,
    ):
        sink = SlackNotifier(make_web_client("xoxb-test", slack.base_url))

        def cycle(at: dt.datetime):
            clock["now"] = at
            sim.now = at
            return run_check(
                rules, UsageSource(client), store, [sink], at, notice_channel="#quantum-spend"
            )

        first = cycle(T0)
        assert first.error is None and first.to_notify == []
        code, doc = healthz()
        assert code == 200 and doc["last_good_cycle"] == T0.isoformat()

        sim.fail(503, times=10_000)
        for minutes in (15, 30, 45):
            failed = cycle(T0 + dt.timedelta(minutes=minutes))
            assert failed.error is not None and "503" in failed.error
            assert failed.findings == [] and failed.decisions == []  # nothing from missing data
        assert sleep.waits, "the client retried within its deadline before giving up"
        kinds = [p["metadata"]["event_type"] for p in slack.posts()]
        assert kinds == ["budgetbot_notice"]  # one notice for the whole outage
        assert "IonQ usage data unavailable since 2026-11-20 10:15" in slack.posts()[0]["text"]

        clock["now"] = T0 + dt.timedelta(minutes=56)
        code, doc = healthz()
        assert code == 503 and "cycles" in doc["checks"]
        assert doc["ionq_unavailable_since"] == (T0 + dt.timedelta(minutes=15)).isoformat()

        sim.reset()
        back = cycle(T_BACK)
        assert back.error is None
        posts = slack.posts()
        kinds = [p["metadata"]["event_type"] for p in posts]
        assert kinds == ["budgetbot_notice", "budgetbot_alert", "budgetbot_notice"]
        assert "available again" in posts[2]["text"]
        keys = [p["metadata"]["event_payload"]["dedup_key"] for p in posts]
        assert len(set(keys)) == 3
        code, doc = healthz()
        assert code == 200 and doc["ionq_unavailable_since"] is None
    store.close()


def test_stuck_outbox_makes_healthz_fail(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.record([], [("k", "k", "#c", '{"type": "notice", "text": "x"}')], T0)
    probe = HealthProbe(store, "*/15 * * * *", lambda: T0 + dt.timedelta(minutes=10))
    assert health(probe.checks(), probe.info)[0] == 200
    probe.now = lambda: T0 + dt.timedelta(minutes=31)
    code, doc = health(probe.checks(), probe.info)
    assert code == 503 and "outbox" in doc["checks"]
    store.close()
