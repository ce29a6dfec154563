"""Usage series → report data: groups as rows, buckets as columns (pure).

Every listed figure is IonQ's own; a cell where the group is outside the bucket's top 5 is not
itemized and counts in the "other / not itemized" row, so the itemized rows plus "other" add up to
IonQ's bucket totals to the cent. A row total that includes such cells is a lower bound with an
upper bound beside it, and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from budgetbot.usage.model import ZERO, Bound, Measure, UsageSeries

__all__ = ["Cell", "Column", "Report", "Row", "build_report", "report_query_grouping"]


def report_query_grouping(grouping: str) -> str:
    """The IonQ ``group_by`` a report grouping is fetched with (org totals come with any)."""
    return "project" if grouping == "org" else grouping


@dataclass(frozen=True)
class Column:
    start: dt.date
    end: dt.date
    #: The bucket contains today: its figures are to date, not final.
    partial: bool


@dataclass(frozen=True)
class Cell:
    """One group in one bucket: ``listed`` is IonQ's exact figure; else at most ``cap``."""

    listed: Decimal | None
    cap: Decimal | None


@dataclass(frozen=True)
class Row:
    key: str
    name: str
    cells: tuple[Cell, ...]
    total: Bound | None


@dataclass(frozen=True)
class Report:
    grouping: str
    modality: str
    start: dt.date
    end: dt.date
    now: dt.datetime
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    #: Per column: what the itemized rows leave of the bucket total (None: no USD figure).
    other: tuple[Decimal | None, ...]
    totals: tuple[Decimal | None, ...]
    qpu_hours: tuple[Decimal | None, ...]
    jobs: tuple[Decimal | None, ...]
    grand_total: Decimal | None
    other_total: Decimal | None
    qpu_hours_total: Decimal | None
    jobs_total: Decimal | None
    #: IonQ's ``amount_total`` when it sent one; differs from ``grand_total`` only if IonQ's
    #: buckets do not add up to its own total.
    reported_total: Decimal | None
    notes: tuple[str, ...] = field(default=())

    @property
    def has_bounds(self) -> bool:
        return any(r.total is not None and not r.total.exact for r in self.rows)


def _sum(values: list[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), ZERO)


def build_report(series: UsageSeries, grouping: str, now: dt.datetime, *, top: int = 10) -> Report:
    """Build the report of ``series``; ``top`` itemized rows at most, the rest go to "other"."""
    today = now.date()
    buckets = series.buckets
    columns = tuple(Column(b.start, b.end, b.start <= today < b.end) for b in buckets)
    rows: list[Row] = []
    if grouping != "org":
        for key in series.groups():
            cells = []
            for b in buckets:
                listed = b.listed.get(key)
                cells.append(Cell(listed.usd if listed else None, b.cap(Measure.USD)))
            rows.append(Row(key, series.name(key), tuple(cells), series.figure([key], Measure.USD)))
        rows.sort(key=lambda r: (-(r.total.low if r.total else ZERO), r.name))
        rows = rows[:top]
    totals = tuple(b.totals.get(Measure.USD) for b in buckets)
    other: list[Decimal | None] = []
    for i, total in enumerate(totals):
        itemized = [v for r in rows if (v := r.cells[i].listed) is not None]
        other.append(None if total is None else total - sum(itemized, ZERO))
    notes = []
    if any(t is None for t in totals):
        notes.append(
            "IonQ reports some of this range in credits without a USD breakdown: no USD figure"
            " is shown there."
        )
    grand = _sum(list(totals))
    reported = series.reported_usd_total
    if reported is not None and grand is not None and reported != grand:
        notes.append(
            f"IonQ's total ({reported}) differs from the sum of its buckets ({grand});"
            " the bucket figures are shown."
        )
    qpu = tuple(b.totals.get(Measure.QPU_HOURS) for b in buckets)
    jobs = tuple(b.totals.get(Measure.JOBS) for b in buckets)
    return Report(
        grouping=grouping,
        modality=series.modality,
        start=series.start,
        end=series.end,
        now=now,
        columns=columns,
        rows=tuple(rows),
        other=tuple(other),
        totals=totals,
        qpu_hours=qpu,
        jobs=jobs,
        grand_total=grand,
        other_total=_sum(other),
        qpu_hours_total=_sum(list(qpu)),
        jobs_total=_sum(list(jobs)),
        reported_total=reported,
        notes=tuple(notes),
    )
