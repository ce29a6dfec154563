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
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from budgetbot.rules.periods import Period
from budgetbot.usage.measures import MEASURES, Measure, watch

from .budget import Budget, budget_doc, budget_field
from .people import SlackUser
from .policy_fields import (
    _TIMEZONE_MAX,
    _TIMEZONE_RE,
    ACTION_SCOPES,
    MAX_AMOUNT,
    MAX_PERCENT,
    MAX_PLACES,
    NAME_PATTERN,
    Action,
    AlertPercentList,
    Channel,
    DigestPeriod,
    Globs,
    Mentions,
    Name,
    Notify,
    PercentList,
    PolicyItem,
    Scope,
    _check_globs,
    _check_percents,
    _Model,
    _show,
    _timezones,
    parse_window,
)

__all__ = [
    "MEASURES",
    "NAME_PATTERN",
    "Action",
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

#: Budget units, from :mod:`budgetbot.usage.measures` (``MeasureInfo`` is the former name).
MeasureInfo = Measure


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
    committed_at: Annotated[
        PercentList,
        Field(
            default_factory=list,
            description=(
                "Percent of the budget committed (used so far plus the estimate of the jobs"
                " queued or running now) at which to alert."
            ),
        ),
    ]
    channel: Channel = None
    mention: Mentions = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    """What budgetbot does at a level: cancel the group's queued jobs, approved in Slack."""
    notify: Notify = "channel"

    @field_validator("match")
    @classmethod
    def _check_match(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return _check_globs(values, info)

    @field_validator("actions")
    @classmethod
    def _check_actions(cls, actions: list[Action], info: ValidationInfo) -> list[Action]:
        # Each problem is raised at its action's own key, so the loader names its line.
        problems = [
            InitErrorDetails(
                type=PydanticCustomError("policy_action", "{message}", {"message": message}),
                loc=(index, key),
                input=value,
            )
            for index, action in enumerate(actions)
            for key, value, message in _action_problems(action, info.data)
        ]
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return actions

    @field_validator("each")
    @classmethod
    def _check_each(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("scope") == "organization":
            raise ValueError("not allowed with scope 'organization' (it has a single group)")
        return value

    @field_validator("notify")
    @classmethod
    def _check_notify(cls, value: str, info: ValidationInfo) -> str:
        # The person is one user: a budget shared by several has no one person to tell.
        if value == "person" and (info.data.get("scope") != "user" or not info.data.get("each")):
            raise ValueError("'person' needs scope 'user' and each: true (one user per budget)")
        return value

    @field_validator("alert_at")
    @classmethod
    def _check_alert_at(cls, values: list[Decimal]) -> list[Decimal]:
        return _check_percents(values, upper=Decimal(100))

    @field_validator("forecast_at", "pace_at", "committed_at")
    @classmethod
    def _check_over_100_allowed(cls, values: list[Decimal]) -> list[Decimal]:
        return _check_percents(values, upper=None)


def _action_problems(action: Action, policy: dict[str, Any]) -> list[tuple[str, object, str]]:
    """``(key, value, message)`` for what is wrong with ``action`` in a policy of these fields."""
    found: list[tuple[str, object, str]] = []
    scope = policy.get("scope")
    if scope is not None and scope not in ACTION_SCOPES:
        found.append(
            ("do", action.do, f"only project and user budgets may cancel jobs (scope is {scope!r})")
        )
    levels_key = "alert_at" if action.of == "spend" else "committed_at"
    levels: list[Decimal] | None = policy.get(levels_key)
    if levels is not None and action.at not in levels:
        shown = ", ".join(f"{level.normalize():f}" for level in levels) or "none"
        found.append(
            (
                "at",
                action.at,
                f"{_show(action.at)} is not one of the policy's {levels_key} levels ({shown});"
                f" an action of {action.of} acts at one of them",
            )
        )
    if action.approval == "manual" and not action.approvers:
        found.append(
            (
                "approvers",
                action.approvers,
                "manual approval needs approvers: Slack user ids, '@user-groups' or e-mails",
            )
        )
    return found


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
    people: dict[str, SlackUser] = Field(default_factory=dict)
    """IonQ users (name or id) → Slack users (U… id or e-mail), for ``notify: person``."""


def _follow_registry() -> None:
    """Give :class:`Budget` one key per registered measure, in the registry's order, and
    rebuild the models that hold it (the same class object, so every import stays valid)."""
    fields = Budget.__pydantic_fields__
    known = dict(fields)
    fields.clear()
    for key, unit in MEASURES.items():
        fields[key] = known.get(key) or FieldInfo.from_annotated_attribute(*budget_field(unit))
    Budget.__doc__ = budget_doc()
    for model in (Budget, Policy, PolicyFile):
        model.model_rebuild(force=True)


watch(_follow_registry)


def policy_json_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, for editors and ``budgetbot schema``."""
    schema = PolicyFile.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
