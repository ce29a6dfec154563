"""Slack text safety and Block Kit limits: the one place that enforces them (pure).

Text that comes from IonQ (project, user and job names) is escaped before it reaches Slack, so a
project called ``<!channel>`` shows literally and pings no one. Slack's mrkdwn needs only ``&``,
``<`` and ``>`` escaped.

Every renderer plans its message to fit (long names cut, lists counted: "… and N more
budgets"), then passes it through :func:`fit_message` (or :func:`fit_view` for the App Home),
which holds every block to Slack's limits whatever the input. A cut is always visible (``…``)
and never splits an entity (``&amp;``) or a ``<…>`` span (a mention or a link), so escaped text
stays escaped and no mention is left half-open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ELLIPSIS",
    "MAX_ACTIONS",
    "MAX_BLOCKS",
    "MAX_BUTTON",
    "MAX_CONFIRM_BUTTON",
    "MAX_CONFIRM_TEXT",
    "MAX_CONFIRM_TITLE",
    "MAX_CONTEXT_ELEMENTS",
    "MAX_CONTEXT_TEXT",
    "MAX_FIELD",
    "MAX_FIELDS",
    "MAX_HEADER",
    "MAX_ID",
    "MAX_NAME",
    "MAX_SECTION",
    "MAX_TEXT",
    "MAX_URL",
    "MAX_VALUE",
    "MAX_VIEW_BLOCKS",
    "cut",
    "cut_middle",
    "escape",
    "escape_cut",
    "fit_blocks",
    "fit_message",
    "fit_view",
    "lines_within",
    "more_line",
    "truncate",
]

#: Blocks in a message; in a Home tab or modal view.
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
#: A header's plain text; a section's text; a section field's text.
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD = 2000
#: A context block's elements, and (our own, stricter than Slack's 3,000) each element's text.
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
#: An actions block's elements; a button's label, ``value`` and ``url``; block and action ids.
MAX_ACTIONS = 25
MAX_BUTTON = 75
MAX_VALUE = 2000
MAX_URL = 3000
MAX_ID = 255
#: A button's confirm dialog: title, text, and the labels of its two buttons (plain text).
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
#: Top-level ``text`` (the notification fallback) is truncated by Slack past 40,000 characters;
#: keep it short enough to read on a phone.
MAX_TEXT = 3000
#: A name (project, user, job, rule description) is cut to this many characters in Slack.
MAX_NAME = 200
ELLIPSIS = "…"

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows the text literally (no mentions, no links)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut raw (unescaped) ``text`` to ``limit`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _safe_end(head: str) -> str:
    """``head`` without a trailing partial entity (``&am``) or an unclosed ``<…`` span."""
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    lt = head.rfind("<")
    if lt != -1 and ">" not in head[lt:]:
        head = head[:lt]
    return head


def _safe_start(tail: str) -> str:
    """``tail`` without a leading partial entity (``mp;``) or the end of a ``…>`` span."""
    semi = tail.find(";")
    if semi != -1 and "&" not in tail[:semi] and semi < 5:
        tail = tail[semi + 1 :]
    gt = tail.find(">")
    if gt != -1 and "<" not in tail[:gt]:
        tail = tail[gt + 1 :]
    return tail


def cut(text: str, limit: int) -> str:
    """Escaped or our own mrkdwn ``text`` within ``limit`` characters, ending ``…`` if cut.

    Never cuts inside an entity (``&amp;``) or a ``<…>`` span (mention, link): escaped text
    stays escaped and no mention is cut in half.
    """
    if len(text) <= limit:
        return text
    return _safe_end(text[: max(limit - 1, 0)]) + ELLIPSIS


def cut_middle(text: str, limit: int) -> str:
    """Like :func:`cut`, but keeps the start and the end: a sentence whose long name sits in the
    middle keeps its figures at the end."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    head = _safe_end(text[:half])
    tail = _safe_start(text[len(text) - (limit - 1 - half) :])
    return head + ELLIPSIS + tail


