"""The registry of budget measures: what a budget can count (pure).

A :class:`Measure` owns everything about one unit: how its figure is read from IonQ's usage
(:attr:`Measure.read`), its name, how an amount is formatted and how a figure compares with a
budget. The policy language's ``budget:`` keys, the engine and the renderers all look measures up
here, so a new measure (say *committed spend*: spend so far plus the estimated cost of queued
jobs) is one :func:`register` call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar, Final

__all__ = [
    "MEASURES",
    "US_PER_HOUR",
    "Figures",
    "Measure",
    "measure",
    "register",
    "unregister",
    "watch",
]

US_PER_HOUR: Final = Decimal(3_600_000_000)


@dataclass(frozen=True, slots=True)
class Figures:
    """Exact figures of a bucket or of a listed group within it.

    ``usd`` is None when IonQ gave no USD figure (an amount in credits with no per-unit
    breakdown); ``time_us`` and ``jobs`` are None when IonQ omitted them for a listed group.
    """

    usd: Decimal | None
    time_us: Decimal | None
    jobs: int | None

    def get(self, measure: Measure) -> Decimal | None:
        """This figure in ``measure`` (the measure knows how to read it)."""
        return measure.read(self)


@dataclass(frozen=True, eq=False)
class Measure:
    """One budget unit. Compared and hashed by identity: each is registered once."""

    key: str
    """The policy file's ``budget:`` key, e.g. ``"usd"``."""
    label: str
    """Plain name, e.g. ``"USD"`` or ``"QPU hours"``."""
    read: Callable[[Figures], Decimal | None]
    """The figure of one bucket or listed group; None when IonQ gave none."""
    prefix: str = ""
    """Written before an amount, e.g. ``"$"``."""
    suffix: str = ""
    """Written after an amount, e.g. ``" QPU h"``."""
    places: int = 2
    """Decimal places shown (amounts are rounded for display only)."""
    whole: bool = False
    """Budgets are whole numbers (jobs)."""
    ranked: bool = False
    """IonQ ranks its top-5 lists by this figure, so no unlisted group exceeds the 5th."""
    description: str = ""
    """Shown in the policy file's JSON Schema."""

    USD: ClassVar[Measure]
    QPU_HOURS: ClassVar[Measure]
    JOBS: ClassVar[Measure]

    def __str__(self) -> str:
        return self.key

    @property
    def value(self) -> str:
        """The key (as the enum this replaced spelled it)."""
        return self.key

    def format(self, amount: Decimal) -> str:
        """``$5,000.00``, ``2.50 QPU h``, ``1,000 jobs``; negative amounts keep their sign."""
        sign = "-" if amount < 0 else ""
        # Half up, as reports round, so an alert and a report never differ by a cent.
        shown = abs(amount).quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)
        return f"{sign}{self.prefix}{shown:,.{self.places}f}{self.suffix}"


def _usd(f: Figures) -> Decimal | None:
    return f.usd


def _qpu_hours(f: Figures) -> Decimal | None:
    return None if f.time_us is None else f.time_us / US_PER_HOUR


def _jobs(f: Figures) -> Decimal | None:
    return None if f.jobs is None else Decimal(f.jobs)


#: Every measure by key, in the order the policy language lists them.
MEASURES: Final[dict[str, Measure]] = {}
#: Called after each change of the registry (the policy models rebuild their ``budget:`` keys).
_WATCHERS: list[Callable[[], None]] = []


def watch(callback: Callable[[], None]) -> None:
    """Call ``callback`` whenever a measure is registered or removed."""
    _WATCHERS.append(callback)


def register(measure: Measure) -> Measure:
    """Add a measure (its key must be new); returns it."""
    if measure.key in MEASURES:
        raise ValueError(f"measure {measure.key!r} is already registered")
    MEASURES[measure.key] = measure
    for callback in _WATCHERS:
        callback()
    return measure


def unregister(key: str) -> None:
    """Remove a measure (tests register measures of their own and remove them after)."""
    del MEASURES[key]
    for callback in _WATCHERS:
        callback()


def measure(key: str) -> Measure:
    """The registered measure called ``key``; ``KeyError`` if there is none."""
    return MEASURES[key]


Measure.USD = register(
    Measure("usd", "USD", _usd, prefix="$", ranked=True, description="Spend in US dollars.")
)
Measure.QPU_HOURS = register(
    Measure("qpu_hours", "QPU hours", _qpu_hours, suffix=" QPU h", description="QPU time in hours.")
)
Measure.JOBS = register(
    Measure(
        "jobs", "jobs", _jobs, suffix=" jobs", places=0, whole=True, description="Number of jobs."
    )
)
