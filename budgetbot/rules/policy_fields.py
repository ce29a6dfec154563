"""The building blocks of the policy language: bounds, field types and their checks (pure).

Shared by :mod:`budgetbot.rules.budget` and :mod:`budgetbot.rules.models`; messages are written
for people (the loader shows them with the file and line).
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Final, Literal, Self
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
)

__all__ = [
    "ACTION_SCOPES",
    "MAX_AMOUNT",
    "MAX_PERCENT",
    "MAX_PLACES",
    "NAME_PATTERN",
    "Action",
    "ActionDo",
    "ActionOf",
    "Approval",
    "DigestPeriod",
    "PolicyItem",
    "Scope",
    "parse_window",
]

Scope = Literal["project", "user", "organization"]
DigestPeriod = Literal["day", "week", "month"]

NAME_PATTERN: Final = r"^[a-z0-9-]+$"
"""Names of policies, anomalies and digests: lowercase letters, digits and ``-``."""

WINDOW_MIN_DAYS: Final = 3
WINDOW_MAX_DAYS: Final = 90
_WINDOW_RE: Final = re.compile(r"^\s*(\d{1,6})([dw])\s*$")

# Bounds on every number a policy holds, so no figure computed from one can overflow or take
# unbounded time (a budget of 1e999999, or of 1e-999999, divides into a Decimal overflow).
MAX_AMOUNT: Final = Decimal(1_000_000_000_000)
"""Largest budget or min_usd: a trillion dollars, QPU hours or jobs."""
MAX_PERCENT: Final = Decimal(1_000_000)
"""Largest forecast/pace level, in percent, and largest anomaly factor."""
MAX_PLACES: Final = 6
"""Most decimal places of any number in a policy."""
_TIMEZONE_RE: Final = re.compile(r"[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*")
_TIMEZONE_MAX: Final = 64


# --- shared field types -------------------------------------------------------------------------

_NUMBER_SCHEMA: Final[dict[str, Any]] = {"type": "number"}

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        pattern=NAME_PATTERN,
        title="Name",
        description="Unique across all policy files: lowercase letters, digits and '-'.",
    ),
]
Channel = Annotated[
    str | None,
    Field(
        min_length=1,
        title="Channel",
        description="Slack channel to post to, e.g. '#quantum-spend' or a channel id.",
    ),
]
Notify = Annotated[
    Literal["channel", "person"],
    Field(
        title="Notify",
        description=(
            "'channel': alerts go to the channel. 'person' (scope 'user', each: true): also to"
            " the user spending, by direct message, as mapped in the file's 'people:'."
        ),
    ),
]
Mentions = Annotated[
    list[Annotated[str, Field(min_length=1)]],
    Field(
        title="Mention",
        description="Slack handles, user groups or e-mail addresses to mention in alerts.",
    ),
]
Globs = Annotated[
    list[str] | None,
    Field(
        min_length=1,
        title="Match",
        description=(
            "Shell globs matched against group names or ids, e.g. 'Quantum Chem*'. "
            "Omitted: every group. Not allowed with scope 'organization'."
        ),
    ),
]
PercentList = Annotated[
    list[
        Annotated[
            Decimal,
            Field(le=MAX_PERCENT, decimal_places=MAX_PLACES),
            WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_PERCENT)}),
        ]
    ],
    Field(json_schema_extra={"uniqueItems": True}),
]
AlertPercentList = Annotated[
    list[
        Annotated[
            Decimal,
            Field(decimal_places=MAX_PLACES),
            WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 100}),
        ]
    ],
    Field(json_schema_extra={"uniqueItems": True}),
]


def _show(value: object) -> str:
    """A value as a user wrote it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_percents(values: list[Decimal], *, upper: Decimal | None) -> list[Decimal]:
    for value in values:
        if value <= 0:
            raise ValueError(f"must be greater than 0 (got {_show(value)})")
        if upper is not None and value > upper:
            raise ValueError(f"{_show(value)} is over {upper}")
    for before, after in itertools.pairwise(values):
        if after <= before:
            raise ValueError(
                f"must be in strictly ascending order ({_show(after)} comes after {_show(before)})"
            )
    return values


def _check_globs(values: list[str] | None, info: ValidationInfo) -> list[str] | None:
    if values is None:
        return None
    if info.data.get("scope") == "organization":
        raise ValueError("not allowed with scope 'organization' (it has a single group)")
    for pattern in values:
        if not pattern.strip():
            raise ValueError("patterns must not be empty; omit 'match' to cover every group")
    return values


def parse_window(text: str) -> int:
    """``"14d"`` → 14, ``"2w"`` → 14. Raises ``ValueError`` outside 3..90 days."""
    found = _WINDOW_RE.match(text)
    if found is None:
        raise ValueError(f"must be days or weeks like '14d' or '2w' (got {_show(text)})")
    days = int(found.group(1)) * (7 if found.group(2) == "w" else 1)
    if not WINDOW_MIN_DAYS <= days <= WINDOW_MAX_DAYS:
        raise ValueError(
            f"must be between {WINDOW_MIN_DAYS} and {WINDOW_MAX_DAYS} days "
            f"(got {days} day{'s' if days != 1 else ''})"
        )
    return days


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


# --- models -------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, use_attribute_docstrings=True
    )


class PolicyItem(_Model):
    """Anything named in a policy file; remembers the file and line it was loaded from."""

    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """Where the item was defined, e.g. ``"policies/chem.yaml:3"``; empty if not from a file."""
        return self._source

    def with_source(self, source: str) -> Self:
        """A copy of this item that knows it was defined at ``source``."""
        located = self.model_copy()
        located._source = source
        return located


# --- budget actions -----------------------------------------------------------------------------

ActionOf = Literal["spend", "committed"]
ActionDo = Literal["cancel-queued"]
Approval = Literal["manual", "automatic"]
#: The scopes whose groups an action may act on: a project's or a user's queue, never the
#: organization's as a whole.
ACTION_SCOPES: Final = ("project", "user")


class Action(_Model):
    """What budgetbot does when a level is reached: cancel the group's queued jobs, once an
    approver clicks (``manual``) or at once (``automatic``)."""

    at: Annotated[
        Decimal,
        Field(decimal_places=MAX_PLACES, gt=0, le=MAX_PERCENT),
        WithJsonSchema(
            {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": int(MAX_PERCENT),
                "description": (
                    "Percent of the budget; one of the policy's alert_at (of: spend) or"
                    " committed_at (of: committed) levels."
                ),
            }
        ),
    ]
    of: ActionOf = "spend"
    """Which figure reaches ``at``: spend so far (``alert_at``) or committed (``committed_at``)."""
    do: ActionDo = "cancel-queued"
    """cancel-queued: cancel the group's jobs in ``submitted`` or ``ready`` (never ``started``)."""
    approval: Approval = "manual"
    """manual: an approver clicks the proposal in Slack; automatic: done when the level is
    reached, and posted."""
    approvers: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(
            default_factory=list,
            description=(
                "Who may approve: Slack user ids ('U0123ABCD'), user groups ('@lab-managers')"
                " or e-mail addresses; required for manual approval."
            ),
        ),
    ]
