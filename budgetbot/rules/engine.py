"""The rules engine: ``evaluate`` turns the answers to a :class:`~budgetbot.rules.planner.Plan`
into findings, ``burns`` into each budget's standing. Pure functions of the plan and the answers:
the period, its bounds and the queries of each rule come from the plan, derived once.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from budgetbot.ionq import UsageQuery
from budgetbot.usage.measures import MEASURES
from budgetbot.usage.model import ZERO, Bound, Measure, UsageSeries

from . import forecast as fc
from .findings import ALL_GROUPS, Burn, Figure, Finding, percent_of
from .kinds import KINDS
from .models import Anomaly, Policy
from .planner import (
    ANOMALY_CATCHUP_DAYS,
    AnomalyPlan,
    Needs,
    Plan,
    PolicyPlan,
    anomaly_needs,
    anomaly_since,
    plan,
    plan_cycle,
    policy_needs,
)

__all__ = [
    "ANOMALY_CATCHUP_DAYS",
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

#: Stands for every matching group IonQ never listed: its spend hides in the remainders.
_UNSEEN = "\x00unseen"


@dataclass
class _Answers:
    """The answers to one plan, with what the engine derives from them while it evaluates.

    Many rules share a group's targets and rates; they are kept here, for one evaluation, and
    not on the (immutable, cached) series.
    """

    data: Mapping[UsageQuery, UsageSeries]
    targets: dict[object, list[_Target]] = field(default_factory=dict)
    rates: dict[object, tuple[tuple[Bound, ...], Bound] | None] = field(default_factory=dict)


# --- groups -----------------------------------------------------------------------------------


def _matches(patterns: Sequence[str] | None, key: str, name: str) -> bool:
    if patterns is None:
        return True
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(key, p) for p in patterns)


@dataclass(frozen=True)
class _Target:
    """One budget's subject: a single group, or several counted together."""

    key: str
    name: str
    keys: tuple[str, ...] | None  # None: the whole organization (exact totals)
    plural: bool = False


def _targets(
    answers: _Answers,
    scope: str,
    match: Sequence[str] | None,
    each: bool,
    series: Sequence[UsageSeries],
) -> list[_Target]:
    """The targets of a rule; many rules share them, so they are kept with the answers."""
    if scope == "organization":
        return [_Target(ALL_GROUPS, "the organization", None)]
    # The series live as long as the answers, so their ids are not reused meanwhile.
    key = (scope, tuple(match) if match else None, each, tuple(id(s) for s in series))
    found = answers.targets.get(key)
    if found is None:
        found = answers.targets[key] = _find_targets(scope, match, each, series)
    return found


def _find_targets(
    scope: str, match: Sequence[str] | None, each: bool, series: Sequence[UsageSeries]
) -> list[_Target]:
    names: dict[str, str] = {}
    for s in series:
        for key, name in s.group_names().items():
            names.setdefault(key, name)
    keys = [k for k, n in names.items() if _matches(match, k, n)]
    if each:
        return [_Target(k, names[k], (k,)) for k in sorted(keys, key=lambda k: names[k])]
    plural = f"all {scope}s"
    if match is None:
        return [_Target(ALL_GROUPS, plural, None, True)]  # every group together: the org total
    label = ", ".join(match)
    # A group IonQ never listed may match a glob, or be the one an exact name means: its spend
    # hides in the remainders, so it is bounded, not zero.
    unseen = any(
        any(ch in p for ch in "*?[") or not any(p in (k, names[k]) for k in keys) for p in match
    )
    if not unseen and len(keys) == 1:
        return [_Target(ALL_GROUPS, names[keys[0]], tuple(keys))]
    return [_Target(ALL_GROUPS, label, (*keys, _UNSEEN) if unseen else tuple(keys), True)]


def _figure(
    series: UsageSeries, target: _Target, measure: Measure, start: dt.date, end: dt.date
) -> Bound | None:
    if target.keys is None:
        total = series.total(measure, start, end)
        return None if total is None else Bound(total, total)
    return series.figure(target.keys, measure, start, end)


# --- policies ---------------------------------------------------------------------------------


def _daily(
    series: UsageSeries, target: _Target, measure: Measure, start: dt.date, end: dt.date
) -> list[tuple[dt.date, Bound]] | None:
    """The target's figure on each day of ``[start, end)`` of a daily series."""
    out = []
    day = start
    while day < end:
        nxt = day + dt.timedelta(days=1)
        value = _figure(series, target, measure, day, nxt)
        if value is None:
            return None
        out.append((day, value))
        day = nxt
    return out


def _rates(
    answers: _Answers,
    series: UsageSeries,
    target: _Target,
    measure: Measure,
    start: dt.date,
    end: dt.date,
) -> tuple[tuple[Bound, ...], Bound] | None:
    """A target's weekday rates and their mean; many rules share a group, so kept."""
    key = (id(series), target.keys, measure.key, start, end)
    if key not in answers.rates:
        days = _daily(series, target, measure, start, end)
        rates = None if days is None else fc.weekday_rates(days)
        answers.rates[key] = None if rates is None else (rates, fc.mean_rate(rates))
    return answers.rates[key]


