"""Posting to Slack: the shared ``chat.postMessage`` call, ``chat.update``, ``views.publish``,
``response_url``, and failures in words.

Retries happen inside slack-sdk's ``WebClient`` through retry handlers built by
:func:`make_web_client` (:mod:`budgetbot.slack.retry`): connection errors, 5xx and 429 (after
Slack's ``Retry-After``) are tried again up to :data:`MAX_RETRIES` times, each wait going through
an injected ``sleep``. Answers that no retry can fix (``invalid_auth``, ``channel_not_found``…)
fail at once. Every failure becomes a :class:`~budgetbot.alerts.notifiers.DeliveryError` naming
the channel, the method, the attempts and Slack's error code, with a hint where one helps; the
token never appears in one. The alert notifier is :class:`budgetbot.slack.notifier.SlackNotifier`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.render.blocks import Block

from .retry import (
    DEFAULT_TIMEOUT,
    MAX_RETRIES,
    RETRY_STATUSES,
    ConnectionRetry,
    RateLimitRetry,
    ServerErrorRetry,
    make_web_client,
    retry_after,
    retry_handlers,
)

__all__ = [
    "ACTION_EVENT_TYPE",
    "ALERT_EVENT_TYPE",
    "DIGEST_EVENT_TYPE",
    "MAX_RETRIES",
    "NO_CHANNEL",
    "ConnectionRetry",
    "RateLimitRetry",
    "ServerErrorRetry",
    "failure_text",
    "make_web_client",
    "post_message",
    "publish_view",
    "respond_url",
    "retry_after",
    "retry_handlers",
    "update_message",
]

log = logging.getLogger("budgetbot.slack.deliver")

#: Message metadata event type of alerts (``conversations.history`` finds them by it).
ALERT_EVENT_TYPE = "budgetbot_alert"
DIGEST_EVENT_TYPE = "budgetbot_digest"
NOTICE_EVENT_TYPE = "budgetbot_notice"
#: A budget action's proposal, or what an action did.
ACTION_EVENT_TYPE = "budgetbot_action"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
NO_CHANNEL = "no channel: set `channel:` in the policy or BUDGETBOT_DEFAULT_CHANNEL"
#: A digest with this many blocks has no room for the chart's link (Block Kit allows 50).
MAX_DIGEST_BLOCKS = 50
CHART_LINK_TEXT = "Chart: spend per day and top projects"
#: How far back an interrupted post is looked for: pages of a channel's history (or of a thread).
HISTORY_PAGES = 5
HISTORY_PAGE_SIZE = 200
#: ``conversations.join`` answers meaning "nothing to join": a private channel or a DM, where the
#: bot is a member by invitation (or could not have posted at all).
_NOT_JOINABLE = frozenset({"method_not_supported_for_channel_type"})

_HINTS = {
    "channel_not_found": (
        "no such channel, or it is private and the bot is not invited: create it (private:"
        " /invite @budgetbot there) or change the `channel:` of the policy or digest that"
        " names it"
    ),
    "not_in_channel": "invite the bot to the channel, or add the channels:join scope",
    "is_archived": "the channel is archived",
    "invalid_auth": "check SLACK_BOT_TOKEN",
    "not_authed": "check SLACK_BOT_TOKEN",
    "account_inactive": "the bot's token was revoked: check SLACK_BOT_TOKEN",
    "token_revoked": "check SLACK_BOT_TOKEN",
    "missing_scope": "add the missing scope to the Slack app and reinstall it",
    "invalid_blocks": "a budgetbot bug: please report it",
    "msg_too_long": "a budgetbot bug: please report it",
    "thread_not_found": "the first alert of this thread was deleted",
}
_CODE = re.compile(r"^[a-z_]{2,64}$")
_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")


# -- failures in words ------------------------------------------------------------------------


def _scrub(text: str, client: WebClient | None = None) -> str:
    token = getattr(client, "token", None)
    if isinstance(token, str) and token:
        text = text.replace(token, "[token]")
    return _TOKEN.sub("[token]", text)


def _attempts(client: WebClient, status: int | None) -> int:
    """How many attempts the client made before giving up on an answer with ``status``."""
    if status is None:
        kinds: tuple[type[RetryHandler], ...] = (ConnectionErrorRetryHandler,)
    elif status == 429:
        kinds = (RateLimitErrorRetryHandler,)
    elif status in RETRY_STATUSES:
        kinds = (ServerErrorRetryHandler,)
    else:
        return 1
    counts = [h.max_retry_count for h in client.retry_handlers if isinstance(h, kinds)]
    return 1 + max(counts, default=0)


def _api_error(exc: SlackApiError) -> tuple[str, int | None]:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, str) or not _CODE.match(error):
        error = f"HTTP {status}" if status is not None else "unexpected answer"
    return error, status


def failure_text(where: str, method: str, attempts: int, error: str) -> str:
    """``#quantum-spend: chat.postMessage failed after 4 attempts: ratelimited``."""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    hint = _HINTS.get(error)
    return f"{where}: {method} failed{tries}: {error}" + (f" ({hint})" if hint else "")


