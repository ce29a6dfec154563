"""The weekday-aware forecast and the robust anomaly baseline, on hand-made series."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from budgetbot.ionq import UsageQuery
from budgetbot.rules import forecast as fc
from budgetbot.rules.engine import anomaly_needs, evaluate
from budgetbot.rules.models import Anomaly
from budgetbot.usage import Bound, Bucket, Figures, UsageSeries

D = Decimal
NOW = dt.datetime(2026, 11, 17, 12, tzinfo=dt.UTC)  # a Tuesday


def b(x: int | str) -> Bound:
    return Bound(D(x), D(x))


def test_weekday_rates_are_medians_robust_to_a_spike():
    start = dt.date(2026, 10, 26)  # a Monday
    days = []
    for i in range(21):
        day = start + dt.timedelta(days=i)
        usual = 100 if day.weekday() < 5 else 10
        days.append((day, b(5000 if i == 7 else usual)))  # one Monday spike
    rates = fc.weekday_rates(days)
    assert rates[0] == b(100)  # the spike does not move Monday's median
    assert rates[5] == b(10) and rates[6] == b(10)
    assert fc.mean_rate(rates) == Bound(D(520) / 7, D(520) / 7)


def test_projection_weights_each_weekday_left():
    rates = tuple(b(100) if wd < 5 else b(0) for wd in range(7))
    # Tuesday noon to Sunday night: half of Tuesday, Wed-Fri full, weekend at zero.
    end = dt.date(2026, 11, 23)
    assert fc.project(b(1000), rates, end, NOW) == b(1350)
    assert fc.reaches_on(D(1000), [r.low for r in rates], D(1200), end, NOW) == dt.date(
        2026, 11, 19
    )
    assert fc.reaches_on(D(1000), [r.low for r in rates], D(5000), end, NOW) is None
    assert fc.reaches_on(D(6000), [r.low for r in rates], D(5000), end, NOW) == NOW.date()


def _daily_series(query: UsageQuery, amounts: dict[dt.date, int]) -> UsageSeries:
    buckets = []
    day = query.start
    while day < query.end:
        a = D(amounts.get(day, 0))
        listed = {"p1": Figures(a, D(0), 1)} if a else {}
        buckets.append(Bucket(day, day + dt.timedelta(days=1), Figures(a, D(0), 1), listed))
        day += dt.timedelta(days=1)
    return UsageSeries("project", "daily", query.start, query.end, tuple(buckets), {"p1": "P1"})


def _jobs(query: UsageQuery) -> UsageSeries:
    listed = {"j1": Figures(D(700), D(0), 1), "j2": Figures(D(90), D(0), 1)}
    bucket = Bucket(query.start, query.end, Figures(D(790), D(0), 2), listed)
    return UsageSeries(
        "job", "daily", query.start, query.end, (bucket,), {"j1": "Big VQE #1", "j2": "Small #2"}
    )


def _anomaly_findings(amounts: dict[dt.date, int]):
    rule = Anomaly(name="spike", scope="project", window="14d", factor=D(3), min_usd=D(50))
    needs = anomaly_needs(rule, NOW)
    assert needs.rate is not None and needs.jobs is not None
    data = {needs.rate: _daily_series(needs.rate, amounts), needs.jobs: _jobs(needs.jobs)}
    return evaluate([], [rule], data, NOW)


def _rhythm(spike: int | None = None, earlier_spike: bool = False) -> dict[dt.date, int]:
    yesterday = NOW.date() - dt.timedelta(days=1)  # a Monday
    out = {}
    for i in range(1, 16):
        day = yesterday - dt.timedelta(days=i)
        out[day] = 200 if day.weekday() < 5 else 20
    if earlier_spike:
        out[yesterday - dt.timedelta(days=7)] = 3000
    out[yesterday] = spike if spike is not None else 200
    return out


def test_a_spike_is_found_with_the_days_top_jobs():
    [finding] = _anomaly_findings(_rhythm(spike=900))
    assert finding.kind == "anomaly" and finding.baseline == 200
    assert finding.top_jobs == (("Big VQE #1", D(700)), ("Small #2", D(90)))


def test_a_normal_monday_after_a_quiet_weekend_is_not_an_anomaly():
    # Against all days the median is pulled down by weekends; by weekday it is not.
    assert _anomaly_findings(_rhythm(spike=450)) == []


def test_an_earlier_spike_does_not_hide_the_next_one():
    [finding] = _anomaly_findings(_rhythm(spike=900, earlier_spike=True))
    assert finding.baseline == 200
