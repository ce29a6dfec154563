"""Posting to Slack: the alert sink, the shared ``chat.postMessage`` call, ``response_url``.

Retries happen inside slack-sdk's ``WebClient`` through retry handlers built by
:func:`make_web_client`: connection errors, 5xx and 429 (after Slack's ``Retry-After``) are tried
again up to :data:`MAX_RETRIES` times, each wait going through an injected ``sleep``. Answers that
no retry can fix (``invalid_auth``, ``channel_not_found``…) fail at once. Every failure becomes a
:class:`~budgetbot.alerts.cycle.DeliveryError` naming the channel, the method, the attempts and
Slack's error code, with a hint where one helps; the token never appears in one.

The sink joins each public channel it posts to (``conversations.join``, scope
``channels:join``): posting needs no membership (``chat:write.public``) but reading does, and a
post interrupted by a crash is found again by reading the channel (:meth:`SlackSink.find_sent`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    Jitter,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from budgetbot.alerts.cycle import DeliveryError, Note, Outgoing, OutgoingDigest, OutgoingNotice
from budgetbot.render.blocks import IONQ_CONSOLE_URL, Block, alert_message, notice_message
from budgetbot.render.digest import digest_blocks
from budgetbot.reports.digest import DigestReport

from .mentions import MentionResolver
from .upload import upload_chart_file

__all__ = [
    "ALERT_EVENT_TYPE",
    "DIGEST_EVENT_TYPE",
    "MAX_RETRIES",
    "NO_CHANNEL",
    "ConnectionRetry",
    "RateLimitRetry",
    "ServerErrorRetry",
    "SlackSink",
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

#: Retries after the first attempt (so at most ``MAX_RETRIES + 1`` attempts per call).
MAX_RETRIES = 3
#: Longest wait honoured from a ``Retry-After``; a longer one is cut to this.
MAX_RETRY_AFTER = 60.0
#: Wait when a 429 carries no ``Retry-After``.
DEFAULT_RETRY_AFTER = 1.0
#: Exponential backoff for 5xx and connection errors: 0.5 s, 1 s, 2 s.
BACKOFF_FACTOR = 0.5
#: Seconds to wait for Slack to answer one request.
DEFAULT_TIMEOUT = 15
#: Status codes worth another try.
RETRY_STATUSES = frozenset({500, 502, 503, 504})
#: Message metadata event type of alerts (``conversations.history`` finds them by it).
ALERT_EVENT_TYPE = "budgetbot_alert"
DIGEST_EVENT_TYPE = "budgetbot_digest"
NOTICE_EVENT_TYPE = "budgetbot_notice"
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


class _NoJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration


_BACKOFF = BackoffRetryIntervalCalculator(backoff_factor=BACKOFF_FACTOR, jitter=_NoJitter())


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 after its ``Retry-After``, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # pragma: no cover - only called for a 429 answer
            raise error or RuntimeError("rate-limit retry without a response")
        state.next_attempt_requested = True
        self.sleep(retry_after(response.headers))
        state.increment_current_attempt()


class ServerErrorRetry(ServerErrorRetryHandler):
    """Retries 500, 502, 503 and 504 with exponential backoff, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(max_retry_count=max_retry_count, interval_calculator=_BACKOFF)
        self.sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRY_STATUSES

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        _backoff(self, state, self.sleep)


