"""The policy language (DESIGN §4) as pydantic models: the one source of its JSON Schema.

A policy file holds three lists, ``policies``, ``anomalies`` and ``digests``. Every model is frozen
and closed to unknown keys (``extra="forbid"``); checks a schema cannot express (one budget unit,
ascending thresholds, cron and timezone) are validators here, with messages written for people.
Each item loaded from a file knows where it came from (:attr:`PolicyItem.source`), which the JSON
Schema never shows.

Budget units come from the measure registry (:mod:`budgetbot.usage.measures`): the keys of
:class:`Budget`, and so of its JSON Schema, are derived from it, so a new unit is one entry there.
"""

from __future__ import annotations

import difflib
import itertools
import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from budgetbot.rules.periods import Period
from budgetbot.usage.measures import MEASURES, Measure, watch

__all__ = [
    "MEASURES",
    "NAME_PATTERN",
    "Anomaly",
    "Budget",
    "Digest",
    "DigestPeriod",
    "Measure",
    "MeasureInfo",
    "Policy",
    "PolicyFile",
    "PolicyItem",
    "Scope",
    "parse_window",
    "policy_json_schema",
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


# --- the unit registry --------------------------------------------------------------------------

#: Budget units, from :mod:`budgetbot.usage.measures` (``MeasureInfo`` is the former name).
MeasureInfo = Measure


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


class _BudgetBase(_Model):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [key for key in MEASURES if getattr(self, key, None) is not None]
        if len(given) != 1:
            got = " and ".join(given) if given else "none"
            raise ValueError(f"must have exactly one of {', '.join(MEASURES)} (got {got})")
        return self

    @property
    def measure(self) -> str:
        """The key of the unit this budget is in, e.g. ``"usd"``."""
        for key in MEASURES:
            if getattr(self, key, None) is not None:
                return key
        raise AssertionError("a validated Budget has exactly one measure")  # pragma: no cover

    @property
    def unit(self) -> Measure:
        """The unit this budget is in."""
        return MEASURES[self.measure]

    @property
    def amount(self) -> Decimal:
        """The budget in its unit."""
        value = getattr(self, self.measure)
        return value if isinstance(value, Decimal) else Decimal(value)

    @property
    def info(self) -> Measure:
        """Label and formatting of this budget's unit."""
        return self.unit

    def format(self) -> str:
        """The budget for people, e.g. ``$5,000.00``."""
        return self.unit.format(self.amount)


def _budget_field(unit: Measure) -> tuple[Any, Any]:
    """The ``budget:`` key of one measure: a positive amount, whole for counted units."""
    title = unit.label[:1].upper() + unit.label[1:]
    if unit.whole:
        return (
            Annotated[
                int | None,
                Field(gt=0, le=int(MAX_AMOUNT), title=title, description=unit.description),
                WithJsonSchema(
                    {"type": "integer", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}
                ),
            ],
            None,
        )
    return (
        Annotated[
            Decimal | None,
            Field(
                gt=0,
                le=MAX_AMOUNT,
                decimal_places=MAX_PLACES,
                title=title,
                description=unit.description,
            ),
            WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_AMOUNT)}),
        ],
        None,
    )


def _budget_doc() -> str:
    keys = list(MEASURES)
    listed = f"{', '.join(keys[:-1])} or {keys[-1]}" if len(keys) > 1 else keys[0]
    return f"How much a period may use: exactly one of {listed}."


def _budget_model() -> type[_BudgetBase]:
    fields = {key: _budget_field(unit) for key, unit in MEASURES.items()}
    return create_model(  # type: ignore[call-overload, no-any-return]
        "Budget",
        __base__=_BudgetBase,
        __doc__=_budget_doc(),
        __module__=__name__,
        **fields,
    )


if TYPE_CHECKING:
    Budget = _BudgetBase
else:
    Budget = _budget_model()
    """How much a period may use: exactly one of usd, qpu_hours or jobs (one key per measure)."""


