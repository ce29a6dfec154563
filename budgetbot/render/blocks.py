"""Alerts, reports, help and errors as Slack Block Kit messages (pure).

Each renderer returns ``(text, blocks)``: ``text`` is the plain fallback that notifications and
screen readers show, ``blocks`` the rich message. Every string that comes from IonQ or from policy
files goes through :func:`escape` (so a project called ``<!channel>`` pings no one), and every
message keeps within Slack's limits (:mod:`budgetbot.render.slack_text`): when a report does not
fit, rows are folded into one and the message says so.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgetbot.reports.build import Report, Row
from budgetbot.rules.findings import Finding, thread_key
from budgetbot.rules.kinds import KINDS

from .messages import alert_headline, alert_lines, amount, figure_text, period_words
from .slack_text import (
    MAX_BLOCKS,
    MAX_BUTTON,
    MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT,
    MAX_FIELD,
    MAX_FIELDS,
    MAX_HEADER,
    MAX_NAME,
    MAX_SECTION,
    MAX_TEXT,
    MAX_URL,
    MAX_VALUE,
    cut,
    cut_middle,
    escape,
    escape_cut,
    fit_blocks,
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

Block = dict[str, Any]

#: Where the link button of an alert goes.
IONQ_CONSOLE_URL = "https://cloud.ionq.com/"
#: Action ids of the alert buttons (``slack/listeners/actions.py`` listens to them).
SNOOZE_DAY_ACTION = "budgetbot_snooze_24h"
SNOOZE_PERIOD_ACTION = "budgetbot_snooze_period"
ACK_ACTION = "budgetbot_ack"
CONSOLE_ACTION = "open_ionq_console"
#: Block ids: the buttons, and the "who did what" line above them (replaced on each click).
BUTTONS_BLOCK = "budgetbot_alert_actions"
STATUS_BLOCK = "budgetbot_alert_status"
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
#: The Slack table: columns of this width at most read well in a code block on a laptop.
TABLE_NAME_WIDTH = 24
MAX_TABLE_WIDTH = 110
#: Fewer rows than this in a table and sections per group read better.
MIN_TABLE_ROWS = 3
#: Groups shown as their own sections when the table does not fit; the rest are folded.
MAX_GROUP_SECTIONS = 20

_TITLES = {"project": "project", "user": "user", "job": "job", "org": "organization"}


# -- small helpers ----------------------------------------------------------------------------


def _lines_within(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Join lines up to ``limit`` characters; the lines left out are counted on a last line."""
    kept: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        left = len(lines) - i - 1
        tail = len(more.format(n=len(lines) - i)) + 1 if left else 0
        if size + len(line) + 1 + tail > limit:
            kept.append(more.format(n=len(lines) - i))
            break
        kept.append(line)
        size += len(line) + 1
    return cut("\n".join(kept), limit)


def _plain(text: str, limit: int = MAX_HEADER) -> Block:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def _mrkdwn(text: str, limit: int = MAX_SECTION) -> Block:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: Sequence[str]) -> Block:
    items = list(texts)
    if len(items) > MAX_CONTEXT_ELEMENTS:
        items = [*items[: MAX_CONTEXT_ELEMENTS - 1], " ".join(items[MAX_CONTEXT_ELEMENTS - 1 :])]
    return {"type": "context", "elements": [_mrkdwn(t, MAX_CONTEXT_TEXT) for t in items]}


def _fallback(text: str) -> str:
    return cut(text, MAX_TEXT)


def _within_limits(blocks: list[Block]) -> list[Block]:
    """Last guard: every block within Slack's limits (the renderers plan for them)."""
    return fit_blocks(blocks, MAX_BLOCKS)


# -- alerts -----------------------------------------------------------------------------------


