"""Every budget's burn, for the terminal and for Slack (pure).

A burn bar shows the share of the budget used; where IonQ's top-5 lists hide part of the figure
the bar shows the lower bound and the text says "at least".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from budgetbot.rules.findings import Burn

from .messages import amount, figure_text, percent_text, period_words, subject
from .slack_text import MAX_BLOCKS, MAX_SECTION, escape, truncate
from .text import safe_terminal

__all__ = ["bar", "budgets_blocks", "budgets_text", "burn_line"]

FULL, EMPTY = "█", "░"


def bar(percent: Decimal, width: int = 20) -> str:
    """``█████░░░░░`` for the share used; capped at full (over-budget shows in the number)."""
    filled = int(
        (min(max(percent, Decimal(0)), Decimal(100)) * width / 100).to_integral_value(ROUND_HALF_UP)
    )
    return FULL * filled + EMPTY * (width - filled)


def burn_line(b: Burn) -> str:
    """``Quantum Chem — November: $34,554.59 of $50,000.00 (69%); forecast $51,389.24``."""
    who, _ = subject(b)
    period = period_words(b.period_start, b.period_end)
    if not b.measurable or b.percent is None or b.budget is None:
        return f"{who} — {period}: no USD figure (IonQ reports credits without a USD breakdown)"
    line = (
        f"{who} — {period}: {figure_text(b.value, b.measure)} of {amount(b.budget, b.measure)}"
        f" ({percent_text(b.percent)})"
    )
    if b.forecast is not None:
        line += f"; forecast {figure_text(b.forecast, b.measure)}"
    return line


def budgets_text(burns: Sequence[Burn]) -> str:
    """The terminal view: one bar and one line per budget, grouped by rule."""
    if not burns:
        return "No budget policies.\n"
    lines = []
    rule = None
    for b in burns:
        if b.rule != rule:
            rule = b.rule
            lines.append(f"{b.rule} ({b.source or 'no file'})")
        pct = b.percent.low if b.percent else Decimal(0)
        lines.append(f"  {bar(pct)} {safe_terminal(burn_line(b))}")
    return "\n".join(lines) + "\n"


def budgets_blocks(
    burns: Sequence[Burn], *, title: str = "Budgets"
) -> tuple[str, list[dict[str, Any]]]:
    """The Slack view: a header and one section per rule, within Block Kit's limits."""
    text = f"{title}: {len(burns)} budget(s)"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(title, 150)}}
    ]
    by_rule: dict[str, list[Burn]] = {}
    for b in burns:
        by_rule.setdefault(b.rule, []).append(b)
    if not burns:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "No budget policies."}}
        )
    for rule, items in by_rule.items():
        if len(blocks) >= MAX_BLOCKS - 1:
            blocks.append(
                {
                    "type": "context",
                    "elements": [
                        {"type": "mrkdwn", "text": "More budgets than fit in one message."}
                    ],
                }
            )
            break
        rows = [f"*{escape(rule)}*"]
        for b in items:
            pct = b.percent.low if b.percent else Decimal(0)
            rows.append(f"`{bar(pct, 12)}` {escape(burn_line(b))}")
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate("\n".join(rows), MAX_SECTION)},
            }
        )
    return text, blocks
