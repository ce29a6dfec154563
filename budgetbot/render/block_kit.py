"""Block Kit building blocks shared by the Slack renderers (pure): text objects, sections,
context lines, each cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .slack_text import (
    MAX_BLOCKS,
    MAX_CONTEXT_ELEMENTS,
    MAX_CONTEXT_TEXT,
    MAX_HEADER,
    MAX_SECTION,
    MAX_TEXT,
    cut,
    fit_blocks,
)

__all__ = ["Block"]

Block = dict[str, Any]


def _lines_within(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Join lines up to ``limit`` characters; the lines left out are counted on a last line."""
    kept: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        left = len(lines) - i - 1
        tail = len(more.format(n=len(lines) - i)) + 1 if left else 0
        if size + len(line) + 1 + tail > limit:
            kept.append(more.format(n=len(lines) - i))
            break
        kept.append(line)
        size += len(line) + 1
    return cut("\n".join(kept), limit)


def _plain(text: str, limit: int = MAX_HEADER) -> Block:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def _mrkdwn(text: str, limit: int = MAX_SECTION) -> Block:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: Sequence[str]) -> Block:
    items = list(texts)
    if len(items) > MAX_CONTEXT_ELEMENTS:
        items = [*items[: MAX_CONTEXT_ELEMENTS - 1], " ".join(items[MAX_CONTEXT_ELEMENTS - 1 :])]
    return {"type": "context", "elements": [_mrkdwn(t, MAX_CONTEXT_TEXT) for t in items]}


def _fallback(text: str) -> str:
    return cut(text, MAX_TEXT)


def _within_limits(blocks: list[Block]) -> list[Block]:
    """Last guard: every block within Slack's limits (the renderers plan for them)."""
    return fit_blocks(blocks, MAX_BLOCKS)
