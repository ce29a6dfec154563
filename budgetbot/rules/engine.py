"""The rules engine: ``evaluate`` turns the answers to a :class:`~budgetbot.rules.planner.Plan`
into findings, ``burns`` into each budget's standing. Pure functions of the plan and the answers:
the period, its bounds and the queries of each rule come from the plan, derived once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from budgetbot.ionq import UsageQuery
from budgetbot.queue.model import QueueSnapshot
from budgetbot.usage.measures import MEASURES
from budgetbot.usage.model import ZERO, Bound, Measure, UsageSeries

from . import forecast as fc
from .anomalies import ANOMALY_SPREAD, evaluate_anomaly
from .findings import Burn, Figure, Finding, QueueStanding, percent_of
from .kinds import KINDS
from .models import Anomaly, Policy
from .planner import (
    ANOMALY_CATCHUP_DAYS,
    Needs,
    Plan,
    PolicyPlan,
    anomaly_needs,
    anomaly_since,
    plan,
    plan_cycle,
    policy_needs,
)
from .queued import QueueIndex
from .targets import Answers, Target, daily_figures, figure_of, targets_of

__all__ = [
    "ANOMALY_CATCHUP_DAYS",
    "ANOMALY_SPREAD",
    "Needs",
    "anomaly_needs",
    "anomaly_since",
    "burns",
    "burns_of",
    "evaluate",
    "evaluate_plan",
    "plan",
    "plan_cycle",
    "policy_needs",
]


def _rates(
    answers: Answers,
    series: UsageSeries,
    target: Target,
    measure: Measure,
    start: dt.date,
    end: dt.date,
) -> tuple[tuple[Bound, ...], Bound] | None:
    """A target's weekday rates and their mean; many rules share a group, so kept."""
    key = (id(series), target.keys, measure.key, start, end)
    if key not in answers.rates:
        days = daily_figures(series, target, measure, start, end)
        rates = None if days is None else fc.weekday_rates(days)
        answers.rates[key] = None if rates is None else (rates, fc.mean_rate(rates))
    return answers.rates[key]


def _fig(bound: Bound) -> Figure:
    return Figure(bound.low, bound.high)


