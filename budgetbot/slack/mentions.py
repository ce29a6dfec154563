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

__all__ = ["EMAIL", "GROUP_ID", "HANDLE", "USER_ID", "MentionResolver"]

log = logging.getLogger("budgetbot.slack.mentions")

#: The kinds of entry a policy uses to name people (``mention:``, an action's ``approvers:``).
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
HANDLE = re.compile(r"^@[A-Za-z0-9._-]+$")
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
        #: Look-ups Slack could not answer (a missing scope, Slack unreachable): the entry is
        #: unknown, which is not the same as "no such user or group".
        self.unanswered: list[str] = []

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
        if USER_ID.match(text):
            return f"<@{text}>"
        if GROUP_ID.match(text):
            return f"<!subteam^{text}>"
        if text.lower() in _SPECIAL:
            return _SPECIAL[text.lower()]
        if EMAIL.match(text):
            user = self.user_by_email(text)
            return f"<@{user}>" if user else escape(text)
        if HANDLE.match(text):
            group = self.group_by_handle(text[1:])
            return f"<!subteam^{group}>" if group else escape(text)
        log.warning("mention %r is not an id, e-mail address or @handle: shown as text", text)
        return escape(text)

    def user_by_email(self, email: str) -> str | None:
        """The user id of ``email`` (``users.lookupByEmail``), None if unknown or unanswered."""
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
                self.unanswered.append(f"{email}: {error}")
            return None
        except _TRANSIENT as exc:
            log.warning("could not look up %s in Slack (%s)", email, type(exc).__name__)
            self.unanswered.append(f"{email}: {type(exc).__name__}")
            return None
        user = answer.get("user")
        uid = user.get("id") if isinstance(user, dict) else None
        self._emails[key] = uid if isinstance(uid, str) else None
        return self._emails[key]

    def group_by_handle(self, handle: str) -> str | None:
        """The id of user group ``@handle`` (``usergroups.list``, once), None if unknown or
        unanswered."""
        if self._groups is None:
            try:
                answer = self._client.usergroups_list()
            except SlackApiError as exc:
                error = exc.response.get("error") if exc.response is not None else None
                log.warning("could not list Slack user groups (%s): @%s as text", error, handle)
                self.unanswered.append(f"@{handle}: {error}")
                return None
            except _TRANSIENT as exc:
                log.warning("could not list Slack user groups (%s)", type(exc).__name__)
                self.unanswered.append(f"@{handle}: {type(exc).__name__}")
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