def _fig(bound: Bound) -> Figure:
    return Figure(bound.low, bound.high)


def _burns(
    answers: _Answers, planned: PolicyPlan, now: dt.datetime, *, evidence_only: bool = False
) -> list[Burn]:
    """Each target's burn. With ``evidence_only``, a single group that IonQ lists nowhere in
    the period or the rate window is skipped: its only bound is the unitemized remainder, the
    same for every such group, so it can be possibly but never certainly over a level."""
    policy = planned.policy
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
    targets = _targets(answers, policy.scope, policy.match, policy.each, series_for_groups)
    out = []
    for target in targets:
        single = target.keys[0] if target.keys and len(target.keys) == 1 else None
        if evidence_only and single is not None and single not in evidence:
            continue
        spend = _figure(period_series, target, measure, period_q.start, period_q.end)
        value = Figure(ZERO, ZERO) if spend is None else _fig(spend)
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
        )
        if evidence_only and burn.measurable and not _may_cross(policy, burn):
            continue  # nothing to find
        out.append(burn)
    return out


def burns_of(planned: Plan, data: Mapping[UsageQuery, UsageSeries]) -> list[Burn]:
    """Every planned budget's standing (for digests, ``/ionq-usage budgets``, App Home)."""
    answers = _Answers(data)
    return [b for p in planned.policies for b in _burns(answers, p, planned.now)]


def burns(
    policies: Iterable[Policy], data: Mapping[UsageQuery, UsageSeries], now: dt.datetime
) -> list[Burn]:
    """Every budget's standing at ``now`` (see :func:`burns_of`)."""
    return burns_of(plan_cycle(policies, (), now), data)


def _may_cross(policy: Policy, burn: Burn) -> bool:
    """Whether any level of the policy is reached by the upper bound of a figure."""
    for found in KINDS.values():
        if found.levels is None or found.figure is None:
            continue
        levels = found.levels(policy)
        figure = found.figure(burn) if levels else None
        if figure is not None and figure.high >= levels[0]:
            return True
    return False


def _levels(burn: Burn, policy: Policy) -> list[Finding]:
    """The levels a burn crosses, or possibly crosses (when only its upper bound does)."""
    if not burn.measurable:
        return [Finding.about(burn, "no_usd", ZERO, certain=True)]
    found = []
    for kind in KINDS.values():
        if kind.levels is None or kind.figure is None:
            continue
        figure = kind.figure(burn)
        if figure is None:
            continue
        for level in kind.levels(policy):
            if figure.high >= level:
                found.append(Finding.about(burn, kind.key, level, certain=figure.low >= level))
    return found


# --- anomalies --------------------------------------------------------------------------------


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


def _evaluate_anomaly(answers: _Answers, planned: AnomalyPlan) -> list[Finding]:
    anomaly = planned.anomaly
    series = answers.data[planned.history]
    targets = _targets(answers, anomaly.scope, anomaly.match, True, [series])
    findings = []
    for day in planned.days:
        findings.extend(_anomalies_on(anomaly, day, targets, series, answers.data[planned.jobs]))
    return findings


def _anomalies_on(
    anomaly: Anomaly,
    day: dt.date,
    targets: Sequence[_Target],
    series: UsageSeries,
    jobs: UsageSeries,
) -> list[Finding]:
    """The watch's findings about one complete ``day``, against the window before it."""
    findings = []
    for target in targets:
        value = _figure(series, target, Measure.USD, day, day + dt.timedelta(days=1))
        if value is None or value.low < anomaly.min_usd or value.low <= 0:
            continue
        past = _daily(
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
                    value=_fig(value),
                    baseline=usual,
                    day=day,
                    top_jobs=top,
                    description=anomaly.description,
                    channel=anomaly.channel,
                    mention=tuple(anomaly.mention),
                )
            )
    return findings


def evaluate(
    policies: Iterable[Policy],
    anomalies: Iterable[Anomaly],
    data: Mapping[UsageQuery, UsageSeries],
    now: dt.datetime,
    *,
    anomalies_since: dt.date | None = None,
) -> list[Finding]:
    """Every finding of every rule at ``now`` (see :func:`evaluate_plan`)."""
    planned = plan_cycle(policies, anomalies, now, anomalies_since=anomalies_since)
    return evaluate_plan(planned, data)


def evaluate_plan(planned: Plan, data: Mapping[UsageQuery, UsageSeries]) -> list[Finding]:
    """Every finding of every planned rule; ``data`` holds the answers to ``planned.queries``.
    Anomalies come last, oldest day first."""
    answers = _Answers(data)
    findings: list[Finding] = []
    for p in planned.policies:
        burns_ = _burns(answers, p, planned.now, evidence_only=True)
        findings.extend(f for burn in burns_ for f in _levels(burn, p.policy))
    found: list[Finding] = []
    for a in planned.anomalies:
        found.extend(_evaluate_anomaly(answers, a))
    # Stable: within a day, rules keep their file order.
    findings.extend(sorted(found, key=lambda f: f.period_start))
    return findings
