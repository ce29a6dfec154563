"""Wire models of IonQ's usage endpoint (``GET /organizations/{id}/usage``).

Money and QPU time are ``Decimal`` from the JSON text on (the client parses numbers with
``parse_float=Decimal``), never ``float``. Unknown fields are ignored so IonQ can add fields; a
missing required field is an error naming the field, never a silent zero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GroupBy", "GroupUsage", "Modality", "Usage", "UsageAmount", "UsageQuery", "Usages"]


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
    """One currency's share of an amount (API versions from Sept. 2026)."""

    amount: Decimal
    unit: str


class GroupUsage(_Wire):
    """One group's usage within one bucket; IonQ lists only a bucket's top 5 groups."""

    amount: Decimal
    group_id: str | None = None
    group_name: str | None = None
    job_count: int | None = None
    time_us: Decimal | None = None
    amount_unit: str | None = None
    amounts: list[UsageAmount] | None = None

    @property
    def key(self) -> str:
        """A stable identity: the id when IonQ gives one, else the name."""
        return self.group_id or self.group_name or "?"


class Usage(_Wire):
    """One time bucket with its exact totals and its top-5 groups."""

    from_: dt.date = Field(alias="from")
    amount: Decimal
    job_count: int
    time_us: Decimal
    group_usages: list[GroupUsage]
    amount_unit: str | None = None
    amounts: list[UsageAmount] | None = None


class Usages(_Wire):
    """The whole answer of the usage endpoint."""

    usage_data: list[Usage]
    amount_total: Decimal | None = None
    time_us_total: Decimal | None = None
    job_count: int | None = None
    usage_unit: str | None = None
    group_type: GroupBy | None = None
    modality: Modality | None = None
    organization: str | None = None
    usage_from: dt.datetime | None = None
    usage_to: dt.datetime | None = None
    amount_totals: list[UsageAmount] | None = None
