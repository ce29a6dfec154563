"""Replay the engine over history with throwaway state: what would have fired, and when."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from croniter import croniter

from budgetbot.render.messages import alert_headline
from budgetbot.render.text import safe_terminal
from budgetbot.rules.engine import burns_of, plan_cycle
from budgetbot.rules.findings import Burn
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.rules.periods import Period, period_bounds
from budgetbot.store.db import Store
from budgetbot.usage.source import UsageSource

from .notifiers import CHAT, Note, Outgoing, Receipt
from .pipeline import run_check

__all__ = [
    "ForecastScore",
    "Timeline",
    "replay_times",
    "run_backtest",
    "score_forecasts",
    "score_lines",
]

_END_OF_DAY = dt.time(23, 59, 59, 999999)


def replay_times(start: dt.date, end: dt.date, step: str, cron: str) -> list[dt.datetime]:
    """The instants to evaluate at: each cron time (UTC), or each day's last instant."""
    if end < start:
        raise ValueError("--to is before --from")
    if step == "daily":
        days = (end - start).days + 1
        return [
            dt.datetime.combine(start + dt.timedelta(days=i), _END_OF_DAY, tzinfo=dt.UTC)
            for i in range(days)
        ]
    if step != "check":
        raise ValueError(f"--step must be 'check' or 'daily', not {step!r}")
    first = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    last = dt.datetime.combine(end, _END_OF_DAY, tzinfo=dt.UTC)
    times = []
    it = croniter(cron, first)
    while (t := it.get_next(dt.datetime)) <= last:
        times.append(t)
    return times


@dataclass
class Timeline:
    entries: list[tuple[dt.datetime, Outgoing]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for when, note in self.entries:
            f = note.finding
            thread = "  ↳" if note.thread else ""
            out.append(
                f"{when:%Y-%m-%d %H:%M}{thread} [{f.rule} {f.kind} {f.level_text}]"
                f" {safe_terminal(alert_headline(f))}"
            )
        return out


class _Collect:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    destination = CHAT

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        if isinstance(note, Outgoing):
            self.sent.append(note)
        return Receipt(note.channel or "backtest", f"backtest-{note.id}")


def run_backtest(rules: PolicySet, source: UsageSource, times: list[dt.datetime]) -> Timeline:
    """Evaluate at each instant with a fresh in-memory store; collect what would be sent."""
    store = Store.memory()
    sink = _Collect()
    timeline = Timeline()
    for when in times:
        before = len(sink.sent)
        run_check(rules, source, store, [sink], when, metrics=False)
        timeline.entries.extend((when, note) for note in sink.sent[before:])
    store.close()
    return timeline


# --- forecast scoring ---------------------------------------------------------------------------

#: Points in a period at which the forecast is scored.
SCORE_POINTS = (Decimal("0.25"), Decimal("0.5"), Decimal("0.75"))


@dataclass
class ForecastScore:
    """Absolute percentage errors of forecasts made at each point of a rule's periods."""

    rule: str
    period: str
    errors: dict[Decimal, list[Decimal]] = field(default_factory=dict)
    #: Forecasts not scored because a figure was only bounded, or none was made yet.
    skipped: dict[Decimal, int] = field(default_factory=dict)
    periods: int = 0

    def mape(self, point: Decimal) -> Decimal | None:
        """Mean absolute percentage error at ``point``, or None without a scored forecast."""
        errors = self.errors.get(point) or []
        return sum(errors, Decimal(0)) / len(errors) if errors else None


def _complete_periods(
    period: Period, start: dt.date, end: dt.date
) -> list[tuple[dt.date, dt.date]]:
    """Every UTC period lying wholly within ``[start, end]`` (both days included)."""
    out = []
    first, last = period_bounds(period, start)
    if first < start:
        first, last = period_bounds(period, last)
    while last - dt.timedelta(days=1) <= end:
        out.append((first, last))
        first, last = period_bounds(period, last)
    return out


def _burns_at(policy: Policy, source: UsageSource, now: dt.datetime) -> dict[str, Burn]:
    planned = plan_cycle([policy], [], now)
    data = {q: source.series(q) for q in planned.queries}
    return {b.group_key: b for b in burns_of(planned, data)}


def score_forecasts(
    rules: PolicySet, source: UsageSource, start: dt.date, end: dt.date
) -> list[ForecastScore]:
    """For each complete period in ``[start, end]``, the forecast made at the end of the day
    at which 25%, 50% and 75% of the period had passed, against what was finally used."""
    scores = []
    for policy in rules.policies:
        if policy.period == "day":
            continue  # no forecast is made for day periods
        score = ForecastScore(policy.name, policy.period)
        for first, last in _complete_periods(policy.period, start, end):
            score.periods += 1
            final = _burns_at(
                policy,
                source,
                dt.datetime.combine(last - dt.timedelta(days=1), _END_OF_DAY, dt.UTC),
            )
            days = (last - first).days
            for point in SCORE_POINTS:
                day = first + dt.timedelta(days=max(0, math.ceil(days * point) - 1))
                made = _burns_at(policy, source, dt.datetime.combine(day, _END_OF_DAY, dt.UTC))
                for key, burn in made.items():
                    actual = final.get(key)
                    fc = burn.forecast
                    if (
                        fc is None
                        or actual is None
                        or not fc.exact
                        or not actual.value.exact
                        or actual.value.low <= 0
                    ):
                        score.skipped[point] = score.skipped.get(point, 0) + 1
                        continue
                    error = abs(fc.low - actual.value.low) / actual.value.low * 100
                    score.errors.setdefault(point, []).append(error)
        scores.append(score)
    return scores


def score_lines(scores: list[ForecastScore]) -> list[str]:
    """The forecast scores as a small table for the terminal."""

    def cell(value: Decimal | None) -> str:
        return "n/a" if value is None else f"{value:.1f}%"

    lines = [
        "Forecast error (mean absolute percentage error of the forecast at 25/50/75% of each"
        " complete period, against what was finally used):",
        f"  {'rule':<28}{'periods':>8}{'@25%':>9}{'@50%':>9}{'@75%':>9}",
    ]
    for s in scores:
        lines.append(
            f"  {s.rule:<28}{s.periods:>8}" + "".join(f"{cell(s.mape(p)):>9}" for p in SCORE_POINTS)
        )
    if any(s.skipped for s in scores):
        lines.append(
            "  (forecasts whose figures IonQ's top-5 lists leave bounded, or made before enough"
            " of the period had passed, are not scored)"
        )
    return lines
