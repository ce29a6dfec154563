"""Who may approve a budget action: an action's ``approvers`` checked against Slack at click time.

An entry is a user id (``U…``/``W…``, compared as it is), a user group (``S…`` id, or an
``@handle`` found with ``usergroups.list``; its members come from ``usergroups.users.list``, scope
``usergroups:read``) or an e-mail address (``users.lookupByEmail``, scope ``users:read.email``).
Nothing is cached between clicks: someone who left the group yesterday is not an approver today.
The check fails closed: an entry Slack could not answer for (a missing scope, Slack unreachable)
approves no one, and the verdict says which entries those were, so the refusal can tell the
clicker "could not check" rather than "you are not an approver".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from .mentions import EMAIL, GROUP_ID, HANDLE, USER_ID, MentionResolver

__all__ = ["Verdict", "check_approver"]

log = logging.getLogger("budgetbot.slack.approvers")


@dataclass(frozen=True)
class Verdict:
    """Whether a user may approve, by which entry, and the entries Slack did not answer for."""

    approved: bool
    #: The approvers entry that matched (``@lab-managers``, ``alice@example.org``, ``U0123``).
    via: str | None = None
    unanswered: list[str] = field(default_factory=list)


def _group_members(client: WebClient, group_id: str, unanswered: list[str]) -> list[str]:
    try:
        answer = client.usergroups_users_list(usergroup=group_id)
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        if error != "no_such_subteam":
            unanswered.append(f"{group_id}: {error}")
        log.warning("could not list the members of user group %s (%s)", group_id, error)
        return []
    except (SlackClientError, OSError) as exc:
        unanswered.append(f"{group_id}: {type(exc).__name__}")
        log.warning("could not list the members of user group %s (%s)", group_id, exc)
        return []
    users = answer.get("users")
    return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []


def check_approver(client: WebClient, user_id: str, approvers: Iterable[str]) -> Verdict:
    """Whether ``user_id`` is one of ``approvers``, asking Slack now (ids first: no call)."""
    entries = [e.strip() for e in approvers if e.strip()]
    for entry in entries:
        if USER_ID.match(entry) and entry == user_id:
            return Verdict(True, entry)
    resolver = MentionResolver(client)
    unanswered = resolver.unanswered  # one list, in the order of the entries
    for entry in entries:
        if GROUP_ID.match(entry) or HANDLE.match(entry):
            group = entry if GROUP_ID.match(entry) else resolver.group_by_handle(entry[1:])
            if group is not None and user_id in _group_members(client, group, unanswered):
                return Verdict(True, entry)
        elif EMAIL.match(entry) and resolver.user_by_email(entry) == user_id:
            return Verdict(True, entry)
    return Verdict(False, None, list(unanswered))
