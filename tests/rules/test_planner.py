"""The query planner: each rule's period and queries derived once; the engine re-derives none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgetbot.rules import engine, periods, planner
from budgetbot.rules.models import Anomaly, Budget, Policy
from budgetbot.usage.model import UsageSeries

from .test_registry import _answer

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
POLICIES = [
    Policy(
        name=f"p{i}",
        scope="project",
        period=period,
        budget=Budget(usd=Decimal(1000)),
        forecast_at=[Decimal(100)],
    )
    for i, period in enumerate(["day", "week", "month", "quarter", "year", "month"])
]
WATCH = Anomaly(name="spike", scope="project", window="14d", factor=Decimal(3))


def test_the_plan_holds_each_rules_period_and_queries() -> None:
    planned = planner.plan_cycle(POLICIES, [WATCH], NOW)
    month = planned.policies[2]
    assert (month.start, month.end, month.label) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
        "2026-11",
    )
    assert planned.current_periods()["p1"] == "2026-W47"
    assert planned.queries == planner.plan(POLICIES, [WATCH], NOW)
    assert len(planned.queries) == len(set(planned.queries))  # shared queries asked once
    assert planned.anomalies[0].days == (dt.date(2026, 11, 19),)
    assert [p.policy.name for p in planned.only(["p3"]).policies] == ["p3"]


def test_the_engine_derives_no_period_or_query_again(monkeypatch: pytest.MonkeyPatch) -> None:
    planned = planner.plan_cycle(POLICIES, [WATCH], NOW)
    data = {q: _answer(q) for q in planned.queries}
    calls: list[str] = []

    def counted(name: str, real: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            calls.append(name)
            return real(*args, **kwargs)  # type: ignore[operator]

        return call

    for module in (planner, periods, engine):
        for name in ("period_bounds", "period_label", "policy_needs", "anomaly_needs"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, counted(name, getattr(module, name)))
    found = engine.evaluate_plan(planned, data)
    engine.burns_of(planned, data)
    assert found and calls == []


def test_no_cache_hangs_on_a_usage_series() -> None:
    assert not hasattr(UsageSeries, "memo") and not hasattr(UsageSeries, "remember")
    planned = planner.plan_cycle(POLICIES, [WATCH], NOW)
    data = {q: _answer(q) for q in planned.queries}
    first = engine.evaluate_plan(planned, data)
    assert engine.evaluate_plan(planned, data) == first
    for series in data.values():
        assert not hasattr(series, "_memo")
        # Only what the series derives from its own data when made; evaluating added nothing.
        assert set(vars(series)) == {
            "group_by",
            "modality",
            "start",
            "end",
            "buckets",
            "names",
            "reported_usd_total",
            "_groups",
            "_starts",
        }
