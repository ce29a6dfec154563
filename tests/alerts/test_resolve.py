"""Resolved notices: a fired level whose figure is now certainly below it, said once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from budgetbot.alerts.resolve import resolutions
from budgetbot.rules.findings import Burn, Figure

D = Decimal


def burn(percent: Figure, *, forecast: Figure | None = None, budget: str = "50000") -> Burn:
    return Burn(
        rule="chem",
        scope="project",
        group_key="p1",
        group_name="Quantum Chem",
        period="2026-11",
        period_start=dt.date(2026, 11, 1),
        period_end=dt.date(2026, 12, 1),
        measure="usd",
        budget=D(budget),
        value=Figure(percent.low * D(budget) / 100, percent.high * D(budget) / 100),
        percent=percent,
        forecast=forecast,
    )


FIRED = {("chem", "p1", "2026-11", "spend"): {"50", "80"}}


def test_a_raised_budget_resolves_the_highest_level_once():
    [r] = resolutions([burn(Figure(D(60), D(60)))], FIRED)
    assert r.kind == "spend" and r.level == D(80)
    assert r.dedup_key == "chem|p1|2026-11|spend|resolved|80"
    assert r.text.startswith("Back under 80%: Quantum Chem has used 60% of its November budget")


def test_still_over_or_only_hidden_is_not_resolved():
    assert resolutions([burn(Figure(D(85), D(85)))], FIRED) == []
    # The lower bound fell below 80 but the figure may still be above: not an improvement.
    assert resolutions([burn(Figure(D(10), D(90)))], FIRED) == []


def test_a_forecast_that_no_longer_holds():
    fired = {("chem", "p1", "2026-11", "forecast"): {"100"}}
    b = burn(Figure(D(60), D(60)), forecast=Figure(D(45000), D(45000)))
    [r] = resolutions([b], fired)
    assert r.kind == "forecast" and "on course for $45,000.00" in r.text
    assert (
        resolutions([burn(Figure(D(60), D(60)), forecast=Figure(D(52000), D(52000)))], fired) == []
    )
