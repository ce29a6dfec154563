"""Digests for the terminal and for Slack (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from budgetbot.reports.digest import DigestReport, TopEntry

from .budgets import bar, burn_line, burn_sections
from .messages import figure_text, period_words
from .slack_text import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_NAME,
    MAX_SECTION,
    cut,
    escape,
    escape_cut,
    fit_message,
    lines_within,
)
from .text import hours, money, safe_terminal

__all__ = ["DIGEST_BLOCKS", "digest_blocks", "digest_text", "sparkline"]

#: Blocks a digest takes at most: one fewer than Slack's limit, so its chart's link always fits.
DIGEST_BLOCKS = MAX_BLOCKS - 1

_TICKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[Decimal | None]) -> str:
    """``▁▃█▅`` for a series; a day without a USD figure is a space."""
    known = [v for v in values if v is not None]
    top = max(known, default=Decimal(0))
    if top <= 0:
        return "".join(" " if v is None else _TICKS[0] for v in values)
    return "".join(" " if v is None else _TICKS[int(v * (len(_TICKS) - 1) / top)] for v in values)


def _change(now: Decimal | None, before: Decimal | None) -> str:
    pct = DigestReport.change(now, before)
    if pct is None:
        return "no previous figure"
    arrow = "▲" if pct > 0 else ("▼" if pct < 0 else "=")
    return f"{arrow} {abs(pct).quantize(Decimal(1), rounding=ROUND_HALF_UP)}% vs previous"


def _title(d: DigestReport) -> str:
    last = d.end - dt.timedelta(days=1)
    span = period_words(d.start, d.end)
    return f"IonQ {d.period}ly digest ({d.name}): {span} ({d.start} to {last}, UTC)".replace(
        "dayly", "daily"
    )


def _entry(e: TopEntry) -> str:
    return f"{e.name}: {figure_text(e.value, 'usd')}"


def _totals(d: DigestReport) -> list[str]:
    jobs = "n/a" if d.jobs is None else f"{d.jobs:,.0f}"
    return [
        f"Spend: {money(d.spend)} ({_change(d.spend, d.previous_spend)})",
        f"QPU time: {hours(d.qpu_hours)} h ({_change(d.qpu_hours, d.previous_qpu_hours)})",
        f"Jobs: {jobs} ({_change(d.jobs, d.previous_jobs)})",
    ]


def digest_text(d: DigestReport) -> str:
    """The digest as plain text for the terminal."""
    lines = [_title(d), ""]
    lines += _totals(d)
    for title, entries in (
        ("Top projects", d.top_projects),
        ("Top users", d.top_users),
        ("Top jobs", d.top_jobs),
    ):
        lines += ["", f"{title}:"]
        lines += [f"  {i}. {safe_terminal(_entry(e))}" for i, e in enumerate(entries, 1)] or [
            "  (none)"
        ]
    lines += ["", "Budgets (current periods):"]
    for b in d.burns:
        pct = b.percent.low if b.percent else Decimal(0)
        lines.append(f"  {bar(pct)} {safe_terminal(burn_line(b))}")
    if not d.burns:
        lines.append("  (no budget policies)")
    lines += ["", f"Per day: {sparkline([v for _, v in d.daily])}"]
    lines += [f"  {day:%a %b %d}: {money(v)}" for day, v in d.daily]
    if any(not e.value.exact for e in d.top_projects + d.top_users + d.top_jobs):
        lines += ["", "'at least'/'between': IonQ lists only the top 5 groups of each bucket."]
    return "\n".join(lines) + "\n"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def _top_section(title: str, entries: list[TopEntry]) -> dict[str, Any]:
    rows = [
        f"{i}. {escape_cut(e.name, MAX_NAME)}: {escape(figure_text(e.value, 'usd'))}"
        for i, e in enumerate(entries, 1)
    ] or ["(none)"]
    text, _ = lines_within(rows, MAX_SECTION, head=f"*{title}*", unit=title.split()[-1])
    return _section(text)


def digest_blocks(d: DigestReport) -> tuple[str, list[dict[str, Any]]]:
    """The digest as a Slack message: header, totals, top lists, budgets, trend, within
    :data:`DIGEST_BLOCKS` blocks; budgets that do not fit are counted ("… and N more budgets")."""
    totals = _totals(d)
    text = f"{_title(d)}: {totals[0]}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(_title(d), MAX_HEADER)}},
        _section(
            "\n".join(
                f"*{escape(t.split(':', 1)[0])}:*{escape(t.split(':', 1)[1])}" for t in totals
            )
        ),
    ]
    for title, entries in (
        ("Top projects", d.top_projects),
        ("Top users", d.top_users),
        ("Top jobs", d.top_jobs),
    ):
        blocks.append(_top_section(title, entries))
    blocks.append(
        _section("*Budgets (current periods)*" + ("" if d.burns else "\n(no budget policies)"))
    )
    trend = sparkline([v for _, v in d.daily])
    daily = "\n".join(f"{day:%a %b %d}  {money(v):>14}" for day, v in d.daily)
    tail = [
        _section(f"*Per day* {trend}\n```{daily}```"),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Digest {escape_cut(d.name, 100)}"
                    f" ({escape_cut(d.source or 'no file', MAX_NAME)}). 'at least'/'between':"
                    " IonQ lists only the top 5 groups of each bucket.",
                }
            ],
        },
    ]
    blocks.extend(burn_sections(d.burns, DIGEST_BLOCKS - len(blocks) - len(tail)))
    blocks.extend(tail)
    return fit_message(text, blocks)
