"""Usage refined by the ledger: unlisted groups made exact where the ledger provably adds up
(pure: no I/O, no clock).

IonQ's usage lists each bucket's top 5 groups; every other group is a bound within the bucket's
unitemized remainder. The ledger sums each visible, billed job per group and UTC billing day. A
job's cost is never *more* than IonQ bills, so per group the ledger is at most the truth; when,
over a bucket, the ledger's unlisted groups sum exactly to IonQ's remainder (and the listed
groups it fully sees match IonQ's figures), each of them must equal its truth. Only then are they
listed, with the ledger's figures. Anything short of that — a day not read, a job not billed yet,
a project no key sees, a cent apart — leaves the bucket as IonQ gave it, with a reason. The
ledger never makes a figure look more exact than it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal, Protocol

from budgetbot.usage.measures import Measure
from budgetbot.usage.model import ZERO, Bucket, Figures, UsageSeries

from .model import LedgerDay, LedgerView

__all__ = ["LedgerReason", "LedgerSource", "Refined", "refine", "span_of"]

#: The groupings the ledger can refine (it sums per project and per submitter, not per job).
REFINABLE = ("project", "user")

ReasonKind = Literal["unread", "unbilled", "uncovered", "unchecked", "mismatch"]

_FIELDS: tuple[tuple[str, Measure], ...] = (
    ("usd", Measure.USD),
    ("time_us", Measure.QPU_HOURS),
    ("jobs", Measure.JOBS),
)


class LedgerSource(Protocol):
    """What reads the ledger (``budgetbot.ledger`` walks IonQ's completed jobs)."""

    def view(self, start: dt.date, end: dt.date, now: dt.datetime) -> LedgerView:
        """The ledger over ``[start, end)`` as of ``now``."""
        ...


@dataclass(frozen=True, slots=True)
class LedgerReason:
    """Why one bucket ``[start, end)`` of a series keeps its bounds."""

    start: dt.date
    end: dt.date
    group_by: str
    kind: ReasonKind
    text: str

    @property
    def days(self) -> str:
        """The bucket's days as people read them: ``2026-11-03``, ``2026-11-03..2026-11-09``."""
        last = self.end - dt.timedelta(days=1)
        return self.start.isoformat() if last <= self.start else f"{self.start}..{last}"

    def __str__(self) -> str:
        return f"{self.days} (by {self.group_by}): {self.text}"


@dataclass(frozen=True)
class Refined:
    """A series with every bucket the ledger reconciles made exact, and why the others are not."""

    series: UsageSeries
    reasons: tuple[LedgerReason, ...]
    refined: int
    """How many buckets gained exact figures."""


def span_of(series: Iterable[UsageSeries]) -> tuple[dt.date, dt.date] | None:
    """The days ``[start, end)`` the ledger must cover to refine these series (None: none can)."""
    spans = [(s.start, s.end) for s in series if s.group_by in REFINABLE and s.start < s.end]
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


def refine(series: UsageSeries, view: LedgerView) -> Refined:
    """``series`` with the ledger's exact figures wherever a bucket reconciles (see module doc).

    Totals and IonQ's listed figures never change; a refined figure always lies within the bound
    it replaces; a bucket that does not reconcile is left exactly as it was.
    """
    if series.group_by not in REFINABLE:
        return Refined(series, (), 0)
    buckets: list[Bucket] = []
    reasons: list[LedgerReason] = []
    names = dict(series.names)
    for bucket in series.buckets:
        outcome = _refine_bucket(bucket, series.group_by, view)
        if isinstance(outcome, Bucket):
            buckets.append(outcome)
            for key in outcome.listed.keys() - bucket.listed.keys():
                names.setdefault(key, view.names.get(key, key))
        else:
            buckets.append(bucket)
            if outcome is not None:
                kind, text = outcome
                reasons.append(LedgerReason(bucket.start, bucket.end, series.group_by, kind, text))
    changed = sum(a is not b for a, b in zip(buckets, series.buckets, strict=True))
    if not changed:
        return Refined(series, tuple(reasons), 0)
    refined = replace(series, buckets=tuple(buckets), names=names)
    return Refined(refined, tuple(reasons), changed)


def _refine_bucket(
    bucket: Bucket, group_by: str, view: LedgerView
) -> Bucket | tuple[ReasonKind, str] | None:
    """The refined bucket, a reason it cannot be, or None when there is nothing to refine."""
    days = [bucket.start + dt.timedelta(days=n) for n in range(bucket.days)]
    ledger_days = [view.days.get(day) for day in days]
    read = [d for d in ledger_days if d is not None]
    if len(read) < len(days):
        return "unread", "the ledger has not read these days yet"
    unbilled = sum(d.unbilled for d in read)
    if unbilled:
        jobs = "1 job" if unbilled == 1 else f"{unbilled} jobs"
        verb = "is" if unbilled == 1 else "are"
        return "unbilled", f"{jobs} completed then {verb} not billed yet"
    fields = [
        (name, m)
        for name, m in _FIELDS
        if getattr(bucket.totals, name) is not None
        and all(getattr(f, name) is not None for f in bucket.listed.values())
    ]
    if not fields:
        return "unchecked", "IonQ gives no figure the ledger can be checked against"
    if all(_rest(bucket, name) == 0 for name, _ in fields):
        return None  # IonQ itemized everything: nothing for the ledger to add
    if group_by == "user":
        unseen = view.known - view.covered
        if unseen or not view.known:
            return "uncovered", _no_key(unseen, view.names, "a user may spend in any of them")
    ledger = _sum(read, group_by)
    checked = bucket.listed.keys() if group_by == "user" else bucket.listed.keys() & view.covered
    for key in sorted(checked):
        for name, m in fields:
            theirs, ours = getattr(bucket.listed[key], name), _get(ledger.get(key), name)
            if theirs != ours:
                who = view.names.get(key, key)
                return "mismatch", (
                    f"IonQ lists {who} at {m.format(_amount(theirs, m))}, the ledger has"
                    f" {m.format(_amount(ours, m))}"
                )
    unlisted = {k: f for k, f in ledger.items() if k not in bucket.listed}
    if group_by == "project":
        partial = {k for k, f in unlisted.items() if k not in view.covered and _any(f)}
        if partial:
            return "uncovered", _no_key(partial, view.names, "their spend there is not all seen")
    for name, m in fields:
        rest = _rest(bucket, name)
        ours = sum((_get(f, name) for f in unlisted.values()), ZERO)
        if ours != rest:
            return "mismatch", _apart(rest, ours, m)
    added = {k: _only(f, fields) for k, f in unlisted.items() if _any(f)}
    # Each added figure is within the remainder (the sums agree, none is negative); in USD it
    # must also be within IonQ's ranking (no unlisted group above the fifth listed).
    cap = bucket.cap(Measure.USD) if any(name == "usd" for name, _ in fields) else None
    for key, figures in added.items():
        if cap is not None and figures.usd is not None and figures.usd > cap:
            return "mismatch", (
                f"the ledger puts {view.names.get(key, key)} above what IonQ's top 5 allow"
            )
    return replace(bucket, listed={**bucket.listed, **added})


def _sum(days: Iterable[LedgerDay], group_by: str) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for day in days:
        groups: Mapping[str, Figures] = day.projects if group_by == "project" else day.users
        for key, figures in groups.items():
            prior = out.get(key)
            out[key] = figures if prior is None else _add(prior, figures)
    return out


def _add(a: Figures, b: Figures) -> Figures:
    return Figures(
        usd=None if a.usd is None or b.usd is None else a.usd + b.usd,
        time_us=None if a.time_us is None or b.time_us is None else a.time_us + b.time_us,
        jobs=None if a.jobs is None or b.jobs is None else a.jobs + b.jobs,
    )


def _get(figures: Figures | None, name: str) -> Decimal:
    """A ledger figure (a group with no job there: zero; an unknown figure: never equal)."""
    if figures is None:
        return ZERO
    value = getattr(figures, name)
    return Decimal("NaN") if value is None else Decimal(value)


def _rest(bucket: Bucket, name: str) -> Decimal:
    """The bucket's unitemized remainder of one field (not clamped: a negative one disagrees)."""
    total = Decimal(getattr(bucket.totals, name))
    return total - sum((Decimal(getattr(f, name)) for f in bucket.listed.values()), ZERO)


def _any(figures: Figures) -> bool:
    return any(v for v in (figures.usd, figures.time_us, figures.jobs))


def _only(figures: Figures, fields: list[tuple[str, Measure]]) -> Figures:
    """The ledger's figures in the fields checked; None elsewhere (they stay bounds)."""
    kept = {name for name, _ in fields}
    return Figures(
        usd=figures.usd if "usd" in kept else None,
        time_us=figures.time_us if "time_us" in kept else None,
        jobs=figures.jobs if "jobs" in kept else None,
    )


def _amount(value: Decimal | int | None, m: Measure) -> Decimal:
    if value is None or (isinstance(value, Decimal) and value.is_nan()):
        return ZERO
    return m.read(Figures(Decimal(value), Decimal(value), int(value))) or ZERO


def _apart(rest: Decimal, ours: Decimal, m: Measure) -> str:
    if ours.is_nan():
        return f"the ledger lacks the {m.label} of some jobs"
    gap = _amount(abs(rest - ours), m)
    if ours < rest:
        return (
            f"{m.format(gap)} of the remainder is not in the ledger: jobs of a project no key"
            " sees, or a bill not yet in"
        )
    return (
        f"the ledger has {m.format(gap)} more than IonQ's remainder: a bill IonQ has not"
        " counted yet, or a job billed on another day"
    )


def _no_key(projects: Iterable[str], names: Mapping[str, str], why: str) -> str:
    shown = sorted(names.get(p, p) for p in projects)
    if not shown:
        return "the ledger knows no project, so it cannot tell that it sees every job"
    listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
    return f"no key sees every job of {listed} ({why})"