class ConnectionRetry(ConnectionErrorRetryHandler):
    """Retries refused or reset connections and timeouts, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(
            max_retry_count=max_retry_count,
            interval_calculator=_BACKOFF,
            error_types=[URLError, ConnectionError, TimeoutError],
        )
        self.sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        _backoff(self, state, self.sleep)


def _backoff(handler: RetryHandler, state: RetryState, sleep: Callable[[float], None]) -> None:
    state.next_attempt_requested = True
    sleep(handler.interval_calculator.calculate_sleep_duration(state.current_attempt))
    state.increment_current_attempt()


def retry_after(headers: Mapping[str, list[str] | str]) -> float:
    """Seconds a 429 asks us to wait (``Retry-After``, capped), or a default."""
    for key, values in headers.items():
        if key.lower() == "retry-after" and values:
            try:
                seconds = float(values if isinstance(values, str) else values[0])
            except ValueError:
                break
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return DEFAULT_RETRY_AFTER


def retry_handlers(
    sleep: Callable[[float], None] = time.sleep, *, max_retries: int = MAX_RETRIES
) -> list[RetryHandler]:
    """Connection errors, 5xx and 429, each retried ``max_retries`` times through ``sleep``."""
    return [
        ConnectionRetry(max_retries, sleep=sleep),
        ServerErrorRetry(max_retries, sleep=sleep),
        RateLimitRetry(max_retries, sleep=sleep),
    ]


def make_web_client(
    token: str, base_url: str, *, sleep: Callable[[float], None] = time.sleep
) -> WebClient:
    """A ``WebClient`` for ``base_url`` (``SLACK_API_URL``) that retries what is worth it."""
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=DEFAULT_TIMEOUT,
        retry_handlers=retry_handlers(sleep),
        logger=logging.getLogger("budgetbot.slack.sdk"),
    )


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
    looks for the message by its key (``SlackSink.find_sent``) instead of posting it again.
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


class SlackSink:
    """The alert sink of :func:`budgetbot.alerts.cycle.deliver_pending` for Slack."""

    def __init__(
        self,
        client: WebClient,
        *,
        default_channel: str | None = None,
        resolver: MentionResolver | None = None,
        console_url: str | None = IONQ_CONSOLE_URL,
    ) -> None:
        self.client = client
        self.default_channel = default_channel
        self.resolver = resolver if resolver is not None else MentionResolver(client)
        self.console_url = console_url
        self._channel_ids: dict[str, str] = {}
        #: Channel ids whose history the bot can read (joined, or a member by invitation).
        self._joined: set[str] = set()
        #: Channel ids a join was refused for, and why (not tried again after each post, only
        #: on a lookup).
        self.unjoinable: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SlackSink(default_channel={self.default_channel!r})"

    def send(self, note: Outgoing) -> tuple[str, str]:
        channel = note.channel or self.default_channel
        thread_ts = None
        if note.thread is not None:
            # A reply lives in its thread's channel, whatever the rule says now.
            channel, thread_ts = note.thread
        if not channel:
            raise DeliveryError(NO_CHANNEL)
        mentions = self.resolver.resolve(note.finding.mention)
        text, blocks = alert_message(
            note.finding, mentions=mentions, console_url=self.console_url, dedup_key=note.dedup_key
        )
        metadata = {"event_type": ALERT_EVENT_TYPE, "event_payload": {"dedup_key": note.dedup_key}}
        return self._joined_after(
            post_message(self.client, channel, text, blocks, thread_ts=thread_ts, metadata=metadata)
        )

    def send_digest(self, note: OutgoingDigest) -> tuple[str, str]:
        channel = note.channel or self.default_channel
        if not channel:
            raise DeliveryError(NO_CHANNEL.replace("the policy", "the digest"))
        text, blocks = digest_blocks(note.digest)
        metadata = {
            "event_type": DIGEST_EVENT_TYPE,
            "event_payload": {"dedup_key": note.dedup_key},
        }
        channel_id, ts = self._joined_after(
            post_message(self.client, channel, text, blocks, metadata=metadata)
        )
        self._attach_digest_chart(note.digest, channel_id, ts, text, blocks, metadata)
        return channel_id, ts

    def _attach_digest_chart(
        self,
        digest: DigestReport,
        channel_id: str,
        ts: str,
        text: str,
        blocks: list[Block],
        metadata: dict[str, Any],
    ) -> None:
        """Put the digest's chart in its thread and link it from the digest; never raises.

        The digest is posted first and stands on its own (totals, top lists, budgets and the
        per-day trend in text): it is what the outbox records, and nothing about the chart can
        hold it back. Then the chart is uploaded into the digest's thread (the channel id and
        ``ts`` come from the post; ``files_upload_v2`` needs an id, not a name), so it is shared
        with exactly the digest's audience, and the digest is updated (``chat.update``, same
        metadata) with a context line linking it. A failure at any step — no ``files:write``,
        Slack or the network refusing — is one warning and leaves the digest as posted.
        """
        if not digest.daily or len(blocks) >= MAX_DIGEST_BLOCKS:
            return
        # Imported here: matplotlib costs half a second to import, and only charts need it.
        from budgetbot.render.chart import digest_chart

        try:
            png = digest_chart(digest)
        except Exception as exc:  # a chart must never cost the digest
            log.warning("digest %s: chart not drawn: %s: %s", digest.name, type(exc).__name__, exc)
            return
        title = f"IonQ spend per day, {digest.start} to {digest.end - dt.timedelta(days=1)}"
        uploaded = upload_chart_file(
            self.client,
            channel_id,
            png,
            title=title,
            thread_ts=ts,
            initial_comment=f"Chart of the {digest.name} digest: spend per day and top projects.",
        )
        if uploaded is None:
            return
        link = (
            f"<{uploaded.permalink}|{CHART_LINK_TEXT}>" if uploaded.permalink else CHART_LINK_TEXT
        )
        chart_block: Block = {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f":bar_chart: {link} (in the thread)"}],
        }
        try:
            self.client.chat_update(
                channel=channel_id,
                ts=ts,
                text=text,
                blocks=[*blocks, chart_block],
                metadata=metadata,
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning(
                "%s: could not link the chart from the digest: %s",
                channel_id,
                _scrub(str(exc), self.client),
            )

    def send_notice(self, note: OutgoingNotice) -> tuple[str, str]:
        channel = note.channel or self.default_channel
        thread_ts = None
        if note.thread is not None:
            channel, thread_ts = note.thread  # a reply to an alert lives in its thread
        if not channel:
            raise DeliveryError(NO_CHANNEL)
        text, blocks = notice_message(note.text)
        metadata = {"event_type": NOTICE_EVENT_TYPE, "event_payload": {"dedup_key": note.dedup_key}}
        return self._joined_after(
            post_message(self.client, channel, text, blocks, thread_ts=thread_ts, metadata=metadata)
        )

    # -- channel membership ---------------------------------------------------------------

    def _joined_after(self, posted: tuple[str, str]) -> tuple[str, str]:
        """Join the channel just posted to (once per process), so its history is readable."""
        if posted[0] not in self.unjoinable:
            self._join(posted[0])
        return posted

    def _join(self, channel_id: str) -> bool:
        """Make sure the bot can read ``channel_id``: ``conversations.join`` a public channel.

        ``chat:write.public`` lets the bot post to a public channel it is not in, but not read
        it, and reading is how an interrupted post is found again. Never raises: a channel that
        cannot be joined (no ``channels:join`` scope, archived…) is one warning; an interrupted
        post there is then held rather than posted twice (see :meth:`find_sent`).
        """
        if channel_id in self._joined:
            return True
        try:
            self.client.conversations_join(channel=channel_id)
        except SlackApiError as exc:
            error, _ = _api_error(exc)
            if error in _NOT_JOINABLE:
                self._joined.add(channel_id)  # private: the bot is in it by invitation, or not
                return True
            why = _scrub(failure_text(channel_id, "conversations.join", 1, error), self.client)
        except (SlackClientError, OSError) as exc:
            unreachable = f"cannot reach Slack ({type(exc).__name__})"
            why = failure_text(channel_id, "conversations.join", 1, unreachable)
        else:
            self._joined.add(channel_id)
            self.unjoinable.pop(channel_id, None)
            return True
        log.warning(
            "cannot join a channel budgetbot posts to, so it cannot read it to check an"
            " interrupted post (such a notification is held, never posted twice): %s",
            why,
        )
        self.unjoinable[channel_id] = why
        return False

    # -- finding an interrupted post --------------------------------------------------------

    def find_sent(self, note: Note) -> tuple[str, str] | None:
        """The message an earlier, interrupted attempt posted for ``note``, found by its key.

        Message metadata carries the note's ``dedup_key``. The message may be wherever a post
        could have put it: in the thread the note now belongs to, at the top level of its
        channel (posted before a later alert of the same rule, group and period became the
        thread's root), or in the thread of another of budgetbot's messages of the same rule,
        group and period. So the thread is read, then the channel's recent history
        (:data:`HISTORY_PAGES` pages), then the threads under those messages.

        None means Slack answered and the message is not there. A lookup Slack cannot answer
        (the bot cannot read the channel even after joining it, a missing scope, Slack
        unreachable) raises :class:`DeliveryError`: the notification is held and reported,
        never posted a second time on a guess, until a later cycle can tell.
        """
        key = note.dedup_key
        thread = note.thread if isinstance(note, Outgoing | OutgoingNotice) else None
        if thread is not None:
            found = self._find_in_thread(thread[0], thread[1], key)
            if found is not None:
                return found
        places = [thread[0]] if thread is not None else []
        if own := note.channel or self.default_channel:
            places.append(own)
        searched: set[str] = set()
        for place in places:
            channel_id = self._lookup_channel_id(place)
            if channel_id is None or channel_id in searched:
                continue
            searched.add(channel_id)
            skip = thread[1] if thread is not None and thread[0] == channel_id else None
            found = self._find_in_channel(channel_id, key, _thread_key(note), skip)
            if found is not None:
                return found
        return None

    def _lookup_channel_id(self, channel: str) -> str | None:
        """The id of a channel name; None when Slack lists no such channel (a post there
        would be refused too: ``channel_not_found``)."""
        try:
            return self._channel_id(channel)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise self._held(channel, "conversations.list", exc) from None

    def _find_in_channel(
        self, channel_id: str, key: str, thread_key: str | None, skip: str | None
    ) -> tuple[str, str] | None:
        roots: list[str] = []
        cursor = None
        for _ in range(HISTORY_PAGES):
            answer = self._read(
                "conversations.history",
                channel_id,
                include_all_metadata=True,
                limit=HISTORY_PAGE_SIZE,
                cursor=cursor,
            )
            for message in answer.get("messages") or []:
                payload = _event_payload(message)
                if payload.get("dedup_key") == key:
                    return channel_id, str(message["ts"])
                if (
                    thread_key is not None
                    and message.get("reply_count")
                    and message.get("ts") != skip
                    and str(payload.get("dedup_key") or "").startswith(thread_key + "|")
                ):
                    roots.append(str(message["ts"]))
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        for root in roots:
            found = self._find_in_thread(channel_id, root, key)
            if found is not None:
                return found
        return None

    def _find_in_thread(self, channel_id: str, ts: str, key: str) -> tuple[str, str] | None:
        cursor = None
        for _ in range(HISTORY_PAGES):
            answer = self._read(
                "conversations.replies",
                channel_id,
                ts=ts,
                include_all_metadata=True,
                limit=HISTORY_PAGE_SIZE,
                cursor=cursor,
            )
            if answer is None:
                return None  # the thread's root was deleted: nothing can be in it
            for message in answer.get("messages") or []:
                if _event_payload(message).get("dedup_key") == key:
                    return channel_id, str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _read(self, method: str, channel_id: str, **args: Any) -> Any:
        """One history or replies page; joins the channel once if the bot is not in it.

        Returns None for a thread that does not exist; raises the held :class:`DeliveryError`
        for anything Slack cannot answer.
        """
        call = getattr(self.client, method.replace(".", "_"))
        for attempt in (1, 2):
            try:
                return call(channel=channel_id, **args)
            except SlackApiError as exc:
                error, _ = _api_error(exc)
                if error == "thread_not_found" and method == "conversations.replies":
                    return None
                if error == "not_in_channel" and attempt == 1:
                    self._joined.discard(channel_id)  # evidently not (any more)
                    if self._join(channel_id):
                        continue
                raise self._held(channel_id, method, exc) from None
            except (SlackClientError, OSError) as exc:
                raise self._held(channel_id, method, exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _held(self, where: str, method: str, exc: Exception) -> DeliveryError:
        """The failure of a lookup: the notification waits, it is not posted again blind."""
        failure = _delivery_error(self.client, where, method, exc)
        return DeliveryError(
            f"{failure}; cannot tell whether an interrupted attempt posted it, so it is held"
            " (not posted again) until budgetbot can read the channel"
        )

    def _channel_id(self, channel: str) -> str | None:
        """A channel id for a name like ``#quantum-spend`` (history needs ids), cached."""
        name = channel.removeprefix("#")
        if _CHANNEL_ID.match(name):
            return name
        if name not in self._channel_ids:
            cursor = None
            while True:
                page = self.client.conversations_list(
                    types="public_channel,private_channel",
                    limit=1000,
                    cursor=cursor,
                    exclude_archived=True,
                )
                for c in page.get("channels") or []:
                    self._channel_ids[str(c.get("name"))] = str(c.get("id"))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        return self._channel_ids.get(name)


def _event_payload(message: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = (message.get("metadata") or {}).get("event_payload")
    return payload if isinstance(payload, Mapping) else {}


def _thread_key(note: Note) -> str | None:
    """The rule, group and period a note's thread is about (None: a note of no thread)."""
    if isinstance(note, Outgoing):
        return note.finding.thread_key
    if isinstance(note, OutgoingNotice):
        return note.thread_key
    return None


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
