"""Slack text safety and Block Kit limits (pure).

Text that comes from IonQ (project, user and job names) is escaped before it reaches Slack, so a
project called ``<!channel>`` shows literally and pings no one. Slack's mrkdwn needs only ``&``,
``<`` and ``>`` escaped.
"""

from __future__ import annotations

__all__ = [
    "MAX_BLOCKS",
    "MAX_CONTEXT_ELEMENTS",
    "MAX_FIELDS",
    "MAX_HEADER",
    "MAX_SECTION",
    "MAX_TEXT",
    "escape",
    "truncate",
]

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
#: Top-level ``text`` (the notification fallback) is truncated by Slack past 40,000 characters;
#: keep it short enough to read on a phone.
MAX_TEXT = 3000


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows the text literally (no mentions, no links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
