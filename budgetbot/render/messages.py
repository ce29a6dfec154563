"""The words of an alert, shared by the terminal and Slack (pure; no escaping here)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from budgetbot.rules.findings import Figure, Finding
from budgetbot.rules.models import MEASURES

__all__ = ["alert_headline", "alert_lines", "amount", "figure_text", "percent_text"]


def amount(value: Decimal, measure: str) -> str:
    return MEASURES[measure].format(value)


def figure_text(value: Figure, measure: str) -> str:
    """``$4,100.00``, ``at least $4,100.00`` or ``between $4,100.00 and $4,400.00``."""
    if value.exact:
        return amount(value.low, measure)
    if value.low == 0:
        return f"at most {amount(value.high, measure)}"
    return f"between {amount(value.low, measure)} and {amount(value.high, measure)}"


def percent_text(value: Figure) -> str:
    def pct(v: Decimal) -> str:
        return f"{v.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}%"

    if value.exact:
        return pct(value.low)
    return f"at least {pct(value.low)}"


def _day(day: dt.date) -> str:
    return day.strftime("%b %d").replace(" 0", " ")


def alert_headline(f: Finding) -> str:
    """One line, the notification text mobile clients show."""
    who = f.group_name
    if f.kind == "anomaly":
        assert f.baseline is not None
        return (
            f"{who} spent {figure_text(f.value, 'usd')} on {f.period}, over {f.level_text}× its"
            f" usual {amount(f.baseline, 'usd')} a day"
        )
    if f.kind == "no_usd":
        return (
            f"{who}: IonQ reports {f.period} usage in credits without a USD breakdown, so the"
            f" USD budget cannot be checked"
        )
    budget = amount(f.budget or Decimal(0), f.measure)
    if f.kind == "spend":
        assert f.percent is not None
        return (
            f"{who} has used {percent_text(f.percent)} of its {f.period} budget"
            f" ({figure_text(f.value, f.measure)} of {budget})"
        )
    if f.kind == "forecast":
        assert f.forecast is not None
        return (
            f"{who} is on course for {figure_text(f.forecast, f.measure)} by"
            f" {_day(f.period_end - dt.timedelta(days=1))}, {f.level_text}% or more of its"
            f" {f.period} budget of {budget}"
        )
    assert f.pace is not None
    return (
        f"{who} is spending at {percent_text(f.pace)} of the pace its {f.period} budget of"
        f" {budget} allows"
    )


def alert_lines(f: Finding) -> list[str]:
    """Context under the headline: forecast, method, and where the rule is defined."""
    lines = []
    if f.kind in ("spend", "forecast", "pace"):
        if f.forecast is not None and f.daily_rate is not None:
            last_day = _day(f.period_end - dt.timedelta(days=1))
            line = (
                f"At this pace ({figure_text(f.daily_rate, f.measure)} a day over the last"
                f" {f.rate_days} full days): {figure_text(f.forecast, f.measure)} by {last_day}"
            )
            not_yet = f.percent is not None and f.percent.low < 100
            if f.reaches_budget_on is not None and not_yet:
                line += f"; it reaches 100% on {_day(f.reaches_budget_on)}"
            lines.append(line)
        else:
            lines.append("No forecast yet: too little of the period has passed.")
        if not f.value.exact:
            lines.append(
                "Part of this figure is hidden by IonQ's top-5 lists; the lower bound is shown."
            )
    if f.description:
        lines.append(f.description)
    lines.append(f"Rule {f.rule} ({f.source or 'no file'}), period {f.period} (UTC)")
    return lines