def _burns(
    answers: Answers,
    planned: PolicyPlan,
    now: dt.datetime,
    *,
    evidence_only: bool = False,
    queue: QueueIndex | None = None,
    also: Collection[str] = (),
) -> list[Burn]:
    """Each target's burn. With ``evidence_only``, a single group that IonQ lists nowhere in
    the period or the rate window, and that has no counted queue, is skipped: its only bound
    is the unitemized remainder, the same for every such group, so it can be possibly but never
    certainly over a level.

    ``queue``: the cycle's queue, read only for a policy with ``committed_at``; ``also``: its
    groups to consider even where neither usage nor the queue lists them now."""
    policy = planned.policy
    if not policy.committed_at:
        queue = None
    period_q, rate_q = planned.period, planned.rate
    period_series = answers.data[period_q]
    rate_series = answers.data[rate_q] if rate_q is not None else None
    measure = MEASURES[policy.budget.measure]
    budget = policy.budget.amount
    start, end = planned.start, planned.end
    series_for_groups = [period_series] + ([rate_series] if rate_series else [])
    ready = fc.min_elapsed_days(start, end)
    ready_now = ready is not None and fc.elapsed_days(start, now) >= ready
    share = fc.elapsed_fraction(start, end, now)
    evidence: set[str] = set()
    if evidence_only:
        evidence.update(period_series.listed_keys(measure, period_q.start, period_q.end))
        if rate_series is not None and rate_q is not None:
            evidence.update(rate_series.listed_keys(measure, rate_q.start, rate_q.end))
    targets = targets_of(answers, policy.scope, policy.match, policy.each, series_for_groups)
    if queue is not None and policy.each:
        targets = [*targets, *queue.extra_targets(policy.scope, policy.match, targets, also)]
    # Each kind's figure and the policy's lowest level of it: a burn below all finds nothing.
    lowest = [
        (k.figure, levels[0])
        for k in KINDS.values()
        if k.figure is not None and k.levels is not None and (levels := k.levels(policy))
    ]
    out = []
    for target in targets:
        single = target.keys[0] if target.keys and len(target.keys) == 1 else None
        unlisted = evidence_only and single is not None and single not in evidence
        if unlisted and (queue is None or not queue.has_jobs(policy.scope, single or "")):
            continue
        standing = None
        if queue is not None:
            standing = queue.standing(policy.scope, policy.match, target, measure)
            if unlisted and not _queued(standing):
                continue
        spend = figure_of(period_series, target, measure, period_q.start, period_q.end)
        value = Figure(ZERO, ZERO) if spend is None else _fig(spend)
        if unlisted and (spend is None or not _commits(value, standing, policy)):
            continue  # here for its queue only, which takes it to no committed level
        percent = pace = forecast = daily_rate = None
        rate_days = reaches = None
        if spend is not None:
            percent = percent_of(value, budget)
            if ready_now and share > 0:
                pace = Figure(percent.low / share, percent.high / share)
            if rate_series is not None and ready_now and rate_q is not None:
                rated = _rates(answers, rate_series, target, measure, rate_q.start, rate_q.end)
                if rated is not None:
                    rates, mean = rated
                    daily_rate, rate_days = _fig(mean), fc.RATE_DAYS
                    forecast = _fig(fc.project(spend, rates, end, now))
                    reaches = fc.reaches_on(spend.low, [r.low for r in rates], budget, end, now)
        if evidence_only and spend is not None:
            figures = _Standing(percent, pace, forecast, budget, value, standing)
            if not any((f := fig(figures)) and f.high >= first for fig, first in lowest):
                continue  # reaches no level, even at its upper bound: skip building the record
        # Every value above is already typed: skip re-validation on this hot path.
        burn = Burn.model_construct(
            rule=policy.name,
            rule_type="policy",
            source=policy.source,
            scope=policy.scope,
            group_key=target.key,
            group_name=target.name,
            plural=target.plural,
            period=planned.label,
            period_start=start,
            period_end=end,
            measure=measure.key,
            budget=budget,
            value=value,
            forecast=forecast,
            percent=percent,
            pace=pace,
            reaches_budget_on=reaches,
            daily_rate=daily_rate,
            rate_days=rate_days,
            description=policy.description,
            channel=policy.channel,
            mention=tuple(policy.mention),
            measurable=spend is not None,
            queue=standing,
        )
        out.append(burn)
    return out


def _queued(standing: QueueStanding | None) -> bool:
    """Whether a queue adds a known, non-zero amount (then committed may certainly cross)."""
    return standing is not None and bool(standing.amount)


def _commits(value: Figure, standing: QueueStanding | None, policy: Policy) -> bool:
    """Whether spend ``value`` plus the queue may reach the policy's lowest committed level."""
    if standing is None or standing.amount is None or not policy.committed_at:
        return False
    most = value.high + standing.amount
    return percent_of(Figure(most, most), policy.budget.amount).high >= policy.committed_at[0]


def _index(
    planned: Plan, queue: QueueSnapshot | None, data: Mapping[UsageQuery, UsageSeries]
) -> QueueIndex | None:
    """The queue indexed once per evaluation, and only when a policy reads it. Submitters and
    projects are named as this cycle's usage answers name them, else as stored names do."""
    if queue is None or not planned.needs_queue:
        return None
    names = dict(queue.names)
    for series in data.values():
        names.update(series.group_names())
    return QueueIndex.of(queue, names)


