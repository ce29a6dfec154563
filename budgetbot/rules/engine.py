"""The rules engine: ``plan`` says which usage queries the rules need; ``evaluate`` turns the
answers into findings. Both are pure functions of their inputs and ``now``.

Queries are chosen so figures are as exact as IonQ allows: a budget period is read as the
coarsest buckets that cover exactly the period so far (one monthly bucket for a month), since
a group in a bucket's top 5 is known exactly. Rules that need the same data share one query.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from budgetbot.ionq import GroupBy, Modality, UsageQuery
from budgetbot.usage.model import ZERO, Bound, Measure, UsageSeries

from . import forecast as fc
from .findings import ALL_GROUPS, Burn, Figure, Finding, FindingKind
from .models import Anomaly, Policy
from .periods import Period, period_bounds, period_label

__all__ = [
    "ANOMALY_CATCHUP_DAYS",
    "Needs",
    "anomaly_needs",
    "anomaly_since",
    "burns",
    "evaluate",
    "plan",
    "policy_needs",
]

_PERIOD_MODALITY: dict[Period, Modality] = {
    "day": Modality.DAILY,
    "week": Modality.WEEKLY,
    "month": Modality.MONTHLY,
    "quarter": Modality.MONTHLY,
    "year": Modality.MONTHLY,
}
#: Stands for every matching group IonQ never listed: its spend hides in the remainders.
_UNSEEN = "\x00unseen"
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Needs:
    """The queries one rule needs at ``now``."""

    period: UsageQuery | None
    rate: UsageQuery | None
    #: Anomalies: the examined day's jobs (organization-wide top 5), for the message.
    jobs: UsageQuery | None = None


def _group_by(scope: str) -> GroupBy:
    # Organization totals are exact in any grouping; share the project query.
    return GroupBy.USER if scope == "user" else GroupBy.PROJECT


def policy_needs(policy: Policy, now: dt.datetime) -> Needs:
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
    return Needs(period_q, rate_q)


#: Most complete days examined for anomalies in one cycle, counting back from yesterday: days
#: missed while IonQ or the clock process was down are caught up within this bound.
ANOMALY_CATCHUP_DAYS = 7


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


def _anomaly_days(now: dt.datetime, since: dt.date | None) -> list[dt.date]:
    """The complete days to examine, oldest first: ``since`` (default yesterday) to yesterday."""
    today = now.date()
    yesterday = today - dt.timedelta(days=1)
    first = yesterday if since is None else min(since, yesterday)  # today is not complete
    first = max(first, today - dt.timedelta(days=ANOMALY_CATCHUP_DAYS))
    return [first + dt.timedelta(days=i) for i in range((today - first).days)]


def anomaly_needs(anomaly: Anomaly, now: dt.datetime, since: dt.date | None = None) -> Needs:
    """The queries of an anomaly watch examining each complete day from ``since`` (default:
    yesterday) to yesterday."""
    today = now.date()
    first = _anomaly_days(now, since)[0]
    # The days examined and the window before the first of them, all complete days.
    return Needs(
        None,
        UsageQuery(
            group_by=_group_by(anomaly.scope),
            modality=Modality.DAILY,
            start=first - dt.timedelta(days=anomaly.window_days),
            end=today,
        ),
        UsageQuery(
            group_by=GroupBy.JOB,
            modality=Modality.DAILY,
            start=first,
            end=today,
        ),
    )


def plan(
    policies: Iterable[Policy],
    anomalies: Iterable[Anomaly],
    now: dt.datetime,
    *,
    anomalies_since: dt.date | None = None,
) -> list[UsageQuery]:
    """The distinct queries the rules need, in a stable order.

    ``anomalies_since``: the first complete day anomaly watches examine (default yesterday).
    """
    queries: dict[UsageQuery, None] = {}
    needs = [policy_needs(p, now) for p in policies] + [
        anomaly_needs(a, now, anomalies_since) for a in anomalies
    ]
    for need in needs:
        for query in (need.period, need.rate, need.jobs):
            if query is not None:
                queries.setdefault(query, None)
    return list(queries)


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
    scope: str, match: Sequence[str] | None, each: bool, series: Sequence[UsageSeries]
) -> list[_Target]:
    """The targets of a rule; many rules share them, so they are kept on the first series."""
    if scope == "organization":
        return [_Target(ALL_GROUPS, "the organization", None)]
    memo_key = (
        "targets",
        scope,
        tuple(match) if match else None,
        each,
        tuple(id(s) for s in series[1:]),
    )
    kept = series[0].memo(memo_key)
    if isinstance(kept, tuple):
        return cast(list[_Target], kept[0])
    found = _find_targets(scope, match, each, series)
    # The other series are kept alive with the answer, so their ids cannot be reused.
    series[0].remember(memo_key, (found, tuple(series[1:])))
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
    series: UsageSeries, target: _Target, measure: Measure, start: dt.date, end: dt.date
) -> tuple[tuple[Bound, ...], Bound] | None:
    """A target's weekday rates and their mean; many rules share a group, so kept on the series."""
    key = ("rates", target.keys, measure, start, end)
    kept = series.memo(key)
    if kept is None:
        days = _daily(series, target, measure, start, end)
        kept = None if days is None else (rates := fc.weekday_rates(days), fc.mean_rate(rates))
        series.remember(key, kept or ())
    return cast(tuple[tuple[Bound, ...], Bound], kept) if kept else None