def _alert_fields(f: Finding) -> list[Block]:
    fields = [f"*Rule*\n`{escape_cut(f.rule, 200)}`"]
    if f.scope != "organization":
        fields.append(f"*{escape(f.scope.capitalize())}*\n{escape_cut(f.group_name, MAX_NAME)}")
    facts = KINDS[f.kind].facts
    if facts == "day":
        day = f.day.isoformat() if f.day else f.period
        fields.append(f"*Spent on {escape(day)}*\n{figure_text(f.value, 'usd')}")
        if f.baseline is not None:
            fields.append(f"*Usual day*\n{amount(f.baseline, 'usd')}")
    elif facts == "budget":
        fields.append(f"*Used so far*\n{figure_text(f.value, f.measure)}")
        if f.budget is not None:
            fields.append(f"*Budget*\n{amount(f.budget, f.measure)}")
        if f.forecast is not None:
            fields.append(f"*Forecast at period end*\n{figure_text(f.forecast, f.measure)}")
    words = period_words(f.period_start, f.period_end)
    fields.append(f"*Period*\n{escape(words)} ({escape(f.period)}, UTC)")
    return [_mrkdwn(x, MAX_FIELD) for x in fields[:MAX_FIELDS]]


@dataclass(frozen=True)
class AlertRef:
    """What an alert's buttons carry: enough to snooze or acknowledge it without a look-up."""

    rule: str
    group_key: str
    period: str
    #: First day after the period (UTC): "snooze to end of period" ends at its midnight.
    period_end: dt.date
    thread_key: str
    #: The alert's unique key in the outbox (and in its Slack message metadata).
    dedup_key: str

    @property
    def period_ends_at(self) -> dt.datetime:
        return dt.datetime.combine(self.period_end, dt.time(), dt.UTC)


def _ref(finding: Finding, dedup_key: str | None) -> AlertRef:
    key = dedup_key or finding.dedup_key
    return AlertRef(
        finding.rule,
        finding.group_key,
        finding.period,
        finding.period_end,
        finding.thread_key,
        key,
    )


def alert_ref_value(ref: AlertRef) -> str | None:
    """The alert's reference as a button ``value``: compact JSON, None if it cannot fit."""
    doc = {
        "r": ref.rule,
        "g": ref.group_key,
        "p": ref.period,
        "e": ref.period_end.isoformat(),
        "t": ref.thread_key,
        "k": ref.dedup_key,
    }
    value = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if len(value) > MAX_VALUE:
        # The thread key is rule|group|period: the reader rebuilds it.
        del doc["t"]
        value = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return value if len(value) <= MAX_VALUE else None


def read_alert_ref(value: str) -> AlertRef | None:
    """The :class:`AlertRef` in a button ``value``, or None when it is not one of ours."""
    try:
        doc = json.loads(value)
        rule, group, period, key = (str(doc[k]) for k in ("r", "g", "p", "k"))
        end = dt.date.fromisoformat(str(doc["e"]))
    except (ValueError, TypeError, KeyError):
        return None
    thread = str(doc.get("t") or thread_key(rule, group, period))
    return AlertRef(rule, group, period, end, thread, key)


def _button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(label, MAX_BUTTON),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _alert_buttons(ref: AlertRef) -> Block | None:
    value = alert_ref_value(ref)
    if value is None:
        return None
    return {
        "type": "actions",
        "block_id": BUTTONS_BLOCK,
        "elements": [
            _button("Snooze 24 h", SNOOZE_DAY_ACTION, value),
            _button("Snooze to end of period", SNOOZE_PERIOD_ACTION, value),
            _button("Acknowledge", ACK_ACTION, value, "primary"),
        ],
    }


def _when(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC)
    return f"{utc:%b} {utc.day} {utc:%H:%M} UTC"


def _who(user: str) -> str:
    """A Slack user id becomes a mention (Slack shows the name); anything else is escaped."""
    return f"<@{user}>" if _SLACK_USER_ID.match(user) else escape_cut(user, 80)


