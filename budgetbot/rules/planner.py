"""The query planner (pure): which usage queries a cycle's rules need, derived once.

A :class:`Plan` holds, per rule, its period (bounds and label) and the queries that answer it;
the engine reads the answers through the plan and derives none of it again. Queries are chosen
so figures are as exact as IonQ allows: a budget period is read as the coarsest buckets that
cover exactly the period so far (one monthly bucket for a month), since a group in a bucket's
top 5 is known exactly. Rules that need the same data share one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from budgetbot.ionq import GroupBy, Modality, UsageQuery

from . import forecast as fc
from .models import Anomaly, Policy
from .periods import Period, period_bounds, period_label

__all__ = [
    "ANOMALY_CATCHUP_DAYS",
    "AnomalyPlan",
    "Needs",
    "Plan",
    "PolicyPlan",
    "anomaly_needs",
    "anomaly_since",
    "plan",
    "plan_cycle",
    "policy_needs",
]

_PERIOD_MODALITY: dict[Period, Modality] = {
    "day": Modality.DAILY,
    "week": Modality.WEEKLY,
    "month": Modality.MONTHLY,
    "quarter": Modality.MONTHLY,
    "year": Modality.MONTHLY,
}

#: Most complete days examined for anomalies in one cycle, counting back from yesterday: days
#: missed while IonQ or the clock process was down are caught up within this bound.
ANOMALY_CATCHUP_DAYS = 7


@dataclass(frozen=True)
class Needs:
    """The queries one rule needs at ``now``."""

    period: UsageQuery | None
    rate: UsageQuery | None
    #: Anomalies: the examined day's jobs (organization-wide top 5), for the message.
    jobs: UsageQuery | None = None


@dataclass(frozen=True)
class PolicyPlan:
    """One budget policy at ``now``: its current period and the queries that answer it."""

    policy: Policy
    start: dt.date
    end: dt.date
    #: The period as keys and fired levels name it, e.g. ``2026-11``.
    label: str
    period: UsageQuery
    #: The recent daily rate behind forecasts (None for daily budgets).
    rate: UsageQuery | None


@dataclass(frozen=True)
class AnomalyPlan:
    """One anomaly watch at ``now``: the complete days it examines and its queries."""

    anomaly: Anomaly
    days: tuple[dt.date, ...]
    #: The examined days and the baseline window before the first of them.
    history: UsageQuery
    jobs: UsageQuery


@dataclass(frozen=True)
class Plan:
    """Everything a cycle asks IonQ, and for which rule."""

    now: dt.datetime
    policies: tuple[PolicyPlan, ...]
    anomalies: tuple[AnomalyPlan, ...] = ()

    @property
    def queries(self) -> list[UsageQuery]:
        """The distinct queries, in a stable order."""
        found: dict[UsageQuery, None] = {}
        for p in self.policies:
            found.setdefault(p.period, None)
            if p.rate is not None:
                found.setdefault(p.rate, None)
        for a in self.anomalies:
            found.setdefault(a.history, None)
            found.setdefault(a.jobs, None)
        return list(found)

    @property
    def needs_queue(self) -> bool:
        """Whether a policy counts queued jobs (``committed_at``) or may act on them
        (``actions``: a proposal counts the jobs it would cancel): only then is the queue read."""
        return any(p.policy.committed_at or p.policy.actions for p in self.policies)

    def current_periods(self) -> dict[str, str]:
        """Each policy's current period label, by policy name."""
        return {p.policy.name: p.label for p in self.policies}

    def only(self, names: Iterable[str]) -> Plan:
        """The plan of the policies called ``names`` (and no anomaly watch)."""
        wanted = set(names)
        return Plan(self.now, tuple(p for p in self.policies if p.policy.name in wanted))


def _group_by(scope: str) -> GroupBy:
    # Organization totals are exact in any grouping; share the project query.
    return GroupBy.USER if scope == "user" else GroupBy.PROJECT


