"""UTC calendar periods, with hypothesis for the laws every period obeys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budgetbot.rules import (
    PERIODS,
    Period,
    elapsed_share,
    next_period,
    period_bounds,
    period_days,
    period_label,
    previous_period,
)

days = st.dates(min_value=date(1970, 1, 1), max_value=date(2200, 12, 31))
periods = st.sampled_from(PERIODS)


@given(periods, days)
def test_day_is_inside_its_period(period: Period, day: date) -> None:
    start, end = period_bounds(period, day)
    assert start <= day < end


@given(periods, days)
def test_periods_tile_the_calendar(period: Period, day: date) -> None:
    start, end = period_bounds(period, day)
    assert period_bounds(period, end)[0] == end  # the end of one is the start of the next
    assert period_bounds(period, end - timedelta(days=1)) == (start, end)
    assert period_bounds(period, start) == (start, end)
    assert previous_period(period, day)[1] == start
    assert next_period(period, day)[0] == end
    assert period_days(period, day) == (end - start).days


@given(days)
def test_weeks_start_monday(day: date) -> None:
    start, end = period_bounds("week", day)
    assert start.weekday() == 0
    assert (end - start).days == 7
    assert period_label("week", start) == "{}-W{:02d}".format(*day.isocalendar()[:2])


@given(days)
def test_months_quarters_years(day: date) -> None:
    month_start, month_end = period_bounds("month", day)
    assert month_start.day == 1 and month_end.day == 1
    assert 28 <= (month_end - month_start).days <= 31

    start, end = period_bounds("quarter", day)
    assert start.day == 1 and start.month in (1, 4, 7, 10)
    months = (end.year - start.year) * 12 + end.month - start.month
    assert months == 3
    assert 90 <= (end - start).days <= 92

    assert period_bounds("year", day) == (date(day.year, 1, 1), date(day.year + 1, 1, 1))
    assert period_bounds("day", day) == (day, day + timedelta(days=1))


def test_week_spanning_new_year_2025_2026() -> None:
    for day in [date(2025, 12, 29), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 4)]:
        assert period_bounds("week", day) == (date(2025, 12, 29), date(2026, 1, 5))
    assert period_label("week", date(2025, 12, 29)) == "2026-W01"
    assert previous_period("week", date(2026, 1, 1)) == (date(2025, 12, 22), date(2025, 12, 29))


def test_examples() -> None:
    assert period_bounds("month", date(2026, 2, 14)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert period_bounds("month", date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert period_bounds("quarter", date(2026, 11, 20)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert previous_period("quarter", date(2026, 1, 5)) == (date(2025, 10, 1), date(2026, 1, 1))
    assert previous_period("month", date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 1))
    assert period_days("month", date(2028, 2, 10)) == 29


@pytest.mark.parametrize(
    ("period", "start", "label"),
    [
        ("day", date(2026, 11, 20), "2026-11-20"),
        ("week", date(2026, 11, 16), "2026-W47"),
        ("month", date(2026, 11, 1), "2026-11"),
        ("quarter", date(2026, 10, 1), "2026-Q4"),
        ("year", date(2026, 1, 1), "2026"),
    ],
)
def test_labels(period: Period, start: date, label: str) -> None:
    assert period_label(period, start) == label


def test_elapsed_share() -> None:
    assert elapsed_share("day", datetime(2026, 11, 20, 12, tzinfo=UTC)) == 0.5
    assert elapsed_share("month", datetime(2026, 11, 1, tzinfo=UTC)) == 0.0
    assert elapsed_share("month", datetime(2026, 11, 16, tzinfo=UTC)) == 0.5
    assert elapsed_share("week", datetime(2026, 11, 19, 12)) == 0.5  # naive means UTC
    # 01:00 in Berlin on Nov 21 is 00:00 UTC on Nov 21: the day period is the UTC one.
    berlin = timezone(timedelta(hours=1))
    assert elapsed_share("day", datetime(2026, 11, 21, 1, tzinfo=berlin)) == 0.0


@given(periods, st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)))
def test_elapsed_share_is_a_share(period: Period, now: datetime) -> None:
    assert 0.0 <= elapsed_share(period, now.replace(tzinfo=UTC)) <= 1.0
