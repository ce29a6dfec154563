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
from typing import Any

from budgetbot.rules.findings import Burn, Finding

from .budgets import burn_row, burn_sections
from .messages import alert_headline
from .slack_text import (
    MAX_CONTEXT_TEXT,
    MAX_HEADER,
    MAX_NAME,
    MAX_SECTION,
    MAX_VIEW_BLOCKS,
    cut,
    escape_cut,
    fit_view,
)

__all__ = ["MAX_HOME_BLOCKS", "RECENT_ALERTS", "HomeAlert", "home_view"]

#: Slack takes at most 100 blocks in a Home tab view.
MAX_HOME_BLOCKS = MAX_VIEW_BLOCKS
#: Alerts listed under "Recent alerts".
RECENT_ALERTS = 10
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
    return f"<@{user}>" if _SLACK_USER_ID.match(user) else escape_cut(user, 80)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def _context(text: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": cut(text, MAX_CONTEXT_TEXT)}],
    }


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, MAX_HEADER)}}


def _burn_row(b: Burn) -> str:
    row = burn_row(b)
    if b.reaches_budget_on is not None:
        row += f"; reaches 100% on {b.reaches_budget_on:%b} {b.reaches_budget_on.day}"
    return row


def _rule_head(rule: str, items: Sequence[Burn]) -> str:
    head = f"*{escape_cut(rule, 100)}*"
    if items[0].description:
        head += f" · {escape_cut(items[0].description, 300)}"
    return head


def _alert_block(alert: HomeAlert) -> Block:
    f = alert.finding
    facts = [f"`{escape_cut(f.rule, 100)}`", _when(alert.at)]
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
    text = f"*{escape_cut(alert_headline(f, MAX_NAME), 1000)}*\n" + " · ".join(facts)
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
        blocks.append(_section(escape_cut(note, 1000)))
    shown_alerts = list(alerts[:RECENT_ALERTS])
    # Room left for budgets: the alerts part takes a divider, a header and its alerts (or a
    # line saying there are none).
    tail = 2 + max(len(shown_alerts), 1)
    room = MAX_HOME_BLOCKS - len(blocks) - tail
    if not burns and not note:
        blocks.append(_section("No budget policies."))
    blocks.extend(burn_sections(burns, room, row=_burn_row, head=_rule_head))
    blocks.append({"type": "divider"})
    blocks.append(_header("Recent alerts"))
    if not shown_alerts:
        blocks.append(_context("No alerts yet."))
    blocks.extend(_alert_block(a) for a in shown_alerts)
    return fit_view({"type": "home", "blocks": blocks})
