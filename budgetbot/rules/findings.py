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

__all__ = ["ALL_GROUPS", "Burn", "Figure", "Finding", "FindingKind"]

ALL_GROUPS = "*"

FindingKind = Literal["spend", "forecast", "pace", "anomaly", "no_usd"]


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

    @property
    def thread_key(self) -> str:
        """Alerts about the same rule, group and period share a Slack thread."""
        return f"{self.rule}|{self.group_key}|{self.period}"

    @property
    def level_text(self) -> str:
        return f"{self.level.normalize():f}"