def _fig(bound: Bound) -> Figure:
    return Figure(bound.low, bound.high)


def _percent(bound: Bound, budget: Decimal) -> Bound:
    return Bound(bound.low * HUNDRED / budget, bound.high * HUNDRED / budget)


def _burns(
    policy: Policy,
    data: Mapping[UsageQuery, UsageSeries],
    now: dt.datetime,
    *,
    evidence_only: bool = False,
) -> list[Burn]:
    """Each target's burn. With ``evidence_only``, a single group that IonQ lists nowhere in
    the period or the rate window is skipped: its only bound is the unitemized remainder, the
    same for every such group, so it can be possibly but never certainly over a level."""
    needs = policy_needs(policy, now)
    assert needs.period is not None
    period_q, rate_q = needs.period, needs.rate
    period_series = data[period_q]
    rate_series = data[rate_q] if rate_q is not None else None
    measure = Measure(policy.budget.measure)
    budget = policy.budget.amount
    start, end = period_bounds(policy.period, now.date())
    series_for_groups = [period_series] + ([rate_series] if rate_series else [])
    ready = fc.min_elapsed_days(start, end)
    ready_now = ready is not None and fc.elapsed_days(start, now) >= ready
    share = fc.elapsed_fraction(start, end, now)
    evidence: set[str] = set()
    if evidence_only:
        evidence.update(period_series.listed_keys(measure, period_q.start, period_q.end))
        if rate_series is not None and rate_q is not None:
            evidence.update(rate_series.listed_keys(measure, rate_q.start, rate_q.end))
    common: dict[str, Any] = {
        "rule": policy.name,
        "rule_type": "policy",
        "source": policy.source,
        "scope": policy.scope,
        "period": period_label(policy.period, start),
        "period_start": start,
        "period_end": end,
        "measure": measure.value,
        "budget": budget,
        "description": policy.description,
        "channel": policy.channel,
        "mention": tuple(policy.mention),
    }
    burns = []
    for target in _targets(policy.scope, policy.match, policy.each, series_for_groups):
        single = target.keys[0] if target.keys and len(target.keys) == 1 else None
        if evidence_only and single is not None and single not in evidence:
            continue
        fields: dict[str, Any] = {
            **common,
            "group_key": target.key,
            "group_name": target.name,
            "plural": target.plural,
        }
        spend = _figure(period_series, target, measure, period_q.start, period_q.end)
        if spend is None:
            burns.append(Burn(**fields, value=Figure(low=ZERO, high=ZERO), measurable=False))
            continue
        percent = _percent(spend, budget)
        fields["value"] = _fig(spend)
        fields["percent"] = _fig(percent)
        if ready_now and share > 0:
            fields["pace"] = _fig(Bound(percent.low / share, percent.high / share))
        if rate_series is not None and ready_now and rate_q is not None:
            rated = _rates(rate_series, target, measure, rate_q.start, rate_q.end)
            if rated is not None:
                rates, mean = rated
                fields["daily_rate"] = _fig(mean)
                fields["rate_days"] = fc.RATE_DAYS
                fields["forecast"] = _fig(fc.project(spend, rates, end, now))
                fields["reaches_budget_on"] = fc.reaches_on(
                    spend.low, [r.low for r in rates], budget, end, now
                )
        if evidence_only and not _may_cross(policy, fields, budget):
            continue  # nothing to find: skip building the record on this hot path
        # Every value above is already typed: skip re-validation on this hot path.
        burns.append(Burn.model_construct(**fields))
    return burns


