"""Reports, help and errors as Slack Block Kit messages (pure); alerts are in
:mod:`budgetbot.render.alert_blocks` (and importable from here).

Each renderer returns ``(text, blocks)``: ``text`` is the plain fallback that notifications and
screen readers show, ``blocks`` the rich message. Every string that comes from IonQ or from policy
files goes through :func:`escape` (so a project called ``<!channel>`` pings no one), and every
message keeps within Slack's limits (:mod:`budgetbot.render.slack_text`): when a report does not
fit, rows are folded into one and the message says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from budgetbot.reports.build import Report, Row

from .alert_blocks import (
    ACK_ACTION,
    BUTTONS_BLOCK,
    CONSOLE_ACTION,
    IONQ_CONSOLE_URL,
    SNOOZE_DAY_ACTION,
    SNOOZE_PERIOD_ACTION,
    STATUS_BLOCK,
    AlertRef,
    alert_message,
    alert_ref_value,
    alert_status_lines,
    read_alert_ref,
    with_alert_status,
)
from .block_kit import (
    Block,
    _context,
    _fallback,
    _header,
    _lines_within,
    _section,
    _within_limits,
)
from .slack_text import (
    MAX_BLOCKS,
    MAX_NAME,
    MAX_SECTION,
    MAX_TEXT,
    cut,
    cut_middle,
    escape,
    escape_cut,
    fit_message,
)
from .text import bound_text, column_label, hours, money

__all__ = [
    "ACK_ACTION",
    "BUTTONS_BLOCK",
    "CONSOLE_ACTION",
    "IONQ_CONSOLE_URL",
    "SNOOZE_DAY_ACTION",
    "SNOOZE_PERIOD_ACTION",
    "STATUS_BLOCK",
    "AlertRef",
    "Block",
    "alert_message",
    "alert_ref_value",
    "alert_status_lines",
    "error_message",
    "help_message",
    "notice_message",
    "read_alert_ref",
    "report_message",
    "with_alert_status",
]

#: The Slack table: columns of this width at most read well in a code block on a laptop.
TABLE_NAME_WIDTH = 24
MAX_TABLE_WIDTH = 110
#: Fewer rows than this in a table and sections per group read better.
MIN_TABLE_ROWS = 3
#: Groups shown as their own sections when the table does not fit; the rest are folded.
MAX_GROUP_SECTIONS = 20

_TITLES = {"project": "project", "user": "user", "job": "job", "org": "organization"}


# -- reports ----------------------------------------------------------------------------------


def _num(value: Decimal | None) -> str:
    return "n/a" if value is None else money(value, sign="")


def _row_total(row: Row) -> str:
    if row.total is None:
        return "n/a"
    return ("" if row.total.exact else "≥") + _num(row.total.low)


def _words(low: Decimal | None, bounded: bool) -> str:
    if low is None:
        return "no USD figure"
    return f"at least {money(low)}" if bounded else money(low)


def _folded(rows: Sequence[Row], columns: int) -> tuple[list[str], Decimal | None, bool]:
    """Cells, total and boundedness of rows folded into one: sums of what IonQ itemized."""
    cells = []
    for i in range(columns):
        listed = [v for r in rows if (v := r.cells[i].listed) is not None]
        cells.append(_num(sum(listed, Decimal(0))) if listed else "·")
    lows = [r.total.low for r in rows if r.total is not None]
    bounded = any(r.total is None or not r.total.exact for r in rows)
    return cells, (sum(lows, Decimal(0)) if lows else None), bounded


def _table(report: Report, shown: int) -> tuple[str, int]:
    """The report as a code block with ``shown`` itemized rows; returns (text, line width)."""
    labels = [
        column_label(c.start, report.modality) + ("*" if c.partial else "") for c in report.columns
    ]
    width = max([10, *(len(x) + 1 for x in labels)])
    title = _TITLES[report.grouping]

    def line(name: str, values: Sequence[str], total: str) -> str:
        name = name.replace("`", "'")  # a name with ``` must not end the code block
        if len(name) > TABLE_NAME_WIDTH:
            name = name[: TABLE_NAME_WIDTH - 1] + "…"
        body = "".join(v.rjust(width) for v in values)
        # Pad the raw text, then escape: an entity shows as one character, so columns stay put.
        return escape(f"{name:<{TABLE_NAME_WIDTH}}{body}{total.rjust(width + 2)}")

    head = line(title, labels, "total")
    rule = "-" * len(head)
    lines = [head, rule]
    for row in report.rows[:shown]:
        values = ["·" if c.listed is None else _num(c.listed) for c in row.cells]
        lines.append(line(row.name, values, _row_total(row)))
    rest = report.rows[shown:]
    if rest:
        cells, low, bounded = _folded(rest, len(report.columns))
        total = "n/a" if low is None else ("≥" if bounded else "") + _num(low)
        lines.append(line(f"… {len(rest)} more {title}s", cells, total))
    if report.rows:
        lines.append(
            line("other / not itemized", [_num(v) for v in report.other], _num(report.other_total))
        )
        lines.append(rule)
    lines.append(line("total (IonQ)", [_num(v) for v in report.totals], _num(report.grand_total)))
    lines.append(
        line("QPU hours", [hours(v) for v in report.qpu_hours], hours(report.qpu_hours_total))
    )
    jobs = [f"{v:,.0f}" if v is not None else "n/a" for v in report.jobs]
    jobs_total = f"{report.jobs_total:,.0f}" if report.jobs_total is not None else "n/a"
    lines.append(line("jobs", jobs, jobs_total))
    return "```\n" + "\n".join(lines) + "\n```", len(rule)


def _fitting_table(report: Report) -> tuple[str, int] | None:
    """The table with as many rows as fit a section, and how many; None if a table won't do."""
    shown = len(report.rows)
    text, width = _table(report, shown)
    if width > MAX_TABLE_WIDTH:
        return None
    while len(text) > MAX_SECTION and shown > 0:
        shown -= 1
        text, _ = _table(report, shown)
    if len(text) > MAX_SECTION or shown < min(len(report.rows), MIN_TABLE_ROWS):
        return None
    return text, shown