class Policy(PolicyItem):
    """A budget per project, per user or for the whole organization, over a UTC period."""

    name: Name
    description: str | None = None
    """What the budget is for, shown in alerts."""
    scope: Scope
    """What the budget is counted against: projects, users or the whole organization."""
    match: Globs = None
    each: bool = False
    """True: the budget applies to each matched group on its own; false: to their sum."""
    period: Period = "month"
    """UTC calendar period: day, week (ISO, Monday first), month, quarter or year."""
    budget: Budget
    """Exactly one of usd, qpu_hours or jobs, greater than 0."""
    alert_at: Annotated[
        AlertPercentList,
        Field(
            default_factory=lambda: [Decimal(80), Decimal(100)],
            description="Percent of the budget actually used at which to alert; at most 100.",
            json_schema_extra={"default": [80, 100]},
        ),
    ]
    forecast_at: Annotated[
        PercentList,
        Field(
            default_factory=list,
            description="Percent of the budget projected at the period's end at which to alert.",
        ),
    ]
    pace_at: Annotated[
        PercentList,
        Field(
            default_factory=list,
            description=(
                "Percent of the pro-rated budget (budget x elapsed share of the period) "
                "at which to alert."
            ),
        ),
    ]
    channel: Channel = None
    mention: Mentions = Field(default_factory=list)

    @field_validator("match")
    @classmethod
    def _check_match(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _check_globs(values, info)

    @field_validator("each")
    @classmethod
    def _check_each(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("scope") == "organization":
            raise ValueError("not allowed with scope 'organization' (it has a single group)")
        return value

    @field_validator("alert_at")
    @classmethod
    def _check_alert_at(cls, values: list[Decimal]) -> list[Decimal]:
        return _check_percents(values, upper=Decimal(100))

    @field_validator("forecast_at", "pace_at")
    @classmethod
    def _check_over_100_allowed(cls, values: list[Decimal]) -> list[Decimal]:
        return _check_percents(values, upper=None)


class Anomaly(PolicyItem):
    """A day whose spend is far above the group's trailing baseline."""

    name: Name
    description: str | None = None
    """What the watch is for, shown in alerts."""
    scope: Scope
    """What is watched: projects, users or the whole organization."""
    match: Globs = None
    window: Annotated[
        str,
        Field(
            pattern=r"^[0-9]+[dw]$",
            description="Trailing baseline, in days or weeks: '14d', '2w' (3 to 90 days).",
        ),
    ]
    factor: Annotated[
        Decimal,
        Field(
            gt=1,
            le=MAX_PERCENT,
            decimal_places=MAX_PLACES,
            description="Alert on a day above this many times the baseline's median.",
        ),
        WithJsonSchema({"type": "number", "exclusiveMinimum": 1, "maximum": int(MAX_PERCENT)}),
    ]
    min_usd: Annotated[
        Decimal,
        Field(
            ge=0,
            le=MAX_AMOUNT,
            decimal_places=MAX_PLACES,
            description="Ignore days that spent less than this many US dollars.",
            json_schema_extra={"default": 0},
        ),
        WithJsonSchema({"type": "number", "minimum": 0, "maximum": int(MAX_AMOUNT)}),
    ] = Decimal(0)
    channel: Channel = None
    mention: Mentions = Field(default_factory=list)

    @field_validator("match")
    @classmethod
    def _check_match(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _check_globs(values, info)

    @field_validator("window", mode="before")
    @classmethod
    def _check_window(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"must be days or weeks like '14d' or '2w' (got {_show(value)})")
        parse_window(value)
        return value.strip()

    @property
    def window_days(self) -> int:
        """The baseline window in days."""
        return parse_window(self.window)


class Digest(PolicyItem):
    """A scheduled summary of the last complete period."""

    name: Name
    schedule: Annotated[
        str,
        Field(description="Cron expression (5 fields), e.g. '0 9 * * MON'."),
    ]
    timezone: Annotated[
        str,
        Field(description="IANA timezone the schedule runs in, e.g. 'Europe/Berlin'."),
    ] = "UTC"
    period: DigestPeriod = "week"
    """The digest reports the last complete period of this length (UTC)."""
    channel: Channel = None
    top: Annotated[
        int,
        Field(ge=1, le=50, description="How many projects, users and jobs each list shows."),
    ] = 10

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        fields = value.split()
        if not value.startswith("@") and len(fields) != 5:
            raise ValueError(
                "must be a cron expression of 5 fields (minute hour day month weekday), "
                f"e.g. '0 9 * * MON' (got {_show(value)})"
            )
        try:
            # A fixed start: validating must not read the clock.
            croniter(value, datetime(2000, 1, 1)).get_next(datetime)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"is not a valid cron expression (got {_show(value)}): {str(error)[:120]}"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        known = len(value) <= _TIMEZONE_MAX and _TIMEZONE_RE.fullmatch(value) is not None
        if known:
            try:
                ZoneInfo(value)
            except (ValueError, KeyError, OSError):
                # zoneinfo reads a file named by the key: a folder ('Europe'), an overlong or
                # odd name raise IsADirectoryError, OSError, ValueError, ZoneInfoNotFoundError.
                known = False
        if not known:
            shown = _show(value) if len(value) <= _TIMEZONE_MAX else _show(value[:40]) + "..."
            message = f"unknown timezone {shown}"
            close = (
                difflib.get_close_matches(value, sorted(_timezones()), n=1)
                if len(value) <= _TIMEZONE_MAX
                else []
            )
            if close:
                message += f"; did you mean {close[0]!r}?"
            else:
                message += "; use an IANA name such as 'Europe/Berlin' or 'UTC'"
            raise ValueError(message) from None
        return value


class PolicyFile(_Model):
    """A budgetbot policy file: budget policies, anomaly watches and digests."""

    model_config = ConfigDict(title="budgetbot policy file")

    policies: list[Policy] = Field(default_factory=list)
    """Budget policies, alerting on actual, forecast and pace thresholds."""
    anomalies: list[Anomaly] = Field(default_factory=list)
    """Anomaly watches: days far above a trailing baseline."""
    digests: list[Digest] = Field(default_factory=list)
    """Scheduled summaries posted to Slack."""


def _follow_registry() -> None:
    """Give :class:`Budget` one key per registered measure, in the registry's order, and
    rebuild the models that hold it (the same class object, so every import stays valid)."""
    fields = Budget.__pydantic_fields__
    known = dict(fields)
    fields.clear()
    for key, unit in MEASURES.items():
        fields[key] = known.get(key) or FieldInfo.from_annotated_attribute(*_budget_field(unit))
    Budget.__doc__ = _budget_doc()
    for model in (Budget, Policy, PolicyFile):
        model.model_rebuild(force=True)


watch(_follow_registry)


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, for editors and ``budgetbot schema``."""
    schema = PolicyFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
