"""The terminal sink: notifications printed instead of posted (no SLACK_BOT_TOKEN, or demo)."""

from __future__ import annotations

from typing import TextIO

from budgetbot.render.digest import digest_text
from budgetbot.render.terminal import render_alert

from .cycle import Note, Outgoing, OutgoingDigest, OutgoingNotice

__all__ = ["ConsoleSink"]


class ConsoleSink:
    """Prints each notification; its "ts" is a local counter so threads still line up."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, note: Outgoing) -> tuple[str, str]:
        self.stream.write(
            render_alert(note.finding, channel=note.channel, threaded=note.thread is not None)
        )
        self.stream.flush()
        return note.channel or "console", f"console-{note.id}"

    def send_digest(self, note: OutgoingDigest) -> tuple[str, str]:
        self.stream.write(f"[{note.channel or '(default channel)'}] DIGEST\n")
        self.stream.write(digest_text(note.digest))
        self.stream.flush()
        return note.channel or "console", f"console-{note.id}"

    def send_notice(self, note: OutgoingNotice) -> tuple[str, str]:
        where = " (in the alert's thread)" if note.thread else ""
        self.stream.write(f"[{note.channel or '(default channel)'}] NOTICE{where} {note.text}\n")
        self.stream.flush()
        return note.channel or "console", f"console-{note.id}"

    def find_sent(self, note: Note) -> tuple[str, str] | None:
        return None  # a terminal keeps no history to look in
