"""The Slack notifier: alerts, digests and notices posted to channels and threads, and an
interrupted post found again by its key before anything is posted twice.

It joins each public channel it posts to (``conversations.join``, scope ``channels:join``):
posting needs no membership (``chat:write.public``) but reading does, and a post interrupted by a
crash is found again by reading the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.alerts.notifiers import (
    CHAT,
    DeliveryError,
    Note,
    Outgoing,
    OutgoingActionResult,
    OutgoingDigest,
    OutgoingNotice,
    OutgoingProposal,
    Receipt,
)
from budgetbot.render.action_blocks import outcome_message, proposal_message
from budgetbot.render.blocks import IONQ_CONSOLE_URL, Block, alert_message, notice_message
from budgetbot.render.digest import digest_blocks
from budgetbot.rules.findings import in_thread

from .deliver import (
    _CHANNEL_ID,
    _NOT_JOINABLE,
    ACTION_EVENT_TYPE,
    ALERT_EVENT_TYPE,
    DIGEST_EVENT_TYPE,
    HISTORY_PAGE_SIZE,
    HISTORY_PAGES,
    NO_CHANNEL,
    NOTICE_EVENT_TYPE,
    _api_error,
    _delivery_error,
    _scrub,
    failure_text,
    post_message,
)
from .digest_chart import attach_digest_chart
from .mentions import MentionResolver

__all__ = ["SlackNotifier"]

log = logging.getLogger("budgetbot.slack.deliver")


class SlackNotifier:
    """The ``chat`` destination on Slack: posts each note, rendered by its kind (:data:`_POST`);
    a resumed note is first looked for by its key (:meth:`_find_sent`)."""

    destination = CHAT

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
        return f"SlackNotifier(default_channel={self.default_channel!r})"

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        """Post ``note``; when ``resumed`` (an earlier attempt may have posted it), return the
        message found by its key instead, or raise :class:`DeliveryError` if Slack cannot tell."""
        found = self._find_sent(note) if resumed else None
        return Receipt(*(found if found is not None else _POST[type(note)](self, note)))

    def _post_alert(self, note: Outgoing) -> tuple[str, str]:
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

    def _post_digest(self, note: OutgoingDigest) -> tuple[str, str]:
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
        attach_digest_chart(self.client, note.digest, channel_id, ts, text, blocks, metadata)
        return channel_id, ts

    def _post_notice(self, note: OutgoingNotice) -> tuple[str, str]:
        return self._post_reply(note, NOTICE_EVENT_TYPE, *notice_message(note.text))

    def _post_proposal(self, note: OutgoingProposal) -> tuple[str, str]:
        return self._post_reply(note, ACTION_EVENT_TYPE, *proposal_message(note.proposal))

    def _post_action_result(self, note: OutgoingActionResult) -> tuple[str, str]:
        return self._post_reply(note, ACTION_EVENT_TYPE, *outcome_message(note.outcome))

    def _post_reply(
        self,
        note: OutgoingNotice | OutgoingProposal | OutgoingActionResult,
        event_type: str,
        text: str,
        blocks: list[Block],
    ) -> tuple[str, str]:
        """Post a note that answers an alert in its thread (at the top level while the alert
        has not gone out)."""
        channel = note.channel or self.default_channel
        thread_ts = None
        if note.thread is not None:
            channel, thread_ts = note.thread  # a reply to an alert lives in its thread
        if not channel:
            raise DeliveryError(NO_CHANNEL)
        metadata = {"event_type": event_type, "event_payload": {"dedup_key": note.dedup_key}}
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
        post there is then held rather than posted twice (see :meth:`_find_sent`).
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

    def _find_sent(self, note: Note) -> tuple[str, str] | None:
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
        thread = note.thread if not isinstance(note, OutgoingDigest) else None
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
                    and in_thread(str(payload.get("dedup_key") or ""), thread_key)
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


#: How each kind of note is posted.
_POST: dict[type[Any], Callable[[SlackNotifier, Any], tuple[str, str]]] = {
    Outgoing: SlackNotifier._post_alert,
    OutgoingDigest: SlackNotifier._post_digest,
    OutgoingNotice: SlackNotifier._post_notice,
    OutgoingProposal: SlackNotifier._post_proposal,
    OutgoingActionResult: SlackNotifier._post_action_result,
}


def _event_payload(message: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = (message.get("metadata") or {}).get("event_payload")
    return payload if isinstance(payload, Mapping) else {}


def _thread_key(note: Note) -> str | None:
    """The rule, group and period a note's thread is about (None: a note of no thread)."""
    if isinstance(note, Outgoing):
        return note.finding.thread_key
    if isinstance(note, OutgoingDigest):
        return None
    return note.thread_key
