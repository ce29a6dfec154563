"""When a budget's state improves within its period, say so once in the alert's thread (pure).

A level that fired is *resolved* when even the upper bound of its figure is now below it: the
budget in the file was raised, or a forecast or pace level no longer holds. A figure that is
only hidden (IonQ's top-5 lists) is never taken for an improvement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from budgetbot.render.messages import amount, figure_text, percent_text, period_words, subject
from budgetbot.rules.findings import Burn, Figure

__all__ = ["Resolution", "resolutions"]

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Resolution:
    burn: Burn
    kind: str
    level: Decimal
    text: str

    @property
    def thread_key(self) -> str:
        return f"{self.burn.rule}|{self.burn.group_key}|{self.burn.period}"

    @property
    def dedup_key(self) -> str:
        return f"{self.thread_key}|{self.kind}|resolved|{self.level.normalize():f}"


def _figure(burn: Burn, kind: str) -> Figure | None:
    if kind == "spend":
        return burn.percent
    if kind == "pace":
        return burn.pace
    if burn.forecast is None or not burn.budget:
        return None
    return Figure(
        burn.forecast.low * HUNDRED / burn.budget, burn.forecast.high * HUNDRED / burn.budget
    )


def _text(burn: Burn, kind: str, level: Decimal, now: Figure) -> str:
    who, plural = subject(burn)
    its = "their" if plural else "its"
    period = period_words(burn.period_start, burn.period_end)
    budget = amount(burn.budget or Decimal(0), burn.measure)
    mark = f"{level.normalize():f}%"
    if kind == "spend":
        return (
            f"Back under {mark}: {who} {'have' if plural else 'has'} used {percent_text(now)} of"
            f" {its} {period} budget ({figure_text(burn.value, burn.measure)} of {budget}); the"
            " budget was raised or the figures corrected."
        )
    if kind == "forecast":
        assert burn.forecast is not None
        return (
            f"Back under the {mark} forecast: {who} {'are' if plural else 'is'} now on course for"
            f" {figure_text(burn.forecast, burn.measure)} of {its} {period} budget of {budget}."
        )
    return (
        f"Back under {mark} pace: {who} {'are' if plural else 'is'} now spending at"
        f" {percent_text(now)} of the pace {its} {period} budget of {budget} allows."
    )


def resolutions(
    burns: Iterable[Burn], fired: Mapping[tuple[str, str, str, str], set[str]]
) -> list[Resolution]:
    """For each burn, each kind whose highest fired level is now certainly not reached."""
    out = []
    for burn in burns:
        if not burn.measurable:
            continue
        for kind in ("spend", "forecast", "pace"):
            levels = fired.get((burn.rule, burn.group_key, burn.period, kind))
            if not levels:
                continue
            highest = max(Decimal(level) for level in levels)
            now = _figure(burn, kind)
            if now is not None and now.high < highest:
                out.append(Resolution(burn, kind, highest, _text(burn, kind, highest, now)))
    return out
