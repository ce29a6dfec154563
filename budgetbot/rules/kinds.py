"""The table of finding kinds: what each kind compares and how it reads (pure).

The engine finds a policy kind where :attr:`Kind.figure` of a burn reaches one of the policy's
:attr:`Kind.levels`; the resolver says a kind is resolved when that figure falls back under the
highest fired level; the renderers fill in :attr:`Kind.headline` and :attr:`Kind.resolved`, with
the words of :mod:`budgetbot.render.messages` (``{who}``, ``{has}``, ``{its}``, ``{period}``,
``{value}``, ``{budget}``, ``{percent}``, ``{forecast}``, ``{pace}``, ``{now}``, ``{mark}`` …).
A new kind (as *committed spend*, levels ``committed_at``) is one :func:`register` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Literal, Protocol

if TYPE_CHECKING:
    from .findings import Figure
    from .models import Policy

__all__ = ["KINDS", "Kind", "Standing", "kind", "register", "unregister"]


class Standing(Protocol):
    """The percent figures a kind may compare: a :class:`~budgetbot.rules.findings.Burn` has
    them, and so has the engine's lighter record it checks before building a burn."""

    @property
    def percent(self) -> Figure | None: ...
    @property
    def pace(self) -> Figure | None: ...
    @property
    def forecast_percent(self) -> Figure | None: ...
    @property
    def committed_percent(self) -> Figure | None: ...


@dataclass(frozen=True)
class Kind:
    """One kind of finding."""

    key: str
    title: str
    """The alert's header, e.g. ``"Budget alert"``."""
    headline: str
    """The alert's one line, a template of the renderers' words."""
    levels: Callable[[Policy], Sequence[Decimal]] | None = None
    """A policy's levels of this kind (percent); None: not a policy level (anomalies)."""
    figure: Callable[[Standing], Figure | None] | None = None
    """The burn's percent figure compared with the levels."""
    resolved: str | None = None
    """The thread's notice once the figure is back under the highest fired level."""
    facts: Literal["budget", "day", "none"] = "budget"
    """Which figures the alert lists: the budget's, the anomalous day's, or none."""
    tag: str = "ALERT"
    """How the terminal marks it."""

    @property
    def resolvable(self) -> bool:
        return self.resolved is not None and self.figure is not None


KINDS: Final[dict[str, Kind]] = {}


def register(new: Kind) -> Kind:
    """Add a kind (its key must be new); returns it."""
    if new.key in KINDS:
        raise ValueError(f"finding kind {new.key!r} is already registered")
    KINDS[new.key] = new
    return new


def unregister(key: str) -> None:
    """Remove a kind (for tests that register their own)."""
    del KINDS[key]


def kind(key: str) -> Kind:
    """The kind called ``key``; ``KeyError`` if there is none."""
    return KINDS[key]


register(
    Kind(
        "spend",
        "Budget alert",
        "{who} {has} used {percent} of {its} {period} budget ({value} of {budget})",
        levels=lambda p: p.alert_at,
        figure=lambda b: b.percent,
        resolved=(
            "Back under {mark}: {who} {has} used {now} of {its} {period} budget ({value} of"
            " {budget}); the budget was raised or the figures corrected."
        ),
    )
)
register(
    Kind(
        "forecast",
        "Budget forecast",
        "{who} {is} on course for {forecast} by {last_day}, {level}% or more of {its} {period}"
        " budget of {budget}",
        levels=lambda p: p.forecast_at,
        figure=lambda b: b.forecast_percent,
        resolved=(
            "Back under the {mark} forecast: {who} {is} now on course for {forecast} of {its}"
            " {period} budget of {budget}."
        ),
    )
)
register(
    Kind(
        "pace",
        "Spending pace",
        "{who} {is} spending at {pace} of the pace {its} {period} budget of {budget} allows",
        levels=lambda p: p.pace_at,
        figure=lambda b: b.pace,
        resolved=(
            "Back under {mark} pace: {who} {is} now spending at {now} of the pace {its} {period}"
            " budget of {budget} allows."
        ),
    )
)
register(
    Kind(
        "anomaly",
        "Spend anomaly",
        "{who} spent {value} on {day}, over {level}× the usual {baseline} for that weekday",
        facts="day",
        tag="ANOMALY",
    )
)
register(
    Kind(
        "no_usd",
        "Budget check not possible",
        "{who}: IonQ reports {period} usage in credits without a USD breakdown, so the USD"
        " budget cannot be checked",
        facts="none",
    )
)
register(
    Kind(
        "committed",
        "Committed spend",
        "{who} {has} committed {committed_percent} of {its} {period} budget: {value} {spent}"
        " + {queued} ({committed} of {budget})",
        levels=lambda p: p.committed_at,
        # None where the queue was not read, is not visible or has no estimate: never fires,
        # and never reads as "back under".
        figure=lambda b: b.committed_percent,
        resolved=(
            "Back under {mark} committed: {who} {has} now committed {now} of {its} {period}"
            " budget: {value} {spent} + {queued} ({committed} of {budget})."
        ),
    )
)