def burns(
    policies: Iterable[Policy], data: Mapping[UsageQuery, UsageSeries], now: dt.datetime
) -> list[Burn]:
    """Every budget's standing at ``now`` (for digests, ``/ionq-usage budgets``, App Home)."""
    return [b for policy in policies for b in _burns(policy, data, now)]


def _may_cross(policy: Policy, fields: dict[str, Any], budget: Decimal) -> bool:
    """Whether any level of the policy is reached by the upper bound of a figure."""
    checks = [(fields.get("percent"), policy.alert_at), (fields.get("pace"), policy.pace_at)]
    forecast = fields.get("forecast")
    if forecast is not None:
        checks.append((Figure(Decimal(0), forecast.high * HUNDRED / budget), policy.forecast_at))
    return any(
        figure is not None and levels and figure.high >= levels[0] for figure, levels in checks
    )


def _levels(burn: Burn, policy: Policy) -> list[Finding]:
    """The levels a burn crosses, or possibly crosses (when only its upper bound does)."""
    if not burn.measurable:
        return [Finding.model_construct(**burn.__dict__, kind="no_usd", level=ZERO, certain=True)]
    checks: list[tuple[FindingKind, Figure | None, Sequence[Decimal]]] = [
        ("spend", burn.percent, policy.alert_at),
        ("pace", burn.pace, policy.pace_at),
    ]
    if burn.forecast is not None and burn.budget:
        assert burn.budget is not None
        projected = _fig(_percent(Bound(burn.forecast.low, burn.forecast.high), burn.budget))
        checks.insert(1, ("forecast", projected, policy.forecast_at))
    found = []
    for kind, figure, levels in checks:
        if figure is None:
            continue
        for level in levels:
            if figure.high >= level:
                found.append(
                    Finding.model_construct(
                        **burn.__dict__, kind=kind, level=level, certain=figure.low >= level
                    )
                )
    return found


def _evaluate_policy(
    policy: Policy, data: Mapping[UsageQuery, UsageSeries], now: dt.datetime
) -> list[Finding]:
    burns_ = _burns(policy, data, now, evidence_only=True)
    return [f for burn in burns_ for f in _levels(burn, policy)]


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


def _evaluate_anomaly(
    anomaly: Anomaly,
    data: Mapping[UsageQuery, UsageSeries],
    now: dt.datetime,
    since: dt.date | None = None,
) -> list[Finding]:
    needs = anomaly_needs(anomaly, now, since)
    assert needs.rate is not None and needs.jobs is not None
    series = data[needs.rate]
    targets = _targets(anomaly.scope, anomaly.match, True, [series])
    findings = []
    for day in _anomaly_days(now, since):
        findings.extend(_anomalies_on(anomaly, day, targets, series, data[needs.jobs]))
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
    """Every finding of every rule at ``now``; ``data`` must hold the answers to ``plan`` (with
    the same ``anomalies_since``). Anomalies come last, oldest day first."""
    findings: list[Finding] = []
    for policy in policies:
        findings.extend(_evaluate_policy(policy, data, now))
    found: list[Finding] = []
    for anomaly in anomalies:
        found.extend(_evaluate_anomaly(anomaly, data, now, anomalies_since))
    # Stable: within a day, rules keep their file order.
    findings.extend(sorted(found, key=lambda f: f.period_start))
    return findings
