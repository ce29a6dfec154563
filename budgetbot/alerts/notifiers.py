"""Notifiers: where notifications go. Each has one method, and a process has a list of them.

A notifier serves one *destination* (``chat``: Slack, or the terminal standing in for it; later
e-mail, metrics, direct messages); every outbox row names the destination it is for, so adding a
destination is adding a notifier. What a notifier is handed is a :data:`Note`, rebuilt from its
outbox row; it renders each kind from a table of its own and answers with a :class:`Receipt` or
raises :class:`DeliveryError` (the row stays in the outbox for the next cycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from budgetbot.actions.model import Outcome, Proposal
from budgetbot.reports.digest import DigestReport
from budgetbot.rules.findings import Finding
from budgetbot.store.db import DEFAULT_DESTINATION

from .decide import Reason

__all__ = [
    "CHAT",
    "DIRECT",
    "DeliveryError",
    "Note",
    "Notifier",
    "Outgoing",
    "OutgoingActionResult",
    "OutgoingDigest",
    "OutgoingNotice",
    "OutgoingProposal",
    "Receipt",
    "Unreadable",
]

#: The people-facing destination: Slack, or the terminal when there is no SLACK_BOT_TOKEN.
CHAT = DEFAULT_DESTINATION
#: Direct messages to the person spending (:mod:`budgetbot.alerts.direct`). Its rows are
#: addressed to one person each and recorded by a stage of their own, never broadcast like
#: notices and digests.
DIRECT = "dm"


class DeliveryError(Exception):
    """A notifier could not deliver; the notification stays in the outbox for the next cycle."""


class Receipt(NamedTuple):
    """Where a notification went: Slack's channel id and message ``ts`` (a thread's root for
    later replies), or the notifier's own equivalent."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Outgoing:
    """An alert on its way out: what to say, where, and which thread it belongs to."""

    id: int
    #: Unique per (rule, group, period, kind, level): carried in Slack message metadata.
    dedup_key: str
    finding: Finding
    reason: Reason
    channel: str | None
    #: (channel, ts) of the first alert of the same rule, group and period, if one went out.
    thread: tuple[str, str] | None


@dataclass(frozen=True)
class OutgoingDigest:
    """A digest on its way out."""

    id: int
    dedup_key: str
    digest: DigestReport
    channel: str | None


@dataclass(frozen=True)
class OutgoingNotice:
    """A short notice: "usage data unavailable since …", or "back under …" in an alert's thread."""

    id: int
    dedup_key: str
    text: str
    channel: str | None
    #: (channel, ts) of the alert thread it answers, if any.
    thread: tuple[str, str] | None = None
    #: The rule, group and period of that thread ("rule|group|period"), if it answers one.
    thread_key: str | None = None


@dataclass(frozen=True)
class OutgoingProposal:
    """A budget action's proposal on its way to the alert's thread (with an approve button)."""

    id: int
    dedup_key: str
    proposal: Proposal
    channel: str | None
    #: (channel, ts) of the alert thread it belongs in, if that alert went out.
    thread: tuple[str, str] | None = None
    thread_key: str | None = None


@dataclass(frozen=True)
class OutgoingActionResult:
    """What an action did (automatic, dry run, or finished after a restart), for its thread."""

    id: int
    dedup_key: str
    outcome: Outcome
    channel: str | None
    thread: tuple[str, str] | None = None
    thread_key: str | None = None


Note = Outgoing | OutgoingDigest | OutgoingNotice | OutgoingProposal | OutgoingActionResult


@dataclass(frozen=True)
class Unreadable:
    """A stored notification whose payload could not be read back: failed, never skipped."""

    id: int
    dedup_key: str
    channel: str | None


@runtime_checkable
class Notifier(Protocol):
    """Delivers notes to one destination."""

    #: The destination it serves: outbox rows of this destination are its to deliver.
    destination: str

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        """Deliver ``note``, or raise :class:`DeliveryError`.

        ``resumed`` says an earlier attempt on this row started and never recorded its end (a
        crash, a timeout after the post): it may have delivered it. A notifier that can look
        (Slack reads the channel by the note's key) must look first and return what it finds,
        or raise :class:`DeliveryError` when it cannot tell, so nothing goes out twice; one
        that keeps no history delivers again.
        """
        ...