def burns_of(
    planned: Plan,
    data: Mapping[UsageQuery, UsageSeries],
    queue: QueueSnapshot | None = None,
    *,
    also: Mapping[str, Collection[str]] | None = None,
) -> list[Burn]:
    """Every planned budget's standing (for digests, ``/ionq-usage budgets``, App Home).

    ``queue``: the queue now; burns of policies with ``committed_at`` then carry their
    :class:`~budgetbot.rules.findings.QueueStanding` (None: the queue was not read).
    ``also``: by policy name, groups of an ``each`` policy with ``committed_at`` to give a
    burn even where neither usage nor the queue lists them now (an alerted group whose queued
    jobs were all cancelled, so its "back under" can be said)."""
    answers = Answers(data)
    index = _index(planned, queue, data)
    extra = also or {}
    return [
        b
        for p in planned.policies
        for b in _burns(answers, p, planned.now, queue=index, also=extra.get(p.policy.name, ()))
    ]


def burns(
    policies: Iterable[Policy],
    data: Mapping[UsageQuery, UsageSeries],
    now: dt.datetime,
    queue: QueueSnapshot | None = None,
) -> list[Burn]:
    """Every budget's standing at ``now`` (see :func:`burns_of`)."""
    return burns_of(plan_cycle(policies, (), now), data, queue)


@dataclass(frozen=True, slots=True)
class _Standing:
    """A burn's percent figures, checked against the levels before the burn is built."""

    percent: Figure | None
    pace: Figure | None
    forecast: Figure | None
    budget: Decimal
    value: Figure
    queue: QueueStanding | None

    @property
    def forecast_percent(self) -> Figure | None:
        return None if self.forecast is None else percent_of(self.forecast, self.budget)

    @property
    def committed_percent(self) -> Figure | None:
        if self.queue is None or self.queue.amount is None:
            return None
        q = self.queue.amount
        return percent_of(Figure(self.value.low + q, self.value.high + q), self.budget)


def _levels(burn: Burn, policy: Policy) -> list[Finding]:
    """The levels a burn crosses, or possibly crosses (when only its upper bound does)."""
    if not burn.measurable:
        return [Finding.about(burn, "no_usd", ZERO, certain=True)]
    found = []
    for kind in KINDS.values():
        if kind.levels is None or kind.figure is None:
            continue
        levels = kind.levels(policy)
        figure = kind.figure(burn) if levels else None
        if figure is None:
            continue
        for level in levels:
            if figure.high >= level:
                found.append(Finding.about(burn, kind.key, level, certain=figure.low >= level))
    return found


def evaluate(
    policies: Iterable[Policy],
    anomalies: Iterable[Anomaly],
    data: Mapping[UsageQuery, UsageSeries],
    now: dt.datetime,
    *,
    anomalies_since: dt.date | None = None,
    queue: QueueSnapshot | None = None,
) -> list[Finding]:
    """Every finding of every rule at ``now`` (see :func:`evaluate_plan`)."""
    planned = plan_cycle(policies, anomalies, now, anomalies_since=anomalies_since)
    return evaluate_plan(planned, data, queue)


def evaluate_plan(
    planned: Plan, data: Mapping[UsageQuery, UsageSeries], queue: QueueSnapshot | None = None
) -> list[Finding]:
    """Every finding of every planned rule; ``data`` holds the answers to ``planned.queries``.
    Anomalies come last, oldest day first.

    ``queue``: the queue now, for policies with ``committed_at``. Without it (not read, IonQ
    not answering) no committed finding is made; nor where a queue is not visible or has no
    estimate."""
    answers = Answers(data)
    index = _index(planned, queue, data)
    findings: list[Finding] = []
    for p in planned.policies:
        burns_ = _burns(answers, p, planned.now, evidence_only=True, queue=index)
        findings.extend(f for burn in burns_ for f in _levels(burn, p.policy))
    found: list[Finding] = []
    for a in planned.anomalies:
        found.extend(evaluate_anomaly(answers, a))
    # Stable: within a day, rules keep their file order.
    findings.extend(sorted(found, key=lambda f: f.period_start))
    return findings