def _policy_plan(policy: Policy, now: dt.datetime) -> PolicyPlan:
    today = now.date()
    start, end = period_bounds(policy.period, today)
    group_by = _group_by(policy.scope)
    period_q = UsageQuery(
        group_by=group_by,
        modality=_PERIOD_MODALITY[policy.period],
        start=start,
        end=min(end, today + dt.timedelta(days=1)),
    )
    rate_q = None
    # The recent rate gives every alert its "at this pace" line, not only forecast levels.
    if policy.period != "day":
        rate_q = UsageQuery(
            group_by=group_by,
            modality=Modality.DAILY,
            start=today - dt.timedelta(days=fc.RATE_DAYS),
            end=today,
        )
    return PolicyPlan(policy, start, end, period_label(policy.period, start), period_q, rate_q)


def policy_needs(policy: Policy, now: dt.datetime) -> Needs:
    """The queries of one budget policy at ``now``."""
    found = _policy_plan(policy, now)
    return Needs(found.period, found.rate)


def anomaly_since(now: dt.datetime, last_good: dt.datetime | None) -> dt.date:
    """The first complete day to examine for anomalies at ``now``; the last is yesterday.

    Yesterday, and every day that completed since the last good cycle (``last_good``, None on
    a first start: no backlog of old days then), back to :data:`ANOMALY_CATCHUP_DAYS` days.
    Days examined before are examined again only within the day after them, as always; the
    fired levels keep each (rule, group, day) to one alert.
    """
    yesterday = now.date() - dt.timedelta(days=1)
    if last_good is None:
        return yesterday
    # The last good cycle examined the day before its own; its own day was not complete yet.
    first = min(last_good.date(), yesterday)
    return max(first, now.date() - dt.timedelta(days=ANOMALY_CATCHUP_DAYS))


def _anomaly_days(now: dt.datetime, since: dt.date | None) -> tuple[dt.date, ...]:
    """The complete days to examine, oldest first: ``since`` (default yesterday) to yesterday."""
    today = now.date()
    yesterday = today - dt.timedelta(days=1)
    first = yesterday if since is None else min(since, yesterday)  # today is not complete
    first = max(first, today - dt.timedelta(days=ANOMALY_CATCHUP_DAYS))
    return tuple(first + dt.timedelta(days=i) for i in range((today - first).days))


def _anomaly_plan(anomaly: Anomaly, now: dt.datetime, since: dt.date | None) -> AnomalyPlan:
    today = now.date()
    days = _anomaly_days(now, since)
    first = days[0]
    # The days examined and the window before the first of them, all complete days.
    history = UsageQuery(
        group_by=_group_by(anomaly.scope),
        modality=Modality.DAILY,
        start=first - dt.timedelta(days=anomaly.window_days),
        end=today,
    )
    jobs = UsageQuery(group_by=GroupBy.JOB, modality=Modality.DAILY, start=first, end=today)
    return AnomalyPlan(anomaly, days, history, jobs)


def anomaly_needs(anomaly: Anomaly, now: dt.datetime, since: dt.date | None = None) -> Needs:
    """The queries of an anomaly watch examining each complete day from ``since`` (default:
    yesterday) to yesterday."""
    found = _anomaly_plan(anomaly, now, since)
    return Needs(None, found.history, found.jobs)


def plan_cycle(
    policies: Iterable[Policy],
    anomalies: Iterable[Anomaly],
    now: dt.datetime,
    *,
    anomalies_since: dt.date | None = None,
) -> Plan:
    """The plan of every rule at ``now``.

    ``anomalies_since``: the first complete day anomaly watches examine (default yesterday).
    """
    return Plan(
        now,
        tuple(_policy_plan(p, now) for p in policies),
        tuple(_anomaly_plan(a, now, anomalies_since) for a in anomalies),
    )


def plan(
    policies: Iterable[Policy],
    anomalies: Iterable[Anomaly],
    now: dt.datetime,
    *,
    anomalies_since: dt.date | None = None,
) -> list[UsageQuery]:
    """The distinct queries the rules need, in a stable order (see :func:`plan_cycle`)."""
    return plan_cycle(policies, anomalies, now, anomalies_since=anomalies_since).queries
