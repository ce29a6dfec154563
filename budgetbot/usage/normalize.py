"""Wire answers (``ionq.Usages``) → ``UsageSeries``: bucket spans, USD figures, group names.

IonQ gives each bucket only its first day (``from``). A bucket ends where the next one starts,
at the natural end of its modality (a day, an ISO week, a calendar month) or at the query's end,
whichever comes first, so an omitted empty bucket never stretches its neighbour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from budgetbot.ionq import GroupUsage, Modality, Usage, UsageAmount, UsageQuery, Usages

from .model import Bucket, Figures, UsageSeries

__all__ = ["UsageDataError", "natural_end", "normalize", "usd_of"]


class UsageDataError(ValueError):
    """IonQ's answer is well-formed JSON but inconsistent with the question asked."""


def natural_end(start: dt.date, modality: Modality) -> dt.date:
    """The day after the last day a bucket of ``modality`` starting at ``start`` can cover."""
    if modality is Modality.DAILY:
        return start + dt.timedelta(days=1)
    if modality is Modality.WEEKLY:
        return start + dt.timedelta(days=7 - start.weekday())
    if start.month == 12:
        return dt.date(start.year + 1, 1, 1)
    return dt.date(start.year, start.month + 1, 1)


def usd_of(
    amount: Decimal | None,
    unit: str | None,
    amounts: Sequence[UsageAmount] | None,
    default_unit: str,
) -> Decimal | None:
    """The USD part of an amount, or None when IonQ's answer holds no USD figure.

    Since Sept. 2026 IonQ normalizes amounts to credits when any credit activity is present and
    lists the per-unit breakdown in ``amounts``; credits are never compared with dollars. A
    breakdown without a USD entry is no USD figure, not $0: nothing says no dollars were spent.
    An entry without a unit cannot be told apart from credits and is skipped; a USD entry
    without an amount makes the USD figure unknown.
    """
    if (unit or default_unit).upper() == "USD":
        return amount
    if amounts is None:
        return None
    usd = [a.amount for a in amounts if a.unit is not None and a.unit.upper() == "USD"]
    if not usd or any(a is None for a in usd):
        return None
    return sum((a for a in usd if a is not None), Decimal(0))


def _group_figures(group: GroupUsage, default_unit: str) -> Figures:
    return Figures(
        usd=usd_of(group.amount, group.amount_unit, group.amounts, default_unit),
        time_us=group.time_us,
        jobs=group.job_count,
    )


def _bucket(
    usage: Usage, start: dt.date, end: dt.date, default_unit: str, names: dict[str, str]
) -> Bucket:
    unit = usage.amount_unit or default_unit
    listed: dict[str, Figures] = {}
    for group in usage.group_usages:
        key = group.key
        names.setdefault(key, group.group_name or key)
        listed[key] = _group_figures(group, unit)
    return Bucket(
        start=start,
        end=end,
        totals=Figures(
            usd=usd_of(usage.amount, usage.amount_unit, usage.amounts, default_unit),
            time_us=usage.time_us,
            jobs=usage.job_count,
        ),
        listed=listed,
        # A listed group without a USD figure (its amount absent, or in credits only) may be the
        # largest of the five, so the smallest *known* amount does not cap it: its bound is the
        # bucket's remainder, which still includes it. Giving up the ranking for the whole bucket
        # keeps every bound sound (slightly wider for unlisted groups).
        ranked_by_usd=unit.upper() == "USD" and all(f.usd is not None for f in listed.values()),
    )


def normalize(answer: Usages, query: UsageQuery) -> UsageSeries:
    """Turn one IonQ answer into a series of buckets covering ``[query.start, query.end)``."""
    default_unit = answer.usage_unit or "USD"
    data = answer.usage_data
    if data is None:
        # ``usage_data`` is optional in IonQ's schema. Absent, it is no usage only when the
        # answer's own totals say so; otherwise the per-bucket figures are unknown, not zero.
        totals = (answer.amount_total, answer.job_count, answer.time_us_total)
        if not any(t is not None for t in totals) or any(t for t in totals):
            raise UsageDataError(
                f"IonQ's answer to {query} has no usage_data: no per-bucket figures to report"
            )
        data = []
    ordered = sorted(data, key=lambda u: u.from_)
    names: dict[str, str] = {}
    buckets: list[Bucket] = []
    for i, usage in enumerate(ordered):
        if not query.start <= usage.from_ < query.end:
            # Some APIs label a clipped bucket with its calendar start; clip it back.
            if usage.from_ < query.start < natural_end(usage.from_, query.modality):
                start = query.start
            else:
                raise UsageDataError(
                    f"IonQ returned a bucket from {usage.from_}, outside the requested"
                    f" {query.start}..{query.end}"
                )
        else:
            start = usage.from_
        if buckets and start < buckets[-1].end:
            raise UsageDataError(f"IonQ returned two buckets for {usage.from_}")
        nxt = ordered[i + 1].from_ if i + 1 < len(ordered) else query.end
        end = min(nxt, natural_end(start, query.modality), query.end)
        buckets.append(_bucket(usage, start, end, default_unit, names))
    reported = None
    if answer.amount_total is not None:
        reported = usd_of(answer.amount_total, answer.usage_unit, answer.amount_totals, "USD")
    return UsageSeries(
        group_by=query.group_by.value,
        modality=query.modality.value,
        start=query.start,
        end=query.end,
        buckets=tuple(buckets),
        names=names,
        reported_usd_total=reported,
    )