def alert_status_lines(
    acknowledged: Sequence[tuple[str, dt.datetime]],
    snoozed: tuple[str, dt.datetime, dt.datetime] | None,
) -> list[str]:
    """Who did what to an alert, and when: ``(user, at)`` acknowledgements and a snooze in force
    as ``(user, until, at)``."""
    lines = []
    if snoozed is not None:
        user, until, at = snoozed
        lines.append(f":zzz: Snoozed until {_when(until)} by {_who(user)} ({_when(at)})")
    for user, at in acknowledged:
        lines.append(f":white_check_mark: Acknowledged by {_who(user)} ({_when(at)})")
    return lines


def with_alert_status(blocks: Sequence[Block], lines: Sequence[str]) -> list[Block]:
    """An alert's blocks with its status line(s) replaced (placed above the buttons)."""
    out = [b for b in blocks if b.get("block_id") != STATUS_BLOCK]
    if not lines:
        return out
    status = {**_context(lines), "block_id": STATUS_BLOCK}
    at = next(
        (i for i, b in enumerate(out) if b.get("type") == "actions"),
        len(out),
    )
    return _within_limits([*out[:at], status, *out[at:]])


def _mentions_within(mentions: Sequence[str], limit: int) -> str:
    """Whole mentions, space-separated, up to ``limit`` characters; the rest counted."""
    kept: list[str] = []
    size = -1
    for i, mention in enumerate(mentions):
        more = f"and {len(mentions) - i} more"
        room = limit - (
            len(f"and {len(mentions) - i - 1} more") + 1 if i + 1 < len(mentions) else 0
        )
        if size + 1 + len(mention) > room:
            kept.append(more)
            break
        kept.append(mention)
        size += 1 + len(mention)
    return " ".join(kept)


def alert_message(
    finding: Finding,
    *,
    mentions: list[str],
    console_url: str | None = IONQ_CONSOLE_URL,
    dedup_key: str | None = None,
) -> tuple[str, list[Block]]:
    """An alert: which rule, which group, spend against budget, period, forecast, source file.

    ``mentions`` are resolved Slack mention strings (``<@U1>``, ``<!subteam^S1>``), used as given.
    The buttons (snooze 24 h, snooze to the period's end, acknowledge) carry the alert's
    reference (:class:`AlertRef`, with ``dedup_key``: the outbox key, by default the one the
    decision stage gives it); the last block links to the IonQ console.
    """
    headline = alert_headline(finding, MAX_NAME)
    text = f"{escape(headline)} (rule {escape_cut(finding.rule, 100)})"
    if mentions:
        text = f"{_mentions_within(mentions, 1000)} {text}"
    cc = _mentions_within(mentions, MAX_SECTION - 3)
    title = KINDS[finding.kind].title
    who = "the organization" if finding.scope == "organization" else finding.group_name
    blocks: list[Block] = [
        _header(f"{title}: {escape_cut(who, MAX_HEADER)}"),
        _section(f"*{escape_cut(headline, MAX_SECTION - 2)}*"),
        {"type": "section", "fields": _alert_fields(finding)},
    ]
    lines = [escape(line) for line in alert_lines(finding, MAX_NAME)]
    if not finding.certain:
        lines.insert(0, "Only the upper bound of this figure crosses the level; not a breach yet.")
    blocks.append(_context([cut(line, MAX_CONTEXT_TEXT) for line in lines]))
    if cc:
        blocks.append(_section(f"cc {cc}"))
    buttons = _alert_buttons(_ref(finding, dedup_key))
    if buttons is not None:
        blocks.append(buttons)
    if console_url and len(console_url) <= MAX_URL:
        blocks.append(
            {
                "type": "actions",
                "block_id": "budgetbot_console",
                "elements": [
                    {
                        "type": "button",
                        "text": _plain("Open the IonQ console", MAX_BUTTON),
                        "url": console_url,
                        "action_id": "open_ionq_console",
                    }
                ],
            }
        )
    return _fallback(text), _within_limits(blocks)


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
    "`/ionq-usage help`: this message\n"
    "Answers are visible only to you unless you add `share`."
)
_USAGE_TEXT = (
    "Usage: /ionq-usage [project|user|job|org] [daily|weekly|monthly] [range] [share],"
    " /ionq-usage budgets, /ionq-usage help"
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