def _group_sections(report: Report, room: int) -> tuple[list[Block], int]:
    """A section per itemized group (at most ``room``), the rest folded into one section."""
    rows = report.rows
    shown = min(len(rows), MAX_GROUP_SECTIONS, room - (1 if len(rows) > room else 0))
    shown = max(shown, 0)
    blocks = []
    for row in rows[:shown]:
        cells = [
            f"{column_label(col.start, report.modality)}{'*' if col.partial else ''}: "
            + ("·" if cell.listed is None else money(cell.listed))
            for col, cell in zip(report.columns, row.cells, strict=True)
        ]
        total = None if row.total is None else row.total.low
        bounded = row.total is not None and not row.total.exact
        head = f"*{escape_cut(row.name, MAX_NAME)}*: {_words(total, bounded)}"
        blocks.append(_section(head + "\n" + cut(" · ".join(cells), 2500)))
    rest = rows[shown:]
    if rest:
        _, low, bounded = _folded(rest, len(report.columns))
        blocks.append(
            _section(
                f"*… {len(rest)} more {_TITLES[report.grouping]}s*, folded to fit Slack:"
                f" {_words(low, bounded)} together (`budgetbot report` shows them all)"
            )
        )
    return blocks, shown


def _totals_section(report: Report) -> Block:
    lines = [
        f"*Other / not itemized*: {money(report.other_total)}" if report.rows else "",
        f"*Total (IonQ)*: {money(report.grand_total)}"
        f"  ·  QPU hours: {hours(report.qpu_hours_total)}"
        f"  ·  jobs: {_jobs(report.jobs_total)}",
    ]
    per_bucket = [
        f"{column_label(c.start, report.modality)}{'*' if c.partial else ''}: {money(t)}"
        for c, t in zip(report.columns, report.totals, strict=True)
    ]
    body = "\n".join(x for x in lines if x)
    if per_bucket:
        body += "\n" + _lines_within(per_bucket, MAX_SECTION - len(body) - 10)
    return _section(body)


