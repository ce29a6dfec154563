"""The report grammar shared by ``/ionq-usage`` and ``budgetbot report`` (pure).

``[project|user|job|org] [daily|weekly|monthly] [range] [share]`` in any order, or ``budgets``,
``queue [project|user]``, ``audit`` (the budget actions' audit trail) or ``help``. Ranges:
``7d``, ``4w``, ``3m``, ``this-month``, ``last-month``, ``this-week``, ``last-week`` or
``YYYY-MM-DD..YYYY-MM-DD`` (both days included). Without a range a report shows four buckets,
the current one included.

The work is bounded whatever the text: a text over :data:`MAX_TEXT` characters or
:data:`MAX_TOKENS` words is refused as it is (no command is that long), and the "did you mean"
search looks only at words of at most :data:`MAX_WORD` characters.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Literal

from .queue import QUEUE_GROUPINGS, QueueGrouping

__all__ = [
    "GROUPINGS",
    "MAX_TEXT",
    "MAX_TOKENS",
    "MAX_WORD",
    "MODALITIES",
    "QUEUE_GROUPINGS",
    "RANGE_WORDS",
    "Command",
    "GrammarError",
    "ReportRequest",
    "did_you_mean",
    "parse_command",
    "parse_range",
]

GROUPINGS = ("project", "user", "job", "org")
MODALITIES = ("daily", "weekly", "monthly")
RANGE_WORDS = ("this-month", "last-month", "this-week", "last-week")
OTHER_WORDS = ("budgets", "queue", "audit", "help", "share")
MAX_DAYS = 731  # two years: IonQ answers get slow and reports unreadable beyond that
#: The longest command is about 45 characters and 4 words (``project weekly <range> share``).
MAX_TEXT = 200
MAX_TOKENS = 8
#: Longer than any word of the grammar (a range is 22 characters): no typo of one.
MAX_WORD = 32
#: The first and last day a range may name (IonQ's usage history lies well inside).
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)

_RELATIVE = re.compile(r"^(\d{1,3})([dwm])$")
_EXPLICIT = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class GrammarError(ValueError):
    """The text could not be understood; ``suggestion`` is a corrected word when one is close."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


@dataclass(frozen=True)
class ReportRequest:
    """What a report shows: a grouping, a bucket size and an optional range text."""

    grouping: str = "project"
    modality: str = "weekly"
    range_text: str | None = None
    share: bool = False


@dataclass(frozen=True)
class Command:
    """A parsed slash command."""

    kind: Literal["report", "budgets", "queue", "audit", "help"]
    report: ReportRequest | None = None
    share: bool = False
    #: ``queue``: group by project or user.
    grouping: QueueGrouping = "project"


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str | None:
    """The closest valid word, if any is close enough to be a likely typo.

    Words longer than :data:`MAX_WORD` are no typo of a grammar word: not searched.
    """
    if len(word) > MAX_WORD:
        return None
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _is_range(token: str) -> bool:
    return token in RANGE_WORDS or bool(_RELATIVE.match(token) or _EXPLICIT.match(token))


def parse_command(text: str) -> Command:
    """Parse the text after ``/ionq-usage``; raises ``GrammarError`` with a suggestion."""
    if len(text) > MAX_TEXT:
        raise GrammarError(f"That is longer than any command ({MAX_TEXT} characters at most).")
    tokens = text.strip().lower().split()
    if len(tokens) > MAX_TOKENS:
        raise GrammarError(f"That has more words than any command ({MAX_TOKENS} at most).")
    share = "share" in tokens
    tokens = [t for t in tokens if t != "share"]
    if tokens in (["help"], ["-h"], ["--help"], ["?"]):
        return Command("help")
    if tokens == ["budgets"]:
        return Command("budgets", share=share)
    if tokens[:1] == ["queue"]:
        return _queue(tokens[1:], share)
    if tokens == ["audit"]:
        return Command("audit", share=share)
    grouping = modality = range_text = None
    for token in tokens:
        if token in GROUPINGS and grouping is None:
            grouping = token
        elif token in MODALITIES and modality is None:
            modality = token
        elif _is_range(token) and range_text is None:
            range_text = token
        else:
            words = list(GROUPINGS + MODALITIES + RANGE_WORDS + OTHER_WORDS)
            raise GrammarError(f"I don't understand {token!r}", did_you_mean(token, words))
    request = ReportRequest(grouping or "project", modality or "weekly", range_text, share)
    return Command("report", request, share)