def escape_cut(raw: str, limit: int) -> str:
    """``escape(raw)`` within ``limit`` characters: the raw text is cut so no entity splits."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for ch in raw:
        piece = escape(ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + ELLIPSIS


def more_line(n: int, unit: str = "") -> str:
    """``… and 3 more budgets`` (``… and 1 more budget``): what was left out, counted."""
    word = unit[:-1] if n == 1 and unit.endswith("s") else unit
    return f"… and {n} more" + (f" {word}" if word else "")


def lines_within(
    lines: Sequence[str], limit: int, *, head: str | None = None, unit: str = ""
) -> tuple[str, int]:
    """``head`` and as many whole ``lines`` as fit in ``limit`` characters, the rest counted on
    a last line ("… and 3 more budgets"); returns the text and how many lines it shows."""
    out = [] if head is None else [cut(head, limit // 2)]
    size = len(out[0]) if out else -1
    for i, line in enumerate(lines):
        left = len(lines) - i - 1
        tail = len(more_line(left, unit)) + 1 if left else 0
        if size + 1 + len(line) + tail > limit:
            out.append(more_line(len(lines) - i, unit))
            return "\n".join(out), i
        out.append(line)
        size += 1 + len(line)
    return "\n".join(out), len(lines)


# -- the guard ----------------------------------------------------------------------------------


def _text_obj(obj: Any, limit: int) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        text = cut(obj["text"], limit) or ELLIPSIS
        return {**obj, "text": text}
    return obj


def _fit_confirm(confirm: dict[str, Any]) -> dict[str, Any]:
    limits = {
        "title": MAX_CONFIRM_TITLE,
        "text": MAX_CONFIRM_TEXT,
        "confirm": MAX_CONFIRM_BUTTON,
        "deny": MAX_CONFIRM_BUTTON,
    }
    return {k: _text_obj(v, limits[k]) if k in limits else v for k, v in confirm.items()}


def _fit_block(block: Block) -> Block:
    """One block within its type's limits."""
    out = dict(block)
    if isinstance(out.get("block_id"), str):
        out["block_id"] = out["block_id"][:MAX_ID]
    kind = out.get("type")
    if kind == "header":
        out["text"] = _text_obj(out.get("text"), MAX_HEADER)
    elif kind == "section":
        if "text" in out:
            out["text"] = _text_obj(out["text"], MAX_SECTION)
        if "fields" in out:
            fields = list(out["fields"])
            if len(fields) > MAX_FIELDS:
                more = {"type": "mrkdwn", "text": more_line(len(fields) - MAX_FIELDS + 1)}
                fields = [*fields[: MAX_FIELDS - 1], more]
            out["fields"] = [_text_obj(f, MAX_FIELD) for f in fields]
    elif kind == "context":
        items = list(out.get("elements") or [])
        if len(items) > MAX_CONTEXT_ELEMENTS:
            more = {"type": "mrkdwn", "text": more_line(len(items) - MAX_CONTEXT_ELEMENTS + 1)}
            items = [*items[: MAX_CONTEXT_ELEMENTS - 1], more]
        out["elements"] = [_text_obj(e, MAX_CONTEXT_TEXT) for e in items]
    elif kind == "actions":
        elements = []
        for e in list(out.get("elements") or [])[:MAX_ACTIONS]:
            e = dict(e)
            if "text" in e:
                e["text"] = _text_obj(e["text"], MAX_BUTTON)
            if len(str(e.get("url", ""))) > MAX_URL:
                e.pop("url")
            if len(str(e.get("value", ""))) > MAX_VALUE:
                e.pop("value")
            if isinstance(e.get("action_id"), str):
                e["action_id"] = e["action_id"][:MAX_ID]
            if isinstance(e.get("confirm"), dict):
                e["confirm"] = _fit_confirm(e["confirm"])
            elements.append(e)
        out["elements"] = elements
    return out


def fit_blocks(blocks: Sequence[Block], max_blocks: int = MAX_BLOCKS) -> list[Block]:
    """Every block within its limits, and at most ``max_blocks`` of them: past the limit the
    last block says how many were left out. Renderers plan to fit; this is the last guard."""
    out = [_fit_block(b) for b in blocks]
    if len(out) > max_blocks:
        left = len(out) - max_blocks + 1
        note = f"… and {left} more blocks than fit in one Slack message"
        out = [
            *out[: max_blocks - 1],
            {
                "type": "context",
                "elements": [_text_obj({"type": "mrkdwn", "text": note}, MAX_CONTEXT_TEXT)],
            },
        ]
    return out


def fit_message(text: str, blocks: Sequence[Block]) -> tuple[str, list[Block]]:
    """A message's fallback ``text`` and ``blocks`` within every Slack limit."""
    return cut(text, MAX_TEXT) or ELLIPSIS, fit_blocks(blocks, MAX_BLOCKS)


def fit_view(view: dict[str, Any]) -> dict[str, Any]:
    """A Home tab (or modal) view within every Slack limit."""
    return {**view, "blocks": fit_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS)}
