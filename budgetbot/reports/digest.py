"""Digests: the last complete period's spend, its change, the top groups, every budget's burn
and a per-day trend (pure: takes usage series and returns data).

Top groups come from one bucket covering exactly the period, where IonQ's top 5 are exact;
further groups come from the daily series and are bounded — the two bounds are intersected, as
both contain the truth.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from budgetbot.ionq import GroupBy, Modality, UsageQuery
from budgetbot.rules.findings import Burn, Figure
from budgetbot.rules.periods import Period, period_bounds, previous_period
from budgetbot.usage.model import Bound, Measure, UsageSeries

__all__ = ["DigestReport", "TopEntry", "build_digest", "digest_period", "digest_queries"]

_COARSE: dict[str, Modality] = {
    "day": Modality.DAILY,
    "week": Modality.WEEKLY,
    "month": Modality.MONTHLY,
}


class TopEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    value: Figure


class DigestReport(BaseModel):
    """Everything a digest message shows; serializable so it can wait in the outbox."""

    model_config = ConfigDict(frozen=True)

    name: str
    period: str
    start: dt.date
    end: dt.date
    spend: Decimal | None
    previous_spend: Decimal | None
    qpu_hours: Decimal | None
    previous_qpu_hours: Decimal | None
    jobs: Decimal | None
    previous_jobs: Decimal | None
    top_projects: list[TopEntry]
    top_users: list[TopEntry]
    top_jobs: list[TopEntry]
    daily: list[tuple[dt.date, Decimal | None]]
    #: Per day, the projects IonQ listed that day with their exact USD (for a stacked chart).
    daily_groups: list[list[tuple[str, Decimal]]] = []
    burns: list[Burn]
    top: int
    channel: str | None = None
    source: str = ""
    timezone: str = "UTC"

    @staticmethod
    def change(now: Decimal | None, before: Decimal | None) -> Decimal | None:
        """Percent change against the previous period; None when it cannot be said."""
        if now is None or before is None or before == 0:
            return None
        return (now - before) * 100 / before


def digest_period(period: Period, scheduled_for: dt.datetime) -> tuple[dt.date, dt.date]:
    """The last complete UTC period before the digest's scheduled time."""
    return previous_period(period, scheduled_for.astimezone(dt.UTC).date())


def digest_queries(period: Period, scheduled_for: dt.datetime) -> dict[str, UsageQuery]:
    """The queries a digest needs, by role."""
    start, end = digest_period(period, scheduled_for)
    prev_start, prev_end = period_bounds(period, start - dt.timedelta(days=1))
    coarse = _COARSE[period]

    def q(group_by: GroupBy, modality: Modality, s: dt.date, e: dt.date) -> UsageQuery:
        return UsageQuery(group_by=group_by, modality=modality, start=s, end=e)

    return {
        "projects": q(GroupBy.PROJECT, coarse, start, end),
        "users": q(GroupBy.USER, coarse, start, end),
        "jobs": q(GroupBy.JOB, coarse, start, end),
        "previous": q(GroupBy.PROJECT, coarse, prev_start, prev_end),
        "projects_daily": q(GroupBy.PROJECT, Modality.DAILY, start, end),
        "users_daily": q(GroupBy.USER, Modality.DAILY, start, end),
    }


def _intersect(a: Bound | None, b: Bound | None) -> Bound | None:
    if a is None or b is None:
        return a or b
    return Bound(max(a.low, b.low), min(a.high, b.high))


def _top(coarse: UsageSeries, daily: UsageSeries | None, top: int) -> list[TopEntry]:
    keys = dict.fromkeys(coarse.groups())
    if daily is not None:
        keys.update(dict.fromkeys(daily.groups()))
    entries = []
    for key in keys:
        value = _intersect(
            coarse.figure([key], Measure.USD),
            daily.figure([key], Measure.USD) if daily is not None else None,
        )
        if value is None or value.high == 0:
            continue
        name = coarse.names.get(key) or (daily.name(key) if daily else key)
        entries.append(TopEntry(key=key, name=name, value=Figure(low=value.low, high=value.high)))
    entries.sort(key=lambda e: (-e.value.low, -e.value.high, e.name))
    return entries[:top]


def _listed(series: UsageSeries, day: dt.date) -> list[tuple[str, Decimal]]:
    out = []
    for bucket in series.within(day, day + dt.timedelta(days=1)):
        for key, figures in bucket.listed.items():
            if figures.usd is not None:
                out.append((series.name(key), figures.usd))
    return out


def build_digest(
    name: str,
    period: Period,
    scheduled_for: dt.datetime,
    data: dict[str, UsageSeries],
    burns: list[Burn],
    *,
    top: int = 10,
    channel: str | None = None,
    source: str = "",
    timezone: str = "UTC",
) -> DigestReport:
    """Build a digest from the answers to ``digest_queries``."""
    start, end = digest_period(period, scheduled_for)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days)]
    projects, previous = data["projects"], data["previous"]
    daily = data["projects_daily"]
    return DigestReport(
        name=name,
        period=period,
        start=start,
        end=end,
        spend=projects.total(Measure.USD),
        previous_spend=previous.total(Measure.USD),
        qpu_hours=projects.total(Measure.QPU_HOURS),
        previous_qpu_hours=previous.total(Measure.QPU_HOURS),
        jobs=projects.total(Measure.JOBS),
        previous_jobs=previous.total(Measure.JOBS),
        top_projects=_top(projects, daily, top),
        top_users=_top(data["users"], data["users_daily"], top),
        top_jobs=_top(data["jobs"], None, top),
        daily=[(day, daily.total(Measure.USD, day, day + dt.timedelta(days=1))) for day in days],
        daily_groups=[_listed(daily, day) for day in days],
        burns=burns,
        top=top,
        channel=channel,
        source=source,
        timezone=timezone,
    )
