"""Formatting shared by the terminal and Slack renderers (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from budgetbot.usage.model import Bound

__all__ = ["bound_text", "column_label", "hours", "money", "safe_terminal"]

CENT = Decimal("0.01")


def money(value: Decimal | None, *, sign: str = "$") -> str:
    """``$1,234.56``; ``n/a`` when there is no USD figure."""
    if value is None:
        return "n/a"
    return f"{sign}{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def hours(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    return f"{value.quantize(Decimal('0.001'), rounding=ROUND_HALF_UP):,.3f}"


def bound_text(value: Bound | None, fmt: str = "usd") -> str:
    """A figure in words: exact, "at least $X", or "between $X and $Y"."""
    if value is None:
        return "no USD figure"
    show = money if fmt == "usd" else (lambda v: f"{v:,.0f}")
    if value.exact:
        return show(value.low)
    if value.low == 0:
        return f"at most {show(value.high)}"
    return f"between {show(value.low)} and {show(value.high)}"


def column_label(start: dt.date, modality: str) -> str:
    if modality == "monthly":
        return start.strftime("%b %Y")
    return start.strftime("%b %d")


def safe_terminal(text: str) -> str:
    """Drop control characters so a name from IonQ cannot move the cursor or recolour a terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)
