"""Alerts as Slack Block Kit messages (pure): the headline, the figures, the buttons and the
"who did what" status line. Every string from IonQ or a policy file is escaped."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from budgetbot.rules.findings import Finding, thread_key
from budgetbot.rules.kinds import KINDS

from .block_kit import (
    Block,
    _context,
    _fallback,
    _header,
    _mrkdwn,
    _plain,
    _section,
    _within_limits,
)
from .messages import (
    alert_headline,
    alert_lines,
    amount,
    figure_text,
    period_words,
    queue_text,
)
from .slack_text import (
    MAX_BUTTON,
    MAX_CONTEXT_TEXT,
    MAX_FIELD,
    MAX_FIELDS,
    MAX_HEADER,
    MAX_NAME,
    MAX_SECTION,
    MAX_URL,
    MAX_VALUE,
    cut,
    escape,
    escape_cut,
)

__all__ = [
    "ACK_ACTION",
    "BUTTONS_BLOCK",
    "CONSOLE_ACTION",
    "IONQ_CONSOLE_URL",
    "SNOOZE_DAY_ACTION",
    "SNOOZE_PERIOD_ACTION",
    "STATUS_BLOCK",
    "AlertRef",
    "alert_message",
    "alert_ref_value",
    "alert_status_lines",
    "read_alert_ref",
    "with_alert_status",
]

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
        if f.queue is not None:
            fields.append(f"*Queued now*\n{escape(queue_text(f.queue, f.measure))}")
            if f.committed is not None:
                fields.append(f"*Committed*\n{figure_text(f.committed, f.measure)}")
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
