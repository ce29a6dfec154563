"""Direct messages on Slack: the ``dm`` destination's notifier, and a person's snooze from one.

:class:`DirectMessageNotifier` delivers the outbox rows that
:func:`budgetbot.alerts.direct.record_direct` addresses to a person: an e-mail address is
resolved to a Slack user when the message goes out (``users.lookupByEmail``, scope
``users:read.email``), the conversation is opened (``conversations.open``, scope ``im:write``)
and the alert posted there (``chat.postMessage``), threaded under the person's first direct
message of the same rule, group and period. A post interrupted by a crash is looked for in the
conversation (``conversations.history``, scope ``im:history``) before it is posted again.

The alert's buttons work in a direct message too; there, a *Snooze* quiets only the person's
direct messages of that rule and group (:mod:`budgetbot.slack.listeners.actions`), not the
channel; the message shows it (:func:`direct_status_lines`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.alerts.direct import person_snooze
from budgetbot.alerts.notifiers import DIRECT, DeliveryError, Note, Outgoing, Receipt
from budgetbot.render.blocks import (
    IONQ_CONSOLE_URL,
    AlertRef,
    alert_message,
    alert_status_lines,
)
from budgetbot.store import Store

from .deliver import ALERT_EVENT_TYPE, _api_error, _delivery_error, post_message
from .notifier import SlackNotifier

__all__ = [
    "DirectMessageNotifier",
    "direct_status_lines",
    "is_direct",
]

log = logging.getLogger("budgetbot.slack.deliver")

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def is_direct(channel_id: str | None) -> bool:
    """Whether a conversation id is a direct message (Slack's ids of IMs start with ``D``)."""
    return bool(channel_id) and str(channel_id).startswith("D")


class DirectMessageNotifier(SlackNotifier):
    """The ``dm`` destination on Slack: each alert to the person its row is addressed to.

    A :class:`SlackNotifier` in all but where it posts: an interrupted post is looked for in
    the conversation the same way (its history, then the threads in it).
    """

    destination = DIRECT

    def __init__(self, client: WebClient, *, console_url: str | None = IONQ_CONSOLE_URL) -> None:
        super().__init__(client, console_url=console_url)
        #: e-mail (lower case) → Slack user id, and user id → IM channel id, per process.
        self._users: dict[str, str] = {}
        self._ims: dict[str, str] = {}

    def __repr__(self) -> str:
        return "DirectMessageNotifier()"

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        """Post the alert to its person; when ``resumed``, return the message an interrupted
        attempt posted instead, or raise :class:`DeliveryError` when Slack cannot tell."""
        if not isinstance(note, Outgoing) or not note.channel:
            raise DeliveryError("a direct message carries an alert addressed to a person")
        im = self._conversation(self._user_id(note.channel))
        if resumed:
            found = self._find_in_channel(im, note.dedup_key, note.finding.thread_key, None)
            if found is not None:
                return Receipt(*found)
        thread_ts = note.thread[1] if note.thread is not None and note.thread[0] == im else None
        text, blocks = alert_message(
            note.finding, mentions=[], console_url=self.console_url, dedup_key=note.dedup_key
        )
        metadata = {"event_type": ALERT_EVENT_TYPE, "event_payload": {"dedup_key": note.dedup_key}}
        return Receipt(
            *post_message(self.client, im, text, blocks, thread_ts=thread_ts, metadata=metadata)
        )

    def _user_id(self, person: str) -> str:
        """The Slack user id of a ``people:`` value: an id as it is, an e-mail looked up."""
        if _USER_ID.match(person):
            return person
        key = person.lower()
        if key not in self._users:
            answer = self._call("users.lookupByEmail", person, email=person)
            user = answer.get("user")
            uid = user.get("id") if isinstance(user, dict) else None
            if not isinstance(uid, str) or not _USER_ID.match(uid):
                raise DeliveryError(f"{person}: users.lookupByEmail answered without a user id")
            self._users[key] = uid
        return self._users[key]

    def _conversation(self, user_id: str) -> str:
        """The direct-message conversation with ``user_id`` (opened once per process)."""
        if user_id not in self._ims:
            answer = self._call("conversations.open", user_id, users=user_id)
            channel = answer.get("channel")
            cid = channel.get("id") if isinstance(channel, dict) else None
            if not isinstance(cid, str) or not is_direct(cid):
                raise DeliveryError(f"{user_id}: conversations.open answered without a DM id")
            self._ims[user_id] = cid
        return self._ims[user_id]

    def _call(self, method: str, where: str, **args: Any) -> Any:
        try:
            return getattr(self.client, method.replace(".", "_"))(**args)
        except SlackApiError as exc:
            if _api_error(exc)[0] == "users_not_found":
                raise DeliveryError(
                    f"{where}: no Slack user has this e-mail address (check people:)"
                ) from None
            raise _delivery_error(self.client, where, method, exc) from None
        except (SlackClientError, OSError) as exc:
            raise _delivery_error(self.client, where, method, exc) from None


def direct_status_lines(store: Store, ref: AlertRef, now: dt.datetime) -> list[str]:
    """What the direct message shows under the alert: acknowledgements and the person's snooze."""
    acks = [(a.by_user, a.at) for a in store.acks(ref.dedup_key)]
    snooze = person_snooze(store, ref.rule, ref.group_key, now)
    return alert_status_lines(acks, (snooze.by_user, snooze.until, snooze.at) if snooze else None)
