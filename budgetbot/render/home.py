"""The App Home tab: every budget's burn this period, its forecast, and the latest alerts (pure).

:func:`home_view` returns the ``view`` of ``views.publish`` (type ``home``), within Block Kit's
limits for Home tabs (at most :data:`MAX_HOME_BLOCKS` blocks): one section per rule with a burn
bar per budget, then the most recent alerts with who acknowledged or snoozed them. Names from
IonQ and policy files are escaped; rules that do not fit are counted, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgetbot.rules.findings import Burn, Finding

from .budgets import bar, burn_line
from .messages import alert_headline
from .slack_text import MAX_HEADER, MAX_SECTION, escape, truncate

__all__ = ["MAX_HOME_BLOCKS", "RECENT_ALERTS", "HomeAlert", "home_view"]

#: Slack takes at most 100 blocks in a Home tab view.
MAX_HOME_BLOCKS = 100
#: Alerts listed under "Recent alerts".
RECENT_ALERTS = 10
#: Rules named in the line counting those that did not fit.
_NAMED_LEFT = 20
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")

Block = dict[str, Any]


@dataclass(frozen=True)
class HomeAlert:
    """One alert from the outbox, with what people did about it."""

    finding: Finding
    #: When it was recorded (decided), UTC.
    at: dt.datetime
    sent: bool = True
    acknowledged_by: tuple[str, ...] = ()
    snoozed_until: dt.datetime | None = None


def _when(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC)
    return f"{utc:%b} {utc.day} {utc:%H:%M} UTC"


def _who(user: str) -> str:
    return f"<@{user}>" if _SLACK_USER_ID.match(user) else escape(truncate(user, 80))


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 2000)}]}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, MAX_HEADER)}}


def _lines_within(head: str, lines: Sequence[str], limit: int) -> str:
    """``head`` and as many whole lines as fit in ``limit``; the rest counted on a last line."""
    out = [head]
    size = len(head)
    for i, line in enumerate(lines):
        more = f"… and {len(lines) - i} more"
        if size + 1 + len(line) + (len(more) + 1 if i < len(lines) - 1 else 0) > limit:
            out.append(more)
            break
        out.append(line)
        size += 1 + len(line)
    return "\n".join(out)


def _burn_row(b: Burn) -> str:
    pct = b.percent.low if b.percent else Decimal(0)
    row = f"`{bar(pct, 12)}` {escape(burn_line(b))}"
    if b.reaches_budget_on is not None:
        row += f"; reaches 100% on {b.reaches_budget_on:%b} {b.reaches_budget_on.day}"
    return row


def _rule_section(rule: str, items: Sequence[Burn]) -> Block:
    first = items[0]
    head = f"*{escape(truncate(rule, 100))}*"
    if first.description:
        head += f" · {escape(truncate(first.description, 300))}"
    return _section(_lines_within(head, [_burn_row(b) for b in items], MAX_SECTION))


def _alert_block(alert: HomeAlert) -> Block:
    f = alert.finding
    facts = [f"`{escape(truncate(f.rule, 100))}`", _when(alert.at)]
    if not alert.sent:
        facts.append("waiting to be delivered")
    if alert.snoozed_until is not None:
        facts.append(f":zzz: snoozed until {_when(alert.snoozed_until)}")
    if alert.acknowledged_by:
        who = ", ".join(_who(u) for u in alert.acknowledged_by[:5])
        extra = len(alert.acknowledged_by) - 5
        facts.append(
            f":white_check_mark: acknowledged by {who}" + (f" +{extra}" if extra > 0 else "")
        )
    text = f"*{escape(truncate(alert_headline(f), 1000))}*\n" + " · ".join(facts)
    return _section(text)


def home_view(
    burns: Sequence[Burn],
    alerts: Sequence[HomeAlert],
    now: dt.datetime,
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """The Home tab at ``now``: budgets (grouped by rule, in policy order), then recent alerts.

    ``note`` is one plain sentence shown under the title (e.g. IonQ not answering, so no
    budgets are shown). ``alerts`` are newest first; the first :data:`RECENT_ALERTS` are shown.
    """
    blocks: list[Block] = [
        _header("IonQ budgets"),
        _context(f"Current UTC periods, as of {_when(now)}; refreshed after every budget check."),
    ]
    if note:
        blocks.append(_section(escape(truncate(note, 1000))))
    by_rule: dict[str, list[Burn]] = {}
    for b in burns:
        by_rule.setdefault(b.rule, []).append(b)
    shown_alerts = list(alerts[:RECENT_ALERTS])
    # Room left for rule sections: the alerts part takes a divider, a header, its alerts (or a
    # line saying there are none) and, perhaps, a line counting rules that did not fit.
    tail = 2 + max(len(shown_alerts), 1)
    room = MAX_HOME_BLOCKS - len(blocks) - tail - 1
    rules = list(by_rule.items())
    if not rules and not note:
        blocks.append(_section("No budget policies."))
    for rule, items in rules[:room]:
        blocks.append(_rule_section(rule, items))
    if len(rules) > room:
        left = rules[room:]
        names = ", ".join(escape(truncate(r, 64)) for r, _ in left[:_NAMED_LEFT])
        more = ", …" if len(left) > _NAMED_LEFT else ""
        blocks.append(_context(f"{len(left)} more rules than fit here: {names}{more}"))
    blocks.append({"type": "divider"})
    blocks.append(_header("Recent alerts"))
    if not shown_alerts:
        blocks.append(_context("No alerts yet."))
    blocks.extend(_alert_block(a) for a in shown_alerts)
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