def _jobs(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def report_message(report: Report) -> tuple[str, list[Block]]:
    """The report of ``budgetbot report`` as a Slack message (header, table or sections, legend).

    Itemized rows, "other" and the totals add up to IonQ's figures to the cent; rows that do not
    fit are folded into one line whose figures are their sums, and the message says so.
    """
    last_day = report.end.fromordinal(report.end.toordinal() - 1)
    title = f"IonQ spend by {_TITLES[report.grouping]}, {report.modality}"
    span = f"{report.start} to {last_day} (UTC days), USD"
    text = f"{title}, {span}: {money(report.grand_total)} in total"
    if report.rows:
        top = report.rows[0]
        text += f"; most by {escape(top.name)} ({bound_text(top.total)})"
    blocks: list[Block] = [_header(title), _context([span])]
    folded = 0
    table = _fitting_table(report)
    shown_rows: Sequence[Row]
    if table is not None:
        code, shown = table
        blocks.append(_section(code))
        folded = len(report.rows) - shown
        shown_rows = report.rows[:shown]
    else:
        # header, span, folded, totals, bounds, legend: leave room for them.
        sections, shown = _group_sections(report, MAX_BLOCKS - 8)
        blocks.extend(sections)
        blocks.append(_totals_section(report))
        folded = len(report.rows) - shown
        shown_rows = report.rows[:shown]
    bounded = [r for r in shown_rows if r.total is not None and not r.total.exact]
    if bounded:
        blocks.append(
            _section(
                "*Where IonQ's top-5 lists hide part of a figure:*\n"
                + _lines_within(
                    [f"{escape_cut(r.name, MAX_NAME)}: {bound_text(r.total)}" for r in bounded],
                    MAX_SECTION - 60,
                )
            )
        )
    legend = []
    if any(c.partial for c in report.columns):
        legend.append("`*` to date: the bucket includes today, which is not over yet")
    if any(c.listed is None for r in report.rows for c in r.cells):
        legend.append("`·` not itemized: outside IonQ's top 5 for that bucket; counted in 'other'")
    if report.has_bounds:
        legend.append("`≥` at least: part of the figure is hidden by IonQ's top-5 lists")
    if folded:
        legend.append(
            f"{folded} {_TITLES[report.grouping]}s folded into one line to fit Slack;"
            " `budgetbot report` shows them all"
        )
    legend.extend(escape(n) for n in report.notes)
    if legend:
        blocks.append(_context(legend))
    return _fallback(text), _within_limits(blocks)


# -- help and errors --------------------------------------------------------------------------

USAGE = (
    "`/ionq-usage [project|user|job|org] [daily|weekly|monthly] [range] [share]`\n"
    "    range: `7d`, `4w`, `3m`, `this-month`, `last-month`, `this-week`, `last-week`"
    " or `YYYY-MM-DD..YYYY-MM-DD`; default `project weekly`, four buckets\n"
    "`/ionq-usage budgets`: every budget's burn this period\n"
    "`/ionq-usage queue [project|user]`: jobs queued or running now, their estimated cost and"
    " what the budgets with `committed_at` have committed\n"
    "`/ionq-usage audit`: budget actions proposed, refused, approved and undone, newest first\n"
    "`/ionq-usage help`: this message\n"
    "Answers are visible only to you unless you add `share`."
)
_USAGE_TEXT = (
    "Usage: /ionq-usage [project|user|job|org] [daily|weekly|monthly] [range] [share],"
    " /ionq-usage budgets, /ionq-usage queue [project|user], /ionq-usage audit,"
    " /ionq-usage help"
)


def _code_safe(text: str) -> str:
    """User text shown inside backticks: escaped, and no backtick to break out of the span."""
    return escape(text.replace("`", "'"))


def help_message(
    error: str | None = None, suggestion: str | None = None
) -> tuple[str, list[Block]]:
    """Short usage of ``/ionq-usage``, after the problem and a "did you mean" when given."""
    first = []
    if error:
        first.append(escape_cut(error, 1000))
    if suggestion:
        first.append(f"Did you mean `{_code_safe(suggestion)[:500]}`?")
    lead = " ".join(first)
    text = f"{lead} {_USAGE_TEXT}" if lead else _USAGE_TEXT
    blocks: list[Block] = []
    if lead:
        blocks.append(_section(lead))
    blocks.append(_section(USAGE))
    blocks.append(_context(["Example: `/ionq-usage user daily 7d`"]))
    return fit_message(text, blocks)


def error_message(text: str) -> tuple[str, list[Block]]:
    """One plain, polite sentence (details belong in the log, not in Slack)."""
    sentence = escape_cut(text.strip() or "Something went wrong; please try again.", MAX_SECTION)
    return fit_message(sentence, [_section(sentence)])


def notice_message(text: str) -> tuple[str, list[Block]]:
    """An operational notice ("usage data unavailable since …", "Back under 80%: …") as one
    section. Its text is escaped; a long one is cut in the middle, where a long name sits, so
    its figures at the end still show."""
    escaped = escape(text.strip()) or "(empty notice)"
    body = cut_middle(escaped, MAX_SECTION)
    return fit_message(cut_middle(escaped, MAX_TEXT), [_section(body)])