def _queue(tokens: list[str], share: bool) -> Command:
    """``queue [project|user]``."""
    if not tokens:
        return Command("queue", share=share)
    for grouping in QUEUE_GROUPINGS:
        if tokens == [grouping]:
            return Command("queue", share=share, grouping=grouping)
    word = next((t for t in tokens if t not in QUEUE_GROUPINGS), tokens[-1])
    raise GrammarError(
        f"`queue` groups by project or user only; I don't understand {word!r} there",
        did_you_mean(word, QUEUE_GROUPINGS),
    )


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def parse_range(text: str | None, modality: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """Turn a range text into ``[start, end)`` UTC days, never reaching past today.

    Relative ranges end today and start on a bucket boundary so columns are whole buckets:
    ``4w`` is this ISO week and the three before it, ``3m`` this month and the two before.
    Every day must lie between :data:`FIRST_DAY` and :data:`LAST_DAY` (today included):
    anything else is a :class:`GrammarError`, never date arithmetic overflowing.
    """
    if text is None:
        text = {"daily": "4d", "weekly": "4w", "monthly": "4m"}[modality]
    text = text.strip().lower()
    if not FIRST_DAY <= today <= LAST_DAY:
        raise GrammarError(f"today ({today}) is outside {_BOUNDS}")
    try:
        start, end = _range(text, today)
    except OverflowError:  # a day before 0001-01-01 or after 9999-12-31
        raise GrammarError(f"{text!r} reaches outside {_BOUNDS}") from None
    if start < FIRST_DAY:
        raise GrammarError(f"{text!r} starts outside {_BOUNDS}")
    return _checked(text, start, end)


_BOUNDS = f"the days a report can show ({FIRST_DAY} to {LAST_DAY})"


def _range(text: str, today: dt.date) -> tuple[dt.date, dt.date]:
    tomorrow = today + dt.timedelta(days=1)
    if text == "this-month":
        return _month_start(today), tomorrow
    if text == "last-month":
        return _month_start(today, 1), _month_start(today)
    if text == "this-week":
        return _week_start(today), tomorrow
    if text == "last-week":
        monday = _week_start(today)
        return monday - dt.timedelta(days=7), monday
    if m := _RELATIVE.match(text):
        count, unit = int(m.group(1)), m.group(2)
        if count < 1:
            raise GrammarError(f"{text!r}: the count must be at least 1")
        if unit == "d":
            start = today - dt.timedelta(days=count - 1)
        elif unit == "w":
            start = _week_start(today) - dt.timedelta(weeks=count - 1)
        else:
            start = _month_start(today, count - 1)
        return start, tomorrow
    if m := _EXPLICIT.match(text):
        try:
            first = dt.date.fromisoformat(m.group(1))
            last = dt.date.fromisoformat(m.group(2))
        except ValueError as exc:
            raise GrammarError(f"{text!r}: {exc}") from None
        if first < FIRST_DAY or last > LAST_DAY:
            raise GrammarError(f"{text!r} reaches outside {_BOUNDS}")
        if last < first:
            raise GrammarError(f"{text!r}: the range ends before it starts")
        if first > today:
            raise GrammarError(f"{text!r}: the range starts in the future")
        # Clamped to today before the day after is taken: 9999-12-31 has none.
        return first, min(last, today) + dt.timedelta(days=1)
    choices = [*RANGE_WORDS, "7d", "4w", "3m"]
    raise GrammarError(
        f"{text!r} is not a range (try 7d, 4w, 3m, this-month, last-week or"
        " 2026-11-01..2026-11-15)",
        did_you_mean(text, choices),
    )


def _checked(text: str, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    if (end - start).days > MAX_DAYS:
        raise GrammarError(f"{text!r} is longer than {MAX_DAYS} days")
    return start, end
