"""UTC calendar periods: day, ISO week (Monday first), month, quarter, year.

Periods are UTC because IonQ's usage buckets are UTC days (DESIGN §4). Every function here is pure:
``now`` and ``day`` are parameters, never read from a clock. A period is a half-open range of days
``[start, end)``, the same convention as the usage API's ``start_date``/``end_date``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal, get_args

__all__ = [
    "PERIODS",
    "Period",
    "elapsed_share",
    "next_period",
    "period_bounds",
    "period_days",
    "period_label",
    "previous_period",
]

Period = Literal["day", "week", "month", "quarter", "year"]
"""A budget period; all are UTC calendar periods."""

PERIODS: Final[tuple[Period, ...]] = get_args(Period)


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def period_bounds(period: Period, day: date) -> tuple[date, date]:
    """The period containing ``day``: ``(start, end)``, start inclusive, end exclusive."""
    if isinstance(day, datetime):  # a datetime is a date too; keep only its calendar day
        day = day.date()
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        return start, _add_months(start, 1)
    if period == "quarter":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, _add_months(start, 3)
    if period == "year":
        return date(day.year, 1, 1), date(day.year + 1, 1, 1)
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def previous_period(period: Period, day: date) -> tuple[date, date]:
    """The period just before the one containing ``day``."""
    start, _ = period_bounds(period, day)
    return period_bounds(period, start - timedelta(days=1))


def next_period(period: Period, day: date) -> tuple[date, date]:
    """The period just after the one containing ``day``."""
    _, end = period_bounds(period, day)
    return period_bounds(period, end)


def period_days(period: Period, day: date) -> int:
    """How many days the period containing ``day`` has."""
    start, end = period_bounds(period, day)
    return (end - start).days


def period_label(period: Period, start: date) -> str:
    """A short, sortable label of the period containing ``start``.

    ``2026-11-20`` (day), ``2026-W47`` (ISO week, ISO year), ``2026-11`` (month), ``2026-Q4``,
    ``2026`` (year).
    """
    if period == "day":
        return start.isoformat()
    if period == "week":
        iso_year, iso_week, _ = start.isocalendar()
        return f"{iso_year:04d}-W{iso_week:02d}"
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if period == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if period == "year":
        return f"{start.year:04d}"
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def elapsed_share(period: Period, now: datetime) -> float:
    """How much of the period containing ``now`` (in UTC) has passed, from 0.0 to 1.0.

    A naive ``now`` is taken to be UTC. The share counts the partial current day by the clock.
    """
    utc_now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    start, end = period_bounds(period, utc_now.date())
    start_at = datetime.combine(start, time(), tzinfo=UTC)
    end_at = datetime.combine(end, time(), tzinfo=UTC)
    share = (utc_now - start_at) / (end_at - start_at)
    return min(1.0, max(0.0, share))
