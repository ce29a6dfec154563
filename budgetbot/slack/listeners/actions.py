"""The alert buttons: *Snooze 24 h*, *Snooze to end of period*, *Acknowledge*, the console link.

Clicks arrive at ``/slack/events`` as signed ``block_actions`` requests, verified by Bolt like any
other. A click whose button is not one of budgetbot's alert buttons (no readable alert reference,
no user) is refused with 400 and one log line before the listener runs. Each listener
``ack()``s at once, then records the click in the store (a snooze of the
alert's rule and group, or an acknowledgement of the alert) and rewrites the message with
``chat.update`` so the channel sees who did what, and when. The store is the truth: the line is
rebuilt from it on every click, so two people clicking at once both show.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient

from budgetbot.alerts.direct import snooze_person
from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.alerts.outbox import AlertPayload, decode
from budgetbot.render.blocks import (
    ACK_ACTION,
    CONSOLE_ACTION,
    SNOOZE_DAY_ACTION,
    SNOOZE_PERIOD_ACTION,
    AlertRef,
    Block,
    alert_message,
    alert_status_lines,
    read_alert_ref,
    with_alert_status,
)
from budgetbot.render.slack_text import MAX_VALUE
from budgetbot.slack.deliver import update_message
from budgetbot.slack.deps import Deps
from budgetbot.slack.direct import direct_status_lines, is_direct
from budgetbot.slack.replies import NO_STORE, PERIOD_OVER
from budgetbot.store import Store

__all__ = [
    "ALERT_ACTIONS",
    "SNOOZE_DAY",
    "Click",
    "apply_action",
    "handle_alert_action",
    "only_alert_buttons",
    "read_click",
    "register",
]

log = logging.getLogger("budgetbot.slack.actions")

#: How long *Snooze 24 h* keeps a rule and group quiet.
SNOOZE_DAY = dt.timedelta(hours=24)
#: The buttons this module answers.
ALERT_ACTIONS = (SNOOZE_DAY_ACTION, SNOOZE_PERIOD_ACTION, ACK_ACTION)


def apply_action(
    store: Store,
    action_id: str,
    ref: AlertRef,
    user: str,
    now: dt.datetime,
    *,
    direct: bool = False,
) -> str | None:
    """Record one click; returns a sentence for the user when nothing could be recorded.

    ``direct``: the click was in a direct message, where a snooze is the person's own (their
    direct messages of the rule and group), not the channel's.
    """
    if action_id == ACK_ACTION:
        store.add_ack(ref.dedup_key, user, now)
        return None
    until = now + SNOOZE_DAY if action_id == SNOOZE_DAY_ACTION else ref.period_ends_at
    if until <= now:
        return PERIOD_OVER
    if direct:
        snooze_person(store, ref.rule, ref.group_key, until, user, now)
        return None
    store.add_snooze(
        ref.rule, ref.group_key, until, user, now, period=ref.period, dedup_key=ref.dedup_key
    )
    return None


def status_lines(store: Store, ref: AlertRef, now: dt.datetime) -> list[str]:
    """Who acknowledged the alert and the snooze in force on its rule and group, from the store."""
    acks = [(a.by_user, a.at) for a in store.acks(ref.dedup_key)]
    snooze = store.active_snoozes(now).get((ref.rule, ref.group_key))
    return alert_status_lines(acks, (snooze.by_user, snooze.until, snooze.at) if snooze else None)


@dataclass(frozen=True)
class Click:
    """A click on an alert button: which button, on which alert, by whom."""

    action_id: str
    ref: AlertRef
    user: str


def read_click(body: Mapping[str, Any]) -> Click | None:
    """The click in a ``block_actions`` body, or None when it is not on a budgetbot alert button.

    Total: whatever the body holds, this answers and never raises.
    """
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action_id, value = actions[0].get("action_id"), actions[0].get("value")
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if action_id not in ALERT_ACTIONS or not isinstance(user_id, str) or not user_id:
        return None
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        return None
    try:
        ref = read_alert_ref(value)
    except RecursionError:  # JSON nested deeper than the parser goes
        return None
    return Click(str(action_id), ref, user_id) if ref is not None else None


def _action_id(body: Mapping[str, Any]) -> str:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return str(first.get("action_id") if isinstance(first, dict) else None)[:80]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _message_of(body: Mapping[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(channel id, ts, message) of the message the button was on."""
    container = _dict(body.get("container"))
    message = _dict(body.get("message"))
    channel = container.get("channel_id") or _dict(body.get("channel")).get("id")
    ts = container.get("message_ts") or message.get("ts")
    return (
        str(channel) if channel else None,
        str(ts) if ts else None,
        message if isinstance(message, dict) else {},
    )


def _original(store: Store, ref: AlertRef, message: Mapping[str, Any]) -> tuple[str, list[Block]]:
    """The alert's text and blocks: as Slack sent them with the click, else rendered again."""
    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        return str(message.get("text") or ""), blocks
    row = store.notification(ref.dedup_key)
    if row is not None:
        payload = decode(row.payload)
        if isinstance(payload, AlertPayload):
            return alert_message(payload.finding, mentions=[], dedup_key=ref.dedup_key)
    return str(message.get("text") or "budgetbot alert"), []


def handle_alert_action(
    body: Mapping[str, Any],
    ack: Ack,
    client: WebClient,
    respond: Respond,
    deps: Deps,
    logger: logging.Logger = log,
) -> None:
    """One click: acknowledge it, record it, show it on the message."""
    ack()
    click = read_click(body)
    if click is None:
        logger.warning("ignored a click on %r: not a budgetbot alert button", _action_id(body))
        return
    action_id, ref, user = click.action_id, click.ref, click.user
    if deps.store is None:
        respond(text=NO_STORE, response_type="ephemeral", replace_original=False)
        return
    now = deps.now()
    channel, ts, message = _message_of(body)
    direct = is_direct(channel)
    problem = apply_action(deps.store, action_id, ref, user, now, direct=direct)
    if problem is not None:
        respond(text=problem, response_type="ephemeral", replace_original=False)
        return
    logger.info("%s on %s by %s%s", action_id, ref.dedup_key, user, " (DM)" if direct else "")
    if channel is None or ts is None:
        return
    text, blocks = _original(deps.store, ref, message)
    if not blocks:
        return
    lines = (direct_status_lines if direct else status_lines)(deps.store, ref, now)
    try:
        update_message(client, channel, ts, text, with_alert_status(blocks, lines))
    except DeliveryError as exc:
        logger.warning("the click was recorded, but the message was not updated: %s", exc)


def only_alert_buttons(
    body: dict[str, Any], next: Callable[[], BoltResponse | None]
) -> BoltResponse | None:
    """Listener middleware: a click :func:`read_click` cannot read is 400, before any ``ack()``."""
    if read_click(body) is None:
        log.warning("refused a click on %r: not a budgetbot alert button (400)", _action_id(body))
        return BoltResponse(status=400, body="Not a budgetbot alert button.")
    return next()


def register(app: App, deps: Deps) -> None:
    """Bind the alert buttons to :func:`handle_alert_action`; the console link only acks."""

    def alert_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, logger: logging.Logger
    ) -> None:
        handle_alert_action(body, ack, client, respond, deps, logger)

    def console_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the click still asks for an answer

    for action_id in ALERT_ACTIONS:
        app.action(action_id, middleware=[only_alert_buttons])(alert_button)
    app.action(CONSOLE_ACTION)(console_link)
