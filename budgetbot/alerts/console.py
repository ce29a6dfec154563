"""The terminal notifier: notifications printed instead of posted (no SLACK_BOT_TOKEN, or demo)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from budgetbot.render.digest import digest_text
from budgetbot.render.terminal import render_action_result, render_alert, render_proposal

from .notifiers import (
    CHAT,
    Note,
    Outgoing,
    OutgoingActionResult,
    OutgoingDigest,
    OutgoingNotice,
    OutgoingProposal,
    Receipt,
)

__all__ = ["ConsoleNotifier"]


def _alert(note: Outgoing) -> str:
    return render_alert(note.finding, channel=note.channel, threaded=note.thread is not None)


def _digest(note: OutgoingDigest) -> str:
    return f"[{note.channel or '(default channel)'}] DIGEST\n" + digest_text(note.digest)


def _notice(note: OutgoingNotice) -> str:
    where = " (in the alert's thread)" if note.thread else ""
    return f"[{note.channel or '(default channel)'}] NOTICE{where} {note.text}\n"


def _proposal(note: OutgoingProposal) -> str:
    return render_proposal(note.proposal, channel=note.channel, threaded=note.thread is not None)


def _action_result(note: OutgoingActionResult) -> str:
    return render_action_result(note.outcome, channel=note.channel)


#: How each kind of note reads in a terminal.
_RENDER: dict[type[Any], Callable[[Any], str]] = {
    Outgoing: _alert,
    OutgoingDigest: _digest,
    OutgoingNotice: _notice,
    OutgoingProposal: _proposal,
    OutgoingActionResult: _action_result,
}


class ConsoleNotifier:
    """Prints each notification where Slack would show it (the ``chat`` destination); its "ts"
    is a local counter so threads still line up. A terminal keeps no history to look in, so a
    resumed note is printed again."""

    destination = CHAT

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        self.stream.write(_RENDER[type(note)](note))
        self.stream.flush()
        return Receipt(note.channel or "console", f"console-{note.id}")
