"""The alert buttons: *Snooze 24 h*, *Snooze to end of period*, *Acknowledge*, the console link.

Clicks arrive at ``/slack/events`` as signed ``block_actions`` requests, verified by Bolt like any
other. Each listener ``ack()``s at once, then records the click in the store (a snooze of the
alert's rule and group, or an acknowledgement of the alert) and rewrites the message with
``chat.update`` so the channel sees who did what, and when. The store is the truth: the line is
rebuilt from it on every click, so two people clicking at once both show.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

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
from budgetbot.slack.deliver import update_message
from budgetbot.store import Store

if TYPE_CHECKING:
    from budgetbot.slack.app import Deps

__all__ = [
    "ALERT_ACTIONS",
    "PERIOD_OVER",
    "SNOOZE_DAY",
    "apply_action",
    "handle_alert_action",
    "register",
]

log = logging.getLogger("budgetbot.slack.actions")

#: How long *Snooze 24 h* keeps a rule and group quiet.
SNOOZE_DAY = dt.timedelta(hours=24)
#: The buttons this module answers.
ALERT_ACTIONS = (SNOOZE_DAY_ACTION, SNOOZE_PERIOD_ACTION, ACK_ACTION)
PERIOD_OVER = "That alert's period is over already: there is nothing left to snooze."
NO_STORE = "budgetbot has no state store here, so it cannot remember that; nothing was changed."


def apply_action(
    store: Store, action_id: str, ref: AlertRef, user: str, now: dt.datetime
) -> str | None:
    """Record one click; returns a sentence for the user when nothing could be recorded."""
    if action_id == ACK_ACTION:
        store.add_ack(ref.dedup_key, user, now)
        return None
    until = now + SNOOZE_DAY if action_id == SNOOZE_DAY_ACTION else ref.period_ends_at
    if until <= now:
        return PERIOD_OVER
    store.add_snooze(
        ref.rule, ref.group_key, until, user, now, period=ref.period, dedup_key=ref.dedup_key
    )
    return None


def status_lines(store: Store, ref: AlertRef, now: dt.datetime) -> list[str]:
    """Who acknowledged the alert and the snooze in force on its rule and group, from the store."""
    acks = [(a.by_user, a.at) for a in store.acks(ref.dedup_key)]
    snooze = store.active_snoozes(now).get((ref.rule, ref.group_key))
    return alert_status_lines(acks, (snooze.by_user, snooze.until, snooze.at) if snooze else None)


def _message_of(body: Mapping[str, Any]) -> tuple[str | None, str | None, dict[str, Any]]:
    """(channel id, ts, message) of the message the button was on."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
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
    action = (body.get("actions") or [{}])[0]
    action_id = str(action.get("action_id") or "")
    ref = read_alert_ref(str(action.get("value") or ""))
    user = str((body.get("user") or {}).get("id") or "")
    if ref is None or action_id not in ALERT_ACTIONS or not user:
        logger.warning("ignored a click on %r: not a budgetbot alert button", action_id)
        return
    if deps.store is None:
        respond(text=NO_STORE, response_type="ephemeral", replace_original=False)
        return
    now = deps.now()
    problem = apply_action(deps.store, action_id, ref, user, now)
    if problem is not None:
        respond(text=problem, response_type="ephemeral", replace_original=False)
        return
    logger.info("%s on %s by %s", action_id, ref.dedup_key, user)
    channel, ts, message = _message_of(body)
    if channel is None or ts is None:
        return
    text, blocks = _original(deps.store, ref, message)
    if not blocks:
        return
    try:
        update_message(
            client, channel, ts, text, with_alert_status(blocks, status_lines(deps.store, ref, now))
        )
    except DeliveryError as exc:
        logger.warning("the click was recorded, but the message was not updated: %s", exc)


def register(app: App, deps: Deps) -> None:
    """Bind the alert buttons to :func:`handle_alert_action`; the console link only acks."""

    def alert_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, logger: logging.Logger
    ) -> None:
        handle_alert_action(body, ack, client, respond, deps, logger)

    def console_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL; the click still asks for an answer

    for action_id in ALERT_ACTIONS:
        app.action(action_id)(alert_button)
    app.action(CONSOLE_ACTION)(console_link)
