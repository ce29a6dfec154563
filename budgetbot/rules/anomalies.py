"""Anomaly watches: a day far above the group's usual spend (pure)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from decimal import Decimal

from budgetbot.usage.model import Measure, UsageSeries

from .findings import Figure, Finding
from .models import Anomaly
from .planner import AnomalyPlan
from .targets import Answers, Target, daily_figures, figure_of, targets_of

__all__ = ["ANOMALY_SPREAD", "evaluate_anomaly"]


#: A day must also exceed the usual spend by this many robust standard deviations (MAD×1.4826),
#: so a group whose spend always swings needs a larger jump to count as an anomaly.
ANOMALY_SPREAD = Decimal(3)
_MAD_TO_SD = Decimal("1.4826")


def _baseline(days: list[tuple[dt.date, Decimal]], weekday: int) -> tuple[Decimal, Decimal]:
    """The usual spend of ``weekday`` and the window's robust spread.

    Usual: the median of the same weekday's days when the window has three or more, else of the
    same kind of day (workday or weekend) when it has three or more, else of all days — weekly
    rhythms make a Monday unlike a Sunday, and a median of fewer than three is no defence
    against a spike. Spread: the median absolute deviation of all days from their median.
    Medians, so earlier spikes do not raise the bar.
    """
    values = [v for _, v in days]
    same = [v for d, v in days if d.weekday() == weekday]
    kind = [v for d, v in days if (d.weekday() >= 5) == (weekday >= 5)]
    usual = Decimal(
        statistics.median(same if len(same) >= 3 else kind if len(kind) >= 3 else values)
    )
    center = Decimal(statistics.median(values))
    mad = Decimal(statistics.median(abs(v - center) for v in values))
    return usual, mad * _MAD_TO_SD


def evaluate_anomaly(answers: Answers, planned: AnomalyPlan) -> list[Finding]:
    anomaly = planned.anomaly
    series = answers.data[planned.history]
    targets = targets_of(answers, anomaly.scope, anomaly.match, True, [series])
    findings = []
    for day in planned.days:
        findings.extend(_anomalies_on(anomaly, day, targets, series, answers.data[planned.jobs]))
    return findings


def _anomalies_on(
    anomaly: Anomaly,
    day: dt.date,
    targets: Sequence[Target],
    series: UsageSeries,
    jobs: UsageSeries,
) -> list[Finding]:
    """The watch's findings about one complete ``day``, against the window before it."""
    findings = []
    for target in targets:
        value = figure_of(series, target, Measure.USD, day, day + dt.timedelta(days=1))
        if value is None or value.low < anomaly.min_usd or value.low <= 0:
            continue
        past = daily_figures(
            series, target, Measure.USD, day - dt.timedelta(days=anomaly.window_days), day
        )
        if not past:
            continue
        # Upper bounds of hidden days: a hidden figure raises the bar, never lowers it.
        usual, spread = _baseline([(d, b.high) for d, b in past], day.weekday())
        if value.low > anomaly.factor * usual and value.low > usual + ANOMALY_SPREAD * spread:
            top = tuple(
                (jobs.name(key), f.usd)
                for key, f in sorted(
                    (
                        (k, f)
                        for b in jobs.buckets
                        if b.start <= day < b.end
                        for k, f in b.listed.items()
                    ),
                    key=lambda kv: -(kv[1].usd or 0),
                )
                if f.usd is not None
            )[:5]
            findings.append(
                Finding(
                    rule=anomaly.name,
                    rule_type="anomaly",
                    source=anomaly.source,
                    kind="anomaly",
                    scope=anomaly.scope,
                    group_key=target.key,
                    group_name=target.name,
                    period=day.isoformat(),
                    period_start=day,
                    period_end=day + dt.timedelta(days=1),
                    level=anomaly.factor,
                    certain=True,
                    measure="usd",
                    value=Figure(value.low, value.high),
                    baseline=usual,
                    day=day,
                    top_jobs=top,
                    description=anomaly.description,
                    channel=anomaly.channel,
                    mention=tuple(anomaly.mention),
                )
            )
    return findings
