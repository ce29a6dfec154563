"""Policy ``mention:`` entries → Slack mention strings.

A policy names people as user ids (``U…``/``W…``), user group ids (``S…``), ``@here`` /
``@channel``, e-mail addresses (looked up with ``users.lookupByEmail``, scope
``users:read.email``) or user group handles (``@chem-leads``, via ``usergroups.list``, scope
``usergroups:read``). Whatever cannot be resolved is shown as escaped plain text and logged: an
alert is never lost over a mention.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.render.slack_text import escape

__all__ = ["MentionResolver"]

log = logging.getLogger("budgetbot.slack.mentions")

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_HANDLE = re.compile(r"^@[A-Za-z0-9._-]+$")
#: Already in Slack's syntax: kept as they are.
_FORMATTED = re.compile(r"^<(@[UW][A-Z0-9]+|!subteam\^S[A-Z0-9]+|!here|!channel|!everyone)>$")
_SPECIAL = {"@here": "<!here>", "@channel": "<!channel>", "@everyone": "<!everyone>"}
#: Errors worth a second try by a later resolver: the answer may differ then.
_TRANSIENT = (SlackClientError, OSError)


class MentionResolver:
    """Resolves mention entries against one workspace; look-ups are cached per resolver."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._emails: dict[str, str | None] = {}
        self._groups: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"MentionResolver(emails={len(self._emails)}, groups={self._groups is not None})"

    def resolve(self, entries: Iterable[str]) -> list[str]:
        """Mention strings for ``entries``, in order, duplicates dropped; never raises."""
        out: list[str] = []
        for entry in entries:
            mention = self.resolve_one(entry)
            if mention and mention not in out:
                out.append(mention)
        return out

    def resolve_one(self, entry: str) -> str:
        text = entry.strip()
        if not text:
            return ""
        if _FORMATTED.match(text):
            return text
        if _USER_ID.match(text):
            return f"<@{text}>"
        if _GROUP_ID.match(text):
            return f"<!subteam^{text}>"
        if text.lower() in _SPECIAL:
            return _SPECIAL[text.lower()]
        if _EMAIL.match(text):
            user = self._user_by_email(text)
            return f"<@{user}>" if user else escape(text)
        if _HANDLE.match(text):
            group = self._group_by_handle(text[1:])
            return f"<!subteam^{group}>" if group else escape(text)
        log.warning("mention %r is not an id, e-mail address or @handle: shown as text", text)
        return escape(text)

    def _user_by_email(self, email: str) -> str | None:
        key = email.lower()
        if key in self._emails:
            return self._emails[key]
        try:
            answer = self._client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error == "users_not_found":
                log.warning("no Slack user with e-mail %s: mentioned as text", email)
                self._emails[key] = None
            else:
                log.warning("could not look up %s in Slack (%s): mentioned as text", email, error)
            return None
        except _TRANSIENT as exc:
            log.warning("could not look up %s in Slack (%s)", email, type(exc).__name__)
            return None
        user = answer.get("user")
        uid = user.get("id") if isinstance(user, dict) else None
        self._emails[key] = uid if isinstance(uid, str) else None
        return self._emails[key]

    def _group_by_handle(self, handle: str) -> str | None:
        if self._groups is None:
            try:
                answer = self._client.usergroups_list()
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else None
                log.warning("could not list Slack user groups (%s): @%s as text", error, handle)
                return None
            except _TRANSIENT as exc:
                log.warning("could not list Slack user groups (%s)", type(exc).__name__)
                return None
            groups = answer.get("usergroups") or []
            self._groups = {
                str(g["handle"]).lower(): str(g["id"])
                for g in groups
                if isinstance(g, dict) and g.get("handle") and g.get("id")
            }
        group = self._groups.get(handle.lower())
        if group is None:
            log.warning("no Slack user group @%s: mentioned as text", handle)
        return group
