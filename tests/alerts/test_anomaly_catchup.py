"""Anomalies of days missed while the clock process or IonQ was down are examined on the next
good cycle, oldest first, once each — against the simulator, with the real store and client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgetbot.alerts.backtest import replay_times, run_backtest
from budgetbot.alerts.notifiers import CHAT, Note, Outgoing, Receipt
from budgetbot.alerts.pipeline import run_check
from budgetbot.rules.engine import ANOMALY_CATCHUP_DAYS, anomaly_needs, anomaly_since, plan
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Anomaly
from budgetbot.store import Store
from budgetbot.usage import UsageSource

RULES = PolicySet(
    anomalies=(
        Anomaly(
            name="spike", scope="project", window="14d", factor=Decimal(2), min_usd=Decimal(50)
        ),
        Anomaly(
            name="user-spike", scope="user", window="14d", factor=Decimal(2), min_usd=Decimal(50)
        ),
    )
)
LAST_SEEN = dt.datetime(2026, 10, 14, 12, tzinfo=dt.UTC)  # examines Oct 13
BACK = dt.datetime(2026, 10, 21, 10, tzinfo=dt.UTC)  # a week later: Oct 14..20 were missed
#: What the simulated organization did on the missed days (a daily check would have said so).
#: (Jobs are billed on the day they complete, so a spike partly lands on the following day.)
MISSED = [
    ("spike", "2026-10-14", "Lattice QCD"),
    ("user-spike", "2026-10-14", "Chiara Rossi"),
    ("user-spike", "2026-10-15", "Chiara Rossi"),
    ("user-spike", "2026-10-20", "Chiara Rossi"),
]

#: Oct 21, examined the day after: Tuesday's late Quantum Chem jobs completed (were billed) then.
OCT_21 = [("spike", "2026-10-21", "Quantum Chem"), ("user-spike", "2026-10-21", "Alice Nakamura")]


class Collect:
    """A sink that keeps what it is given, in order."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    destination = CHAT

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        if isinstance(note, Outgoing):
            self.sent.append(note)
        return Receipt("#c", f"ts-{note.id}")

    def alerts(self) -> list[tuple[str, str, str]]:
        return [(n.finding.rule, n.finding.period, n.finding.group_name) for n in self.sent]


@pytest.mark.parametrize("down", ["clock", "ionq"])
def test_missed_days_fire_once_each_oldest_first(down, sim, client, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    sink = Collect()

    def cycle(at: dt.datetime):
        sim.now = at
        return run_check(RULES, UsageSource(client), store, [sink], at)

    assert cycle(LAST_SEEN).error is None
    assert sink.alerts() == []  # nothing on Oct 13
    if down == "ionq":  # the clock kept running, every cycle failed
        sim.fail(503, times=10_000)
        day = LAST_SEEN
        while (day := day + dt.timedelta(hours=12)) < BACK:
            assert cycle(day).error is not None
        sim.reset()

    back = cycle(BACK)

    assert back.error is None
    assert sink.alerts() == MISSED  # every missed day, oldest first
    assert [n.finding.day for n in sink.sent] == sorted(n.finding.day for n in sink.sent)
    again = cycle(BACK + dt.timedelta(minutes=15))
    assert again.to_notify == [] and sink.alerts() == MISSED  # once each
    cycle(BACK + dt.timedelta(days=1))  # the next day examines Oct 21 only
    assert sink.alerts() == MISSED + OCT_21
    store.close()


def test_catch_up_agrees_with_a_check_every_day(sim, client):
    """The same alerts a daily check would have sent: nothing missed, nothing invented."""
    sim.now = BACK
    daily = run_backtest(
        RULES,
        UsageSource(client),
        replay_times(LAST_SEEN.date() + dt.timedelta(days=1), BACK.date(), "daily", ""),
    )
    every_day = [
        (note.finding.rule, note.finding.period, note.finding.group_name)
        for _, note in daily.entries
    ]
    assert every_day == MISSED


def test_catch_up_is_bounded_and_starts_after_the_last_good_cycle():
    today = BACK.date()
    yesterday = today - dt.timedelta(days=1)
    assert anomaly_since(BACK, None) == yesterday  # first start: no backlog of old days
    assert anomaly_since(BACK, BACK - dt.timedelta(minutes=15)) == yesterday
    assert anomaly_since(BACK, BACK + dt.timedelta(days=3)) == yesterday  # a clock set back
    assert anomaly_since(BACK, LAST_SEEN) == LAST_SEEN.date()
    long_ago = BACK - dt.timedelta(days=40)
    assert anomaly_since(BACK, long_ago) == today - dt.timedelta(days=ANOMALY_CATCHUP_DAYS)


def test_the_engine_examines_each_day_from_since_and_never_today():
    rule = RULES.anomalies[0]
    for since, first in [
        (None, yesterday := BACK.date() - dt.timedelta(days=1)),
        (BACK.date(), yesterday),  # today is not complete: never examined
        (BACK.date() - dt.timedelta(days=3), BACK.date() - dt.timedelta(days=3)),
        (BACK.date() - dt.timedelta(days=60), BACK.date() - dt.timedelta(days=7)),
    ]:
        needs = anomaly_needs(rule, BACK, since)
        assert needs.jobs is not None and needs.rate is not None
        assert (needs.jobs.start, needs.jobs.end) == (first, BACK.date())
        # The window before the first day examined is fetched too.
        assert needs.rate.start == first - dt.timedelta(days=rule.window_days)
    assert plan([], [rule], BACK) == plan([], [rule], BACK, anomalies_since=yesterday)
