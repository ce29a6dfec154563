"""The charts of reports and digests as PNG bytes (pure: plain data in, bytes out).

Each turns a :class:`~budgetbot.reports.build.Report` or a
:class:`~budgetbot.reports.digest.DigestReport` into bars and budget lines and draws them with
:func:`~budgetbot.render.spend_chart.spend_chart` (what a chart shows is described there).
"""

from __future__ import annotations

import datetime as dt

from budgetbot.reports.build import Report
from budgetbot.reports.digest import DigestReport

from .messages import period_words
from .spend_chart import OTHER, TOTAL, BudgetLine, ChartBar, TopBar, spend_chart
from .text import column_label, money

__all__ = [
    "OTHER",
    "TOTAL",
    "BudgetLine",
    "ChartBar",
    "TopBar",
    "budget_lines",
    "digest_chart",
    "report_bars",
    "report_chart",
    "spend_chart",
]

_ONE_DAY = 1


def _names(report: Report) -> dict[str, str]:
    """Row key → label; a name two rows share gets its key beside it."""
    seen: dict[str, int] = {}
    for row in report.rows:
        seen[row.name] = seen.get(row.name, 0) + 1
    return {r.key: r.name if seen[r.name] == 1 else f"{r.name} ({r.key})" for r in report.rows}


def report_bars(report: Report) -> list[ChartBar]:
    """The report's columns as bars: itemized rows stacked, the rest (``other``) in grey."""
    names = _names(report)
    bars = []
    for i, column in enumerate(report.columns):
        groups = tuple(
            (names[row.key], listed)
            for row in report.rows
            if (listed := row.cells[i].listed) is not None
        )
        label = (
            f"{column.start:%a}\n{column.start:%b %d}"
            if report.modality == "daily"
            else column_label(column.start, report.modality)
        )
        bars.append(
            ChartBar(
                column.start,
                column.end,
                groups,
                report.totals[i],
                partial=column.partial,
                label=label,
            )
        )
    return bars


_GROUP_WORDS = {"project": "project", "user": "user", "job": "job", "org": "organization"}


def report_chart(report: Report) -> bytes:
    """The chart of ``budgetbot report`` / ``/ionq-usage``: spend per bucket by group."""
    last = report.end.fromordinal(report.end.toordinal() - 1)
    title = (
        f"IonQ spend by {_GROUP_WORDS.get(report.grouping, report.grouping)}, {report.modality},"
        f" {report.start} to {last} (UTC), total {money(report.grand_total)}"
    )
    note = (
        f"Bars are IonQ's bucket totals; '{OTHER}' is what IonQ's top-5 lists leave unnamed."
        if report.grouping != "org"
        else "Bars are IonQ's bucket totals."
    )
    return spend_chart(report_bars(report), title=title, note=note)


def budget_lines(digest: DigestReport) -> list[BudgetLine]:
    """The digest's USD budgets, each pro-rated to one day of its period."""
    lines = []
    for burn in digest.burns:
        if burn.measure != "usd" or burn.budget is None or burn.rule_type != "policy":
            continue
        days = max((burn.period_end - burn.period_start).days, _ONE_DAY)
        per_day = burn.budget / days
        who = "" if burn.scope == "organization" else f" ({burn.group_name})"
        span = period_words(burn.period_start, burn.period_end)
        label = f"{burn.rule}{who}: {money(per_day)} a day ({money(burn.budget)} for {span})"
        lines.append(BudgetLine(label, per_day))
    return lines


def digest_chart(digest: DigestReport) -> bytes:
    """The digest's chart: spend per day with its budgets, and its top projects beside it.

    Daily bars are stacked by the projects IonQ listed that day (its top 5, exact); the rest of
    each day is "other / not itemized". The top projects over the period get their own panel,
    bounds shown as such.
    """
    groups = digest.daily_groups or [[] for _ in digest.daily]
    bars = [
        ChartBar(day, day + dt.timedelta(days=1), tuple(listed), value)
        for (day, value), listed in zip(digest.daily, groups, strict=True)
    ]
    top = [TopBar(e.name, e.value.low, e.value.high) for e in digest.top_projects]
    last = digest.end - dt.timedelta(days=1)
    title = (
        f"IonQ spend per day, {period_words(digest.start, digest.end)}"
        f" ({digest.start} to {last}, UTC): {money(digest.spend)}"
    )
    return spend_chart(
        bars,
        budgets=budget_lines(digest),
        title=title,
        top=top,
        top_title="Top projects over the period",
        note="Dashed lines: each USD budget pro-rated to a day (budget ÷ days in its period).",
    )
