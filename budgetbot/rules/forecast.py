"""Pace and projection of spend at the period's end (pure).

Method (also in the README): the forecast is what was used so far in the period plus the recent
daily rate times the time left in the period. The recent rate is the mean of the last
``RATE_DAYS`` complete UTC days (the current day is partial and never counts as a full day). No
forecast and no pace are made until ``min_elapsed_days`` complete days of the period have passed,
or for ``day`` periods at all (daily data cannot see within a day).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from budgetbot.usage.model import Bound

__all__ = [
    "MIN_ELAPSED_SHARE",
    "RATE_DAYS",
    "elapsed_days",
    "min_elapsed_days",
    "project",
    "reaches_on",
    "remaining_days",
]

RATE_DAYS = 7
#: Share of the period that must have passed (in complete days, at least 2) before forecasting.
MIN_ELAPSED_SHARE = 0.15

_DAY = Decimal(86400)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def min_elapsed_days(period_start: dt.date, period_end: dt.date) -> int | None:
    """Complete days needed before a forecast means something; None: never (day periods)."""
    days = (period_end - period_start).days
    if days <= 1:
        return None
    return max(2, math.ceil(days * MIN_ELAPSED_SHARE))


def elapsed_days(period_start: dt.date, now: dt.datetime) -> int:
    """Complete UTC days of the period before ``now``'s day."""
    return max(0, (now.date() - period_start).days)


def remaining_days(period_end: dt.date, now: dt.datetime) -> Decimal:
    """Time left until the period's end, in days (the rest of today counts as a fraction)."""
    seconds = Decimal((_midnight(period_end) - now).total_seconds())
    return max(Decimal(0), seconds / _DAY)


def project(spend: Bound, rate: Bound, period_end: dt.date, now: dt.datetime) -> Bound:
    """Spend at the period's end if the recent daily rate holds; never below spend so far."""
    left = remaining_days(period_end, now)
    return Bound(spend.low + rate.low * left, spend.high + rate.high * left)


def reaches_on(
    spend: Decimal, rate: Decimal, target: Decimal, period_end: dt.date, now: dt.datetime
) -> dt.date | None:
    """The UTC day on which ``spend`` growing at ``rate`` per day reaches ``target``.

    None when it does not within the period; today when it already has.
    """
    if spend >= target:
        return now.date()
    if rate <= 0:
        return None
    when = now + dt.timedelta(seconds=float((target - spend) / rate * _DAY))
    return when.date() if when < _midnight(period_end) else None
