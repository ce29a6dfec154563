"""Every budget's burn, for the terminal and for Slack (pure).

A burn bar shows the share of the budget used; where IonQ's top-5 lists hide part of the figure
the bar shows the lower bound and the text says "at least".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from budgetbot.rules.findings import Burn

from .messages import amount, figure_text, percent_text, period_words, queue_text, subject
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
    more_line,
)
from .text import safe_terminal

__all__ = [
    "bar",
    "budgets_blocks",
    "budgets_text",
    "burn_line",
    "burn_row",
    "burn_sections",
    "committed_words",
]

Block = dict[str, Any]

FULL, EMPTY = "█", "░"


def bar(percent: Decimal, width: int = 20) -> str:
    """``█████░░░░░`` for the share used; capped at full (over-budget shows in the number)."""
    filled = int(
        (min(max(percent, Decimal(0)), Decimal(100)) * width / 100).to_integral_value(ROUND_HALF_UP)
    )
    return FULL * filled + EMPTY * (width - filled)


def committed_words(b: Burn) -> str | None:
    """``$2,100.00 committed (105%, 3 queued)`` for a burn whose queue was read (a policy with
    ``committed_at``); ``queue not visible`` where no key sees it, never an empty queue; None
    for a burn without a queue standing."""
    q = b.queue
    if q is None:
        return None
    if q.state == "not_visible":
        return queue_text(q, b.measure)  # never an empty queue
    committed = b.committed
    if q.state == "no_estimate" or committed is None:
        why = queue_text(q, b.measure) if b.measurable else "no USD figure"
        return f"committed unknown ({why})"
    shown = f"{figure_text(committed, b.measure)} committed"
    percent = b.committed_percent
    detail = [percent_text(percent)] if percent is not None else []
    return f"{shown} ({', '.join([*detail, f'{q.jobs:,} queued'])})"


def burn_line(b: Burn, name_limit: int | None = None) -> str:
    """``Quantum Chem — November: $34,554.59 of $50,000.00 (69%); forecast $51,389.24``, and
    for a budget with ``committed_at`` ``; $36,100.00 committed (72%, 3 queued)``.

    ``name_limit`` cuts a longer group name (Slack); the terminal shows it whole."""
    who, _ = subject(b, name_limit)
    period = period_words(b.period_start, b.period_end)
    committed = committed_words(b)
    tail = "" if committed is None else f"; {committed}"
    if not b.measurable or b.percent is None or b.budget is None:
        return (
            f"{who} — {period}: no USD figure (IonQ reports credits without a USD breakdown)" + tail
        )
    line = (
        f"{who} — {period}: {figure_text(b.value, b.measure)} of {amount(b.budget, b.measure)}"
        f" ({percent_text(b.percent)})"
    )
    if b.forecast is not None:
        line += f"; forecast {figure_text(b.forecast, b.measure)}"
    return line + tail


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


def burn_row(b: Burn) -> str:
    """One budget in Slack: a burn bar and its line, the name cut to :data:`MAX_NAME`."""
    pct = b.percent.low if b.percent else Decimal(0)
    return f"`{bar(pct, 12)}` {escape(burn_line(b, MAX_NAME))}"


def burn_sections(
    burns: Sequence[Burn],
    room: int,
    *,
    row: Callable[[Burn], str] = burn_row,
    head: Callable[[str, Sequence[Burn]], str] | None = None,
) -> list[Block]:
    """One section per rule (in order of first appearance), each row a budget, in at most
    ``room`` blocks (at least 1).

    Nothing is dropped silently: rows that do not fit a rule's section are counted on its last
    line ("… and 12 more budgets"), and rules that do not fit the room are counted, with their
    budgets, in a last block ("… and 40 more budgets in 3 more rules: a, b, c").
    """
    by_rule: dict[str, list[Burn]] = {}
    for b in burns:
        by_rule.setdefault(b.rule, []).append(b)
    rules = list(by_rule.items())
    fits = rules if len(rules) <= room else rules[: max(room - 1, 0)]
    blocks: list[Block] = []
    for rule, items in fits:
        title = head(rule, items) if head else f"*{escape_cut(rule, 100)}*"
        text, _ = lines_within([row(b) for b in items], MAX_SECTION, head=title, unit="budgets")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    left = rules[len(fits) :]
    if left:
        count = sum(len(items) for _, items in left)
        names = ", ".join(escape_cut(r, 64) for r, _ in left[:20])
        more = ", …" if len(left) > 20 else ""
        line = (
            f"{more_line(count, 'budgets')} in {len(left)} more rules than fit here: {names}{more}"
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(line, 2000)}})
    return blocks


def budgets_blocks(burns: Sequence[Burn], *, title: str = "Budgets") -> tuple[str, list[Block]]:
    """The Slack view: a header and one section per rule, within Block Kit's limits; budgets
    that do not fit are counted ("… and N more budgets")."""
    text = f"{title}: {len(burns)} budget(s)"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(title, MAX_HEADER)}}
    ]
    if not burns:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "No budget policies."}}
        )
    blocks.extend(burn_sections(burns, MAX_BLOCKS - len(blocks)))
    return fit_message(text, blocks)
