"""Wire models of IonQ's jobs endpoints: ``/whoami``, ``GET /jobs``, ``GET /jobs/{id}/cost``, and
the answers of cancelling and cloning jobs.

As with usage (``_models``), money and QPU time are exact ``Decimal`` from the JSON text on, every
figure is checked as it is read (finite, not negative, plausible: a broken one refuses the whole
answer as ``IonQInvalidAnswer``), a missing required field is an error naming it, fields IonQ's
schema marks optional may be absent or null, and unknown fields are ignored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from ._models import Amount, TimeUs, _Wire

__all__ = [
    "ClonedJob",
    "Job",
    "JobCost",
    "JobCostAmount",
    "JobStats",
    "JobStatus",
    "JobsCanceled",
    "JobsPage",
    "Whoami",
]

#: An identifier IonQ gives (a job, a user, a project): a non-empty string.
Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class JobStatus(StrEnum):
    """IonQ's ``JobStatus``: where a job is in its life."""

    SUBMITTED = "submitted"
    READY = "ready"
    STARTED = "started"
    CANCELED = "canceled"
    FAILED = "failed"
    COMPLETED = "completed"


class Whoami(_Wire):
    """``GET /whoami``: the key's id and name and, for a project key, its project.

    IonQ's OpenAPI document names the fields ``key_id``/``key_name``/``project_id``; DESIGN §2
    (and the simulator, besides those) says ``id``/``name``/``project``: either is read.
    """

    key_id: Id = Field(validation_alias=AliasChoices("key_id", "id"))
    key_name: str | None = Field(None, validation_alias=AliasChoices("key_name", "name"))
    project_id: Id | None = Field(None, validation_alias=AliasChoices("project_id", "project"))


class JobStats(_Wire):
    """The part of a job's ``stats`` budgetbot reads (circuit jobs carry it; others may not)."""

    predicted_quantum_compute_time_us: TimeUs | None = None
    billed_quantum_compute_time_us: TimeUs | None = None
    """The QPU time IonQ billed (a completed job)."""


class Job(_Wire):
    """One job of a ``GET /jobs`` listing. ``id``, ``status`` and ``submitter_id`` are needed to
    count it; the rest is optional (IonQ's schema lists them, but a job without a name or a
    backend is still a job that will be billed). An optional field that is only shown (name,
    backend, timestamps, wait) and cannot be read is dropped rather than refusing the listing;
    a broken figure (the predicted QPU time) refuses it, as a sign the answer is corrupt."""

    id: Id
    status: str
    submitter_id: Id
    project_id: Id | None = None
    name: str | None = None
    backend: str | None = None
    submitted_at: dt.datetime | None = None
    """Aware (a time without an offset is read as UTC)."""
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    """When it completed (its UTC day is the day IonQ bills it on)."""
    predicted_wait_time_ms: Annotated[int, Field(ge=0)] | None = None
    stats: JobStats | None = None

    @field_validator(
        "name",
        "backend",
        "submitted_at",
        "started_at",
        "completed_at",
        "predicted_wait_time_ms",
        mode="wrap",
    )
    @classmethod
    def _shown_only(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            return None

    @field_validator("stats", mode="before")
    @classmethod
    def _stats(cls, value: object) -> object:
        # ``stats`` is a job-type-specific object: anything else carries nothing we read.
        return value if isinstance(value, dict) or value is None else None

    @field_validator("submitted_at", "started_at", "completed_at", mode="after")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value

    @property
    def predicted_us(self) -> Decimal | None:
        """The predicted QPU time in microseconds, where IonQ gives it."""
        return None if self.stats is None else self.stats.predicted_quantum_compute_time_us

    @property
    def billed_us(self) -> Decimal | None:
        """The billed QPU time in microseconds, where IonQ gives it."""
        return None if self.stats is None else self.stats.billed_quantum_compute_time_us


class JobsPage(_Wire):
    """One page of ``GET /jobs``: both keys are required; ``next`` is null on the last page."""

    jobs: list[Job]
    next: str | None = Field(...)


class JobCostAmount(_Wire):
    """A cost as IonQ writes it: ``usd`` (lower case) or ``credit``."""

    value: Amount
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]

    @property
    def usd(self) -> Decimal | None:
        """The value in USD, or None when the unit is not USD (credits have no USD figure)."""
        return self.value if self.unit.lower() == "usd" else None


class JobCost(_Wire):
    """``GET /jobs/{id}/cost``: the estimate, and the billed ``cost`` once the job has run."""

    estimated_cost: JobCostAmount
    dry_run: bool | None = None
    cost: JobCostAmount | None = None


class JobsCanceled(_Wire):
    """``PUT /jobs/status/cancel`` (``ids``) and ``PUT /jobs/{id}/status/cancel`` (``id``)."""

    ids: list[Id] = Field(default_factory=list)
    id: Id | None = None
    status: str

    @property
    def canceled(self) -> tuple[str, ...]:
        """Every job id the answer names."""
        return tuple(self.ids) + ((self.id,) if self.id and self.id not in self.ids else ())


class ClonedJob(_Wire):
    """``POST /jobs/{id}/clone``: the new job's id and status."""

    id: Id
    status: str
    session_id: str | None = None


def job_params(status: JobStatus, limit: int, cursor: str | None) -> dict[str, Any]:
    """The query string of one ``GET /jobs`` page."""
    params: dict[str, Any] = {"status": status.value, "limit": str(limit)}
    if cursor is not None:
        params["next"] = cursor
    return params
