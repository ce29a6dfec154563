"""Pace and projection of spend at the period's end (pure).

Method (also in the README): the forecast is what was used so far in the period plus, for each
day left in it, the usual spend of that weekday (the rest of today counted as a fraction of
today's weekday). The usual spend of a weekday is the median of that weekday over the last
``RATE_DAYS`` complete UTC days (three samples each): weekday-aware because teams work in a
weekly rhythm, a median so one spike does not inflate the month. The current day is partial and
never counts as a full day. No forecast and no pace are made until ``min_elapsed_days`` complete
days of the period have passed, or for ``day`` periods at all (daily data cannot see within a
day).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import statistics
from collections.abc import Sequence
from decimal import Decimal

from budgetbot.usage.model import Bound

__all__ = [
    "MIN_ELAPSED_SHARE",
    "RATE_DAYS",
    "elapsed_days",
    "elapsed_fraction",
    "mean_rate",
    "min_elapsed_days",
    "project",
    "reaches_on",
    "remaining_days",
    "weekday_rates",
]

RATE_DAYS = 21
#: Share of the period that must have passed (in complete days, at least 2) before forecasting.
MIN_ELAPSED_SHARE = 0.15

_MICROS_PER_DAY = Decimal(86_400_000_000)


def _days(span: dt.timedelta) -> Decimal:
    """A time span in days, exactly (whole microseconds, no float on the way)."""
    return Decimal(span // dt.timedelta(microseconds=1)) / _MICROS_PER_DAY


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def min_elapsed_days(period_start: dt.date, period_end: dt.date) -> int | None:
    """Complete days needed before a forecast means something; None: never (day periods)."""
    days = (period_end - period_start).days
    if days <= 1:
        return None
    return max(2, math.ceil(days * MIN_ELAPSED_SHARE))


def elapsed_fraction(period_start: dt.date, period_end: dt.date, now: dt.datetime) -> Decimal:
    """The share of ``[period_start, period_end)`` passed at ``now``, exactly, 0 to 1."""
    total = _days(_midnight(period_end) - _midnight(period_start))
    passed = _days(now - _midnight(period_start))
    return min(Decimal(1), max(Decimal(0), passed / total))


def elapsed_days(period_start: dt.date, now: dt.datetime) -> int:
    """Complete UTC days of the period before ``now``'s day."""
    return max(0, (now.date() - period_start).days)


def remaining_days(period_end: dt.date, now: dt.datetime) -> Decimal:
    """Time left until the period's end, in days (the rest of today counts as a fraction)."""
    return max(Decimal(0), _days(_midnight(period_end) - now))


def weekday_rates(days: Sequence[tuple[dt.date, Bound]]) -> tuple[Bound, ...]:
    """The usual spend of each weekday (Monday first): the median of its samples in ``days``.

    Lower and upper bounds are taken separately; a weekday without samples gets the median of
    all days.
    """
    by_day: list[list[Bound]] = [[] for _ in range(7)]
    for day, value in days:
        by_day[day.weekday()].append(value)

    def median(values: Sequence[Bound]) -> Bound:
        if not values:
            return Bound(Decimal(0), Decimal(0))
        return Bound(
            Decimal(statistics.median(v.low for v in values)),
            Decimal(statistics.median(v.high for v in values)),
        )

    overall = median([v for _, v in days])
    return tuple(median(samples) if samples else overall for samples in by_day)


def mean_rate(rates: Sequence[Bound]) -> Bound:
    """The average day of a week of weekday rates (for "$X a day" in messages)."""
    n = Decimal(len(rates))
    return Bound(
        sum((r.low for r in rates), Decimal(0)) / n, sum((r.high for r in rates), Decimal(0)) / n
    )


@functools.lru_cache(maxsize=64)
def _days_ahead(period_end: dt.date, now: dt.datetime) -> tuple[tuple[dt.date, Decimal], ...]:
    """Each day left in the period with the share of it still to come (today: a fraction)."""
    today = now.date()
    if today >= period_end:
        return ()
    left_today = _days(_midnight(today + dt.timedelta(days=1)) - now)
    out = [(today, max(Decimal(0), left_today))]
    day = today + dt.timedelta(days=1)
    while day < period_end:
        out.append((day, Decimal(1)))
        day += dt.timedelta(days=1)
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _weekday_weights(period_end: dt.date, now: dt.datetime) -> tuple[Decimal, ...]:
    """How much of each weekday (Monday first) is left in the period."""
    weights = [Decimal(0)] * 7
    for day, share in _days_ahead(period_end, now):
        weights[day.weekday()] += share
    return tuple(weights)


def project(spend: Bound, rates: Sequence[Bound], period_end: dt.date, now: dt.datetime) -> Bound:
    """Spend at the period's end if each weekday goes as usual; never below spend so far."""
    weights = _weekday_weights(period_end, now)
    low = spend.low + sum((w * r.low for w, r in zip(weights, rates, strict=True)), Decimal(0))
    high = spend.high + sum((w * r.high for w, r in zip(weights, rates, strict=True)), Decimal(0))
    return Bound(low, high)


def reaches_on(
    spend: Decimal,
    rates: Sequence[Decimal],
    target: Decimal,
    period_end: dt.date,
    now: dt.datetime,
) -> dt.date | None:
    """The UTC day on which ``spend`` growing by the weekday ``rates`` reaches ``target``.

    None when it does not within the period; today when it already has.
    """
    if spend >= target:
        return now.date()
    weights = _weekday_weights(period_end, now)
    if spend + sum((w * r for w, r in zip(weights, rates, strict=True)), Decimal(0)) < target:
        return None  # not within the period: no need to walk the days
    for day, share in _days_ahead(period_end, now):
        spend += rates[day.weekday()] * share
        if spend >= target:
            return day
    return None