def _delivery_error(client: WebClient, where: str, method: str, exc: Exception) -> DeliveryError:
    if isinstance(exc, SlackApiError):
        error, status = _api_error(exc)
        attempts = _attempts(client, status)
    else:
        error = f"cannot reach Slack ({type(exc).__name__})"
        attempts = _attempts(client, None)
    text = _scrub(failure_text(where, method, attempts, error), client)
    log.debug("%s", text)
    return DeliveryError(text)


# -- posting ----------------------------------------------------------------------------------


def _posting_client(client: WebClient) -> WebClient:
    """The same client with only the rate-limit retry (posting is not idempotent)."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[h for h in client.retry_handlers if isinstance(h, RateLimitRetry)],
        logger=client.logger,
    )


def post_message(
    client: WebClient,
    channel: str,
    text: str,
    blocks: list[Block],
    *,
    thread_ts: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """``chat.postMessage``; returns ``(channel_id, ts)`` or raises :class:`DeliveryError`.

    Only a 429 is retried here: Slack has not posted a rate-limited message. A timeout or a 5xx
    may come after Slack *did* post it, so those go back to the outbox, whose next attempt first
    looks for the message by its key (:class:`~budgetbot.slack.notifier.SlackNotifier`) instead
    of posting it again.
    """
    method = "chat.postMessage"
    client = _posting_client(client)
    try:
        answer = client.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        raise _delivery_error(client, channel, method, exc) from None
    channel_id, ts = answer.get("channel"), answer.get("ts")
    if not isinstance(channel_id, str) or not isinstance(ts, str):
        raise DeliveryError(f"{channel}: {method} answered without a channel and ts")
    return channel_id, ts


def update_message(
    client: WebClient, channel: str, ts: str, text: str, blocks: list[Block]
) -> None:
    """``chat.update`` of a message we posted; raises :class:`DeliveryError` on failure."""
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except (SlackApiError, SlackClientError, OSError) as exc:
        raise _delivery_error(client, channel, "chat.update", exc) from None


def publish_view(client: WebClient, user_id: str, view: dict[str, Any]) -> None:
    """``views.publish`` of a user's App Home; raises :class:`DeliveryError` on failure."""
    try:
        client.views_publish(user_id=user_id, view=view)
    except (SlackApiError, SlackClientError, OSError) as exc:
        raise _delivery_error(client, f"App Home of {user_id}", "views.publish", exc) from None


def respond_url(
    response_url: str,
    payload: dict[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Post a slash command's answer to its ``response_url`` (ephemeral unless the payload
    says ``"response_type": "in_channel"``); raises :class:`DeliveryError` on failure."""
    client = WebhookClient(
        response_url, timeout=DEFAULT_TIMEOUT, retry_handlers=retry_handlers(sleep)
    )
    try:
        answer = client.send_dict(payload)
    except (SlackClientError, OSError) as exc:
        # The URL itself is a credential of sorts: never in the message.
        raise DeliveryError(f"response_url: cannot reach Slack ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise DeliveryError(
            f"response_url: Slack answered {_webhook_error(answer.status_code, answer.body)}"
        )


def _webhook_error(status: int, body: str | None) -> str:
    """``429 ratelimited`` or ``404 expired_url``: Slack's error code, else the status only."""
    text = (body or "").strip()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        text = doc["error"]
    return f"{status} {text}" if _CODE.match(text) else f"HTTP {status}"
