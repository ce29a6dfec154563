"""Wire models of IonQ's usage endpoint (``GET /organizations/{id}/usage``).

Money and QPU time are ``Decimal`` from the JSON text on (the client parses numbers with
``parse_float=Decimal``), never ``float``. The models follow IonQ's OpenAPI schema: unknown fields
are ignored so IonQ can add fields, fields the schema marks optional may be absent (and then stay
``None``: absent is unknown, never a silent zero), a missing required field is an error naming the
field, and an unknown ``group_type`` or ``modality`` value is logged and skipped.

Every number is checked as it is read, before any arithmetic: a JSON number (not a string or a
boolean), finite, not negative, below ``MAX_AMOUNT`` (``MAX_COUNT`` for job counts and QPU
microseconds) and with at most ``MAX_PLACES`` decimal places; counts are integers. ``1e999999``
is refused here, so it never reaches a ``decimal.Overflow``.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

__all__ = [
    "INVARIANT",
    "MAX_AMOUNT",
    "MAX_COUNT",
    "GroupBy",
    "GroupUsage",
    "Modality",
    "Usage",
    "UsageAmount",
    "UsageQuery",
    "Usages",
]

log = logging.getLogger("budgetbot.ionq")
_E = TypeVar("_E", bound=StrEnum)

#: The pydantic error type of a figure that breaks IonQ's invariants (the client retries those).
INVARIANT = "ionq_invariant"
#: The largest amount believed, exclusive, in USD or credits: a thousand billion. IonQ's whole
#: yearly revenue is far below it, so a figure at or above it is a corrupt answer, and every sum
#: budgetbot makes of believed figures stays far inside ``Decimal``'s range.
MAX_AMOUNT = Decimal(10) ** 12
#: The largest job count or QPU time in microseconds believed, exclusive (10^15 µs is 31 years).
MAX_COUNT = 10**15
#: The most decimal places a figure may have (IonQ writes cents and fractions of a µs).
MAX_PLACES = 18


def _refuse(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(INVARIANT, message, context)


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "..."


def _figure(value: object, limit: Decimal | int, what: str) -> Decimal | int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _refuse(f"must be a number, not {type(value).__name__}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise _refuse("must be a finite number, not {value}", value=_shown(value))
    if isinstance(value, Decimal) and int(value.as_tuple().exponent) < -MAX_PLACES:
        # 1e-999999 is finite and small, but printing it spells out a million zeros.
        raise _refuse(
            f"has more than {MAX_PLACES} decimal places (got {{value}})", value=_shown(value)
        )
    if value < 0:
        raise _refuse("must not be negative (got {value})", value=_shown(value))
    if value >= limit:
        raise _refuse(
            f"is beyond any plausible {what} (got {{value}}, the limit is {limit:.0e})",
            value=_shown(value),
        )
    if isinstance(value, Decimal) and value.is_zero():
        return value.copy_abs()  # -0.0 is $0.00, not "-$0.00"
    return value


def _amount(value: object) -> Decimal | int:
    return _figure(value, MAX_AMOUNT, "amount")


def _time_us(value: object) -> Decimal | int:
    return _figure(value, MAX_COUNT, "QPU time")


def _count(value: object) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # 3.0 or 3e0: an integer written as a float
    if isinstance(value, Decimal):
        raise _refuse("must be a whole number (got {value})", value=_shown(value))
    out = _figure(value, MAX_COUNT, "job count")
    assert isinstance(out, int)
    return out


#: Money as read from IonQ: a sane, exact ``Decimal``.
Amount = Annotated[Decimal, BeforeValidator(_amount)]
#: QPU time in microseconds.
TimeUs = Annotated[Decimal, BeforeValidator(_time_us)]
#: A job count.
Count = Annotated[int, BeforeValidator(_count)]


class GroupBy(StrEnum):
    """What IonQ groups usage by."""

    JOB = "job"
    PROJECT = "project"
    USER = "user"


class Modality(StrEnum):
    """The size of IonQ's time buckets."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class UsageQuery(BaseModel):
    """One request to the usage endpoint: ``start`` inclusive, ``end`` exclusive (UTC days)."""

    model_config = ConfigDict(frozen=True)

    group_by: GroupBy
    modality: Modality
    start: dt.date
    end: dt.date

    def params(self) -> dict[str, str]:
        """The query string IonQ expects."""
        return {
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "group_by": self.group_by.value,
            "modality": self.modality.value,
        }

    def __str__(self) -> str:
        return f"{self.group_by.value}/{self.modality.value} {self.start}..{self.end}"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class UsageAmount(_Wire):
    """One currency's share of an amount (API versions from Sept. 2026); both fields optional."""

    amount: Amount | None = None
    unit: str | None = None


class GroupUsage(_Wire):
    """One group's usage within one bucket; IonQ lists only a bucket's top 5 groups.

    Every field is optional in IonQ's schema. An absent ``amount`` is unknown, not zero: the
    group is listed, so the bucket's remainder still bounds it from above, but the 5th-largest
    listed amount does not (an amount-less group may be the largest), and the usage layer bounds
    it accordingly (``usage.normalize``).
    """

    amount: Amount | None = None
    group_id: str | None = None
    group_name: str | None = None
    job_count: Count | None = None
    time_us: TimeUs | None = None
    amount_unit: str | None = None
    amounts: list[UsageAmount] | None = None

    @property
    def key(self) -> str:
        """A stable identity: the id when IonQ gives one, else the name (checked to exist)."""
        return self.group_id or self.group_name or "?"


class Usage(_Wire):
    """One time bucket with its exact totals and its top-5 groups."""

    from_: dt.date = Field(alias="from")
    amount: Amount
    job_count: Count
    time_us: TimeUs
    group_usages: list[GroupUsage]
    amount_unit: str | None = None
    amounts: list[UsageAmount] | None = None


def _known(kind: type[_E], field: str, value: object) -> _E | None:
    if value is None or isinstance(value, kind):
        return value
    if isinstance(value, str) and value in {member.value for member in kind}:
        return kind(value)
    # IonQ may add values; the query says what we asked for, so this one is not needed.
    log.warning("IonQ answered an unknown %s %r; ignoring it", field, _shown(value))
    return None


class Usages(_Wire):
    """The whole answer of the usage endpoint.

    ``usage_data`` is optional in IonQ's schema: absent, it is ``None`` (no per-bucket figures),
    which the usage layer does not read as zero usage.
    """

    usage_data: list[Usage] | None = None
    amount_total: Amount | None = None
    time_us_total: TimeUs | None = None
    job_count: Count | None = None
    usage_unit: str | None = None
    group_type: GroupBy | None = None
    modality: Modality | None = None
    organization: str | None = None
    usage_from: dt.datetime | None = None
    usage_to: dt.datetime | None = None
    amount_totals: list[UsageAmount] | None = None

    @field_validator("group_type", mode="before")
    @classmethod
    def _group_type(cls, value: object) -> GroupBy | None:
        return _known(GroupBy, "group_type", value)

    @field_validator("modality", mode="before")
    @classmethod
    def _modality(cls, value: object) -> Modality | None:
        return _known(Modality, "modality", value)
