"""What the engine finds: plain, serializable data (pure).

A finding is about one rule, one group (or the rule's combined groups, key ``*``) and one period.
``certain`` is False when IonQ's top-5 lists hide part of the figure and only its upper bound
crosses the level: such a finding is shown in reports and ``check`` output, never presented as a
breach.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ALL_GROUPS",
    "Burn",
    "Figure",
    "Finding",
    "FindingKind",
    "QueueStanding",
    "QueuedLine",
    "alert_key",
    "in_thread",
    "level_text",
    "percent_of",
    "resolved_key",
    "thread_key",
]

ALL_GROUPS = "*"
HUNDRED = Decimal(100)

#: A key of :data:`budgetbot.rules.kinds.KINDS`: spend, forecast, pace, anomaly, no_usd, ….
FindingKind = str


# The keys are stored (outbox, fired levels, Slack metadata): their format is written here only.


def level_text(level: Decimal) -> str:
    """A level as keys and messages show it: ``80``, ``1.5``."""
    return f"{level.normalize():f}"


def thread_key(rule: str, group_key: str, period: str) -> str:
    """Alerts about the same rule, group and period share a Slack thread."""
    return f"{rule}|{group_key}|{period}"


def alert_key(thread: str, kind: str, level: Decimal | str) -> str:
    """The outbox (dedup) key of the alert of one kind and level in a thread."""
    shown = level if isinstance(level, str) else level_text(level)
    return f"{thread}|{kind}|{shown}"


def in_thread(key: str, thread: str) -> bool:
    """Whether the outbox key ``key`` belongs to an alert or notice of ``thread``."""
    return key.startswith(f"{thread}|")


def resolved_key(thread: str, kind: str, level: Decimal) -> str:
    """The outbox key of the notice that a kind's level is resolved in a thread."""
    return f"{thread}|{kind}|resolved|{level_text(level)}"


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure that is exact (``low == high``) or bounded.

    A plain dataclass (pydantic validates and serializes it inside the models below): the
    engine makes hundreds of thousands of them.
    """

    low: Decimal
    high: Decimal

    @property
    def exact(self) -> bool:
        return self.low == self.high


def percent_of(value: Figure, budget: Decimal) -> Figure:
    """``value`` as percent of ``budget``, bound for bound (the one place it is computed)."""
    # Multiply first: 240 of 300 is exactly 80%, where 240 x (100/300) is not.
    return Figure(value.low * HUNDRED / budget, value.high * HUNDRED / budget)


@dataclass(frozen=True, slots=True)
class QueuedLine:
    """One queued job as a message lists it."""

    label: str
    """The job's name, else its id."""
    submitter: str
    """The submitter's name where IonQ gave one, else the id."""
    amount: Decimal | None
    """Its estimate in the budget's measure; None where unknown."""
    status: str = "submitted"


@dataclass(frozen=True, slots=True)
class QueueStanding:
    """A budget's queue: what is queued or running now, in the budget's measure.

    ``state`` is ``counted`` (``amount`` is exact), ``not_visible`` (no key sees the whole queue:
    never shown as zero) or ``no_estimate`` (IonQ gave credits, or no predicted time, for some
    job: the amount is unknown).
    """

    state: Literal["counted", "not_visible", "no_estimate"]
    amount: Decimal | None
    jobs: int
    #: The largest queued jobs, largest first.
    largest: tuple[QueuedLine, ...] = ()


class Burn(BaseModel):
    """Where one budget stands in its current period: used so far, pace and projection."""

    model_config = ConfigDict(frozen=True)

    rule: str
    rule_type: Literal["policy", "anomaly"] = "policy"
    source: str = ""
    scope: str
    group_key: str
    group_name: str
    #: Several groups counted together ("Projects A, B have used …").
    plural: bool = False
    period: str
    period_start: dt.date
    period_end: dt.date
    measure: str
    budget: Decimal | None = None
    #: Used so far in the period (or, for anomalies, on the day); None: no USD figure exists.
    value: Figure
    #: Projected at the period's end.
    forecast: Figure | None = None
    #: Percent of the budget used, as a bound (low..high).
    percent: Figure | None = None
    #: Percent of the pro-rated budget (budget x elapsed share of the period).
    pace: Figure | None = None
    #: The day the projection reaches the budget, if it does within the period.
    reaches_budget_on: dt.date | None = None
    #: The daily rate behind the forecast, and the days it was measured over.
    daily_rate: Figure | None = None
    rate_days: int | None = None
    description: str | None = None
    channel: str | None = None
    mention: tuple[str, ...] = ()
    #: False when IonQ gave no USD figure for a USD budget (credits without a breakdown).
    measurable: bool = True
    #: The group's queue (committed spend), for policies with ``committed_at``; None: not read.
    queue: QueueStanding | None = None

    @property
    def thread_key(self) -> str:
        """Alerts about the same rule, group and period share a Slack thread."""
        return thread_key(self.rule, self.group_key, self.period)

    @property
    def forecast_percent(self) -> Figure | None:
        """The projection as percent of the budget (None without either)."""
        if self.forecast is None or not self.budget:
            return None
        return percent_of(self.forecast, self.budget)

    @property
    def committed(self) -> Figure | None:
        """Spend so far plus the queue's estimate; None where the queue is not counted."""
        if self.queue is None or self.queue.amount is None or not self.measurable:
            return None
        q = self.queue.amount
        return Figure(self.value.low + q, self.value.high + q)

    @property
    def committed_percent(self) -> Figure | None:
        """The committed figure as percent of the budget."""
        committed = self.committed
        if committed is None or not self.budget:
            return None
        return percent_of(committed, self.budget)


class Finding(Burn):
    """One thing the engine found about one rule, group and period."""

    kind: FindingKind
    #: Percent of the budget (spend, forecast, pace) or the anomaly factor.
    level: Decimal
    certain: bool
    #: Anomalies: the baseline median and the day examined.
    baseline: Decimal | None = None
    day: dt.date | None = None
    #: Anomalies: the day's top jobs across the organization, (name, USD).
    top_jobs: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def about(cls, burn: Burn, kind: FindingKind, level: Decimal, certain: bool) -> Finding:
        """A policy finding: ``burn`` reaches (or, uncertain, may reach) ``level`` of ``kind``.

        Every field is already typed: no re-validation on this hot path.
        """
        return cls.model_construct(
            rule=burn.rule,
            rule_type=burn.rule_type,
            source=burn.source,
            scope=burn.scope,
            group_key=burn.group_key,
            group_name=burn.group_name,
            plural=burn.plural,
            period=burn.period,
            period_start=burn.period_start,
            period_end=burn.period_end,
            measure=burn.measure,
            budget=burn.budget,
            value=burn.value,
            forecast=burn.forecast,
            percent=burn.percent,
            pace=burn.pace,
            reaches_budget_on=burn.reaches_budget_on,
            daily_rate=burn.daily_rate,
            rate_days=burn.rate_days,
            description=burn.description,
            channel=burn.channel,
            mention=burn.mention,
            measurable=burn.measurable,
            queue=burn.queue,
            kind=kind,
            level=level,
            certain=certain,
        )

    @property
    def level_text(self) -> str:
        return level_text(self.level)

    @property
    def dedup_key(self) -> str:
        """The alert's unique key in the outbox: one per thread, kind and level."""
        return alert_key(self.thread_key, self.kind, self.level)
