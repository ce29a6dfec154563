"""Usage as budgetbot reasons about it: per-group figures per time bucket, exact or bounded.

IonQ lists only the top 5 groups of each bucket (DESIGN §2), so a group's figure is exact only
where it is listed. Elsewhere the figure is a ``Bound``: at least what was listed, at most what the
bucket's remainder (and, for money, the 5th-largest listed amount) leaves room for. Bucket totals
are always exact. Pure data: no I/O, no clock.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from .measures import MEASURES, US_PER_HOUR, Figures, Measure

__all__ = [
    "US_PER_HOUR",
    "ZERO",
    "Bound",
    "Bucket",
    "Figures",
    "Measure",
    "UsageSeries",
]

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Bound:
    """A figure known exactly (``low == high``) or only to lie within ``[low, high]``."""

    low: Decimal
    high: Decimal

    @classmethod
    def exact_value(cls, value: Decimal) -> Bound:
        return cls(value, value)

    @property
    def exact(self) -> bool:
        return self.low == self.high

    def __add__(self, other: Bound) -> Bound:
        return Bound(self.low + other.low, self.high + other.high)

    def scale(self, factor: Decimal) -> Bound:
        return Bound(self.low * factor, self.high * factor)

    def contains(self, value: Decimal) -> bool:
        return self.low <= value <= self.high


ZERO_BOUND = Bound(ZERO, ZERO)


_N = TypeVar("_N", Decimal, int)


def _less(total: _N | None, parts: Iterable[_N | None]) -> _N | None:
    """``total`` less the known ``parts`` (None: no total)."""
    if total is None:
        return None
    for part in parts:
        if part is not None:
            total -= part
    return total


@dataclass(frozen=True)
class Bucket:
    """One IonQ time bucket ``[start, end)`` with exact totals and its listed (top-5) groups.

    ``ranked_by_usd``: IonQ ranked the listed groups by a USD amount, so no unlisted group
    spent more than the smallest listed one (when five are listed).
    """

    start: dt.date
    end: dt.date
    totals: Figures
    listed: Mapping[str, Figures]
    ranked_by_usd: bool = True
    _caps: dict[Measure, Decimal | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once from the bucket's own data, for every measure known when it is made.
        caps = {m: self._cap(m) for m in MEASURES.values()}
        object.__setattr__(self, "_caps", caps)

    def remainder(self, measure: Measure) -> Decimal | None:
        """What the bucket's total leaves after the listed groups: the "not itemized" part."""
        total = self.totals.get(measure)
        if total is None:
            return None
        known = [f for f in self.listed.values() if f.get(measure) is not None]
        # Subtract IonQ's own figures, then read the measure once: a derived measure (µs as
        # hours) then rounds once, so a group's figure never exceeds the remainder it is in.
        rest = measure.read(
            Figures(
                usd=_less(self.totals.usd, (f.usd for f in known)),
                time_us=_less(self.totals.time_us, (f.time_us for f in known)),
                jobs=_less(self.totals.jobs, (f.jobs for f in known)),
            )
        )
        if rest is None:  # a measure that reads figures in another way
            rest = total - sum((v for f in known if (v := f.get(measure)) is not None), ZERO)
        return max(ZERO, rest)

    def cap(self, measure: Measure) -> Decimal | None:
        """The most any group whose figure is not listed can have had in this bucket."""
        if measure in self._caps:
            return self._caps[measure]
        return self._cap(measure)  # a measure registered after the bucket was made

    def _cap(self, measure: Measure) -> Decimal | None:
        rest = self.remainder(measure)
        if rest is None:
            return None
        if measure.ranked and self.ranked_by_usd and len(self.listed) >= 5:
            listed = (measure.read(f) for f in self.listed.values())
            smallest = min((v for v in listed if v is not None), default=None)
            if smallest is not None:
                rest = min(rest, smallest)
        return rest

    def figure(self, key: str, measure: Measure) -> Bound | None:
        """The group's figure in this bucket: exact when listed, else ``[0, cap]``."""
        listed = self.listed.get(key)
        if listed is not None:
            value = listed.get(measure)
            if value is not None:
                return Bound(value, value)
        cap = self.cap(measure)
        return None if cap is None else Bound(ZERO, cap)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class UsageSeries:
    """All buckets of one answer, oldest first, with the names of every group seen."""

    group_by: str
    modality: str
    start: dt.date
    end: dt.date
    buckets: tuple[Bucket, ...]
    names: Mapping[str, str] = field(default_factory=dict)
    #: IonQ's own grand total when it sent one (``amount_total`` in USD), else the bucket sum.
    reported_usd_total: Decimal | None = None
    _groups: dict[str, str] = field(init=False, repr=False, compare=False)
    _starts: list[dt.date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Derived once from the series' own data: no cache is kept on it afterwards.
        seen: dict[str, str] = {}
        for bucket in self.buckets:
            for key in bucket.listed:
                if key not in seen:
                    seen[key] = self.names.get(key, key)
        object.__setattr__(self, "_groups", seen)
        object.__setattr__(self, "_starts", [b.start for b in self.buckets])

    def groups(self) -> list[str]:
        """Every group key listed in any bucket, in first-seen order."""
        return list(self._groups)

    def name(self, key: str) -> str:
        return self.names.get(key, key)

    def group_names(self) -> dict[str, str]:
        """Every listed group's name by key, in first-seen order."""
        return dict(self._groups)

    def within(self, start: dt.date, end: dt.date) -> list[Bucket]:
        """The buckets that make up exactly ``[start, end)``.

        Raises ``ValueError`` when the window does not fall on bucket boundaries: a partial
        bucket cannot be split, and guessing would make figures wrong.
        """
        if start >= end:
            return []
        if start < self.start or end > self.end:
            raise ValueError(f"{start}..{end} is outside {self.start}..{self.end}")
        starts = self._starts
        first = bisect.bisect_left(starts, start)
        if first > 0 and self.buckets[first - 1].end > start:
            first -= 1  # a bucket straddling the start
        last = bisect.bisect_left(starts, end)
        chosen = list(self.buckets[first:last])
        # Days with no bucket had no usage (IonQ may omit empty buckets); a bucket that straddles
        # the window's edge cannot be split.
        if any(b.start < start or b.end > end for b in chosen[:1] + chosen[-1:]):
            raise ValueError(f"{start}..{end} does not fall on bucket boundaries")
        return chosen

    def listed_keys(self, measure: Measure, start: dt.date, end: dt.date) -> Iterable[str]:
        """The groups IonQ lists (with a figure in ``measure``) somewhere in the window."""
        found: dict[str, None] = {}
        for bucket in self.within(start, end):
            for group, figures in bucket.listed.items():
                if group not in found and measure.read(figures) is not None:
                    found[group] = None
        return found.keys()

    def _one(self, key: str, measure: Measure, start: dt.date, end: dt.date) -> Bound | None:
        """The hot path (one budget per group): exact where listed, else up to the cap."""
        low = high = ZERO
        for bucket in self.within(start, end):
            listed = bucket.listed.get(key)
            value = measure.read(listed) if listed is not None else None
            if value is not None:
                low += value
                high += value
                continue
            cap = bucket.cap(measure)
            if cap is None:
                return None  # unlisted where the bucket has no figure in this measure
            high += cap
        return Bound(low, high)

    def total(
        self, measure: Measure, start: dt.date | None = None, end: dt.date | None = None
    ) -> Decimal | None:
        """Organization-wide figure over the window (always exact), None without a USD figure."""
        out = ZERO
        for bucket in self.within(start or self.start, end or self.end):
            value = bucket.totals.get(measure)
            if value is None:
                return None
            out += value
        return out

    def figure(
        self,
        keys: Iterable[str],
        measure: Measure,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> Bound | None:
        """The combined figure of ``keys`` over the window, exact or bounded.

        Several unlisted groups in one bucket share that bucket's remainder, so their joint upper
        bound is capped by the remainder rather than counted once per group.
        """
        wanted = list(dict.fromkeys(keys))
        if len(wanted) == 1:
            return self._one(wanted[0], measure, start or self.start, end or self.end)
        out = ZERO_BOUND
        for bucket in self.within(start or self.start, end or self.end):
            low = high = ZERO
            unlisted = 0
            for key in wanted:
                listed = bucket.listed.get(key)
                value = listed.get(measure) if listed else None
                if value is not None:
                    low += value
                    high += value
                else:
                    unlisted += 1
            if unlisted:
                cap = bucket.cap(measure)
                rest = bucket.remainder(measure)
                if cap is None or rest is None:
                    return None
                high += min(rest, cap * unlisted)
            out = out + Bound(low, high)
        return out
