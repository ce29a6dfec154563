"""The simulated job queue: when a job becomes ready, starts and completes, and its status.

A job goes ``submitted`` (for a few seconds, while IonQ validates it) → ``ready`` (waiting for the
QPU) → ``started`` (running) → ``completed``, and it is billed — it enters the usage endpoint — on
the UTC day it completes. How long it waits depends on the day's load: minutes on a quiet weekend,
hours on a busy weekday, most of a day on a spike. A job cancelled while it waits is ``canceled``
from then on and never billed; a job that started can no longer be cancelled.

Nothing here reads a clock: every function takes the moment it is asked about.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

__all__ = [
    "BILLING_LAG_DAYS",
    "CANCELLABLE",
    "JOB_STATUSES",
    "LISTED_DAYS",
    "QUEUED",
    "Timeline",
    "draw_timeline",
    "load_of",
    "status_at",
]

#: IonQ's ``JobStatus``.
JOB_STATUSES: Final = ("submitted", "ready", "started", "canceled", "failed", "completed")
#: Accepted and not yet billed.
QUEUED: Final = ("submitted", "ready", "started")
#: What IonQ still lets one cancel: a job that has not started.
CANCELLABLE: Final = ("submitted", "ready")

REFERENCE_DAILY_USD: Final = 7565.0
"""The organization's spend on a typical weekday: the load at which the median wait is ~1.5 h."""
_QUIET_WAIT_MINUTES: Final = 10.0  # the median wait at load 0.4 (a weekend)
_WAIT_EXPONENT: Final = 2.5  # waits grow steeply with the load: a queue near saturation
_WAIT_SIGMA: Final = 0.5
_MAX_WAIT_S: Final = 30 * 3600.0
_RUN_BASE_SECONDS: Final = 60.0  # loading, calibration, read-out
_RUN_SECONDS_PER_QPU_SECOND: Final = 300.0  # shots x circuit time, plus overheads
_MAX_RUN_S: Final = 2 * 3600.0
_SUBMITTED_SECONDS: Final = (3, 60)

BILLING_LAG_DAYS: Final = 2
"""A job completes on the day it was submitted or on one of the next two (30 h wait + 2 h run)."""

LISTED_DAYS: Final = 100
"""How many days back (by submission) the jobs endpoints list and find jobs: a quarter, the
longest budget period, plus the days a job may wait (the ledger back-fills that far)."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """A job's life in the queue, and what IonQ predicted about it."""

    ready_at: datetime
    started_at: datetime
    completed_at: datetime
    predicted_wait_ms: int
    predicted_run_ms: int
    predicted_us: int
    """``stats.predicted_quantum_compute_time_us``: the billed QPU time, give or take 10%."""
    estimate: Decimal
    """``GET /jobs/{id}/cost``'s ``estimated_cost``: the billed amount, give or take 15%."""


def draw_timeline(
    rng: random.Random, submitted_at: datetime, amount: Decimal, time_us: Decimal, load: float
) -> Timeline:
    """One job's timeline, drawn from ``rng`` (the queue's own stream, apart from the amounts).

    ``load`` is the day's spend against a typical weekday's (``REFERENCE_DAILY_USD``).
    """
    # Seconds as floats, rounded to whole milliseconds as IonQ writes its timestamps; plain
    # random() draws because a year of history draws ~20,000 timelines.
    draw = rng.random
    median = _QUIET_WAIT_MINUTES * 60.0 * (max(load, 0.05) / 0.4) ** _WAIT_EXPONENT
    wait = min(median * math.exp(rng.gauss(0.0, _WAIT_SIGMA)), _MAX_WAIT_S)
    low, high = _SUBMITTED_SECONDS
    held = low + (high - low) * draw()
    qpu_seconds = float(time_us) / 1e6
    run = (_RUN_BASE_SECONDS + qpu_seconds * _RUN_SECONDS_PER_QPU_SECOND) * (0.9 + 0.2 * draw())
    run = max(min(run, _MAX_RUN_S), 1.0)
    ready = round(min(held, wait), 3)
    started = round(max(wait, held + 0.001), 3)
    completed = round(started + run, 3)
    cents = round(float(amount) * (85 + 30 * draw()))  # ±15%
    base = submitted_at.replace(microsecond=submitted_at.microsecond // 1000 * 1000)
    return Timeline(
        ready_at=base + timedelta(seconds=ready),
        started_at=base + timedelta(seconds=started),
        completed_at=base + timedelta(seconds=completed),
        predicted_wait_ms=round(wait * (700 + 600 * draw())),  # ±30%
        predicted_run_ms=round(run * (900 + 200 * draw())),  # ±10%
        predicted_us=max(1, round(float(time_us) * (0.9 + 0.2 * draw()))),
        estimate=Decimal(max(cents, 1)).scaleb(-2),
    )


def status_at(
    timeline: Timeline, submitted_at: datetime, at: datetime, cancelled_at: datetime | None
) -> str | None:
    """The job's status at ``at``; None before it was submitted."""
    if at < submitted_at:
        return None
    if cancelled_at is not None and at >= cancelled_at:
        return "canceled"
    if at > timeline.completed_at:  # billed once it completed *before* ``at``, as usage counts
        return "completed"
    if at >= timeline.started_at:
        return "started"
    if at >= timeline.ready_at:
        return "ready"
    return "submitted"


def load_of(amount: Decimal) -> float:
    """A day's load: its spend against a typical weekday's."""
    return float(amount) / REFERENCE_DAILY_USD
