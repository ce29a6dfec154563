"""The queue as the engine sees it: plain data about the jobs queued or running now (pure).

IonQ bills a job, and shows it in the usage API, only after it ran; until then its estimated
cost is *committed*. A key lists the jobs of its own project (IonQ's v0.4 docs), so budgetbot
reads the queue with the organization's key and every project key, and a project's queue is
*covered* only when some key's ``/whoami`` names that project. A queue nobody covers is "not
visible": never counted as empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Protocol

from budgetbot.usage.measures import Figures, Measure

__all__ = ["QUEUED_STATUSES", "QueueReader", "QueueSnapshot", "QueuedJob", "queued_amount"]

#: The statuses of a job that has not been billed yet and still will be (IonQ's ``JobStatus``).
QUEUED_STATUSES: Final[tuple[str, ...]] = ("submitted", "ready", "started")


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One job IonQ has accepted and not yet billed."""

    id: str
    status: str
    """``submitted``, ``ready`` or ``started``."""
    project_id: str | None
    """None: IonQ names no project (the job counts for its submitter and the organization)."""
    submitter_id: str
    name: str | None = None
    backend: str | None = None
    submitted_at: dt.datetime | None = None
    estimate_usd: Decimal | None = None
    """``GET /jobs/{id}/cost``'s ``estimated_cost`` when its unit is ``usd``; None otherwise."""
    estimate_unit: str | None = None
    """The estimate's unit as IonQ gave it (``usd``, ``credit``); None: no estimate known."""
    predicted_us: Decimal | None = None
    """``stats.predicted_quantum_compute_time_us`` for circuit jobs; None where not given."""

    @property
    def figures(self) -> Figures:
        """The job as the measures read it: its estimate, its predicted QPU time, one job."""
        return Figures(usd=self.estimate_usd, time_us=self.predicted_us, jobs=1)

    @property
    def label(self) -> str:
        """How a message names it: its name, else its id."""
        return self.name or self.id


def queued_amount(jobs: Iterable[QueuedJob], measure: Measure) -> Decimal | None:
    """What ``jobs`` will cost in ``measure``; None when any job's figure is unknown (credits
    without a USD estimate, a job without a predicted QPU time): a partial sum is no figure."""
    total = Decimal(0)
    for job in jobs:
        value = measure.read(job.figures)
        if value is None:
            return None
        total += value
    return total


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue at ``at``, as every configured key together sees it."""

    at: dt.datetime
    jobs: tuple[QueuedJob, ...]
    """Queued and running jobs, one per id (de-duplicated across keys)."""
    covered: frozenset[str]
    """Project ids whose whole queue some key sees (the key's ``/whoami`` names the project)."""
    known: frozenset[str] = frozenset()
    """Every project id budgetbot has seen anywhere (usage answers, jobs, keys)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Project and user ids to the names IonQ gave them in usage answers (kept in the store)."""
    requests: Mapping[str, int] = field(default_factory=dict)
    """IonQ requests this snapshot cost, by kind (``whoami``, ``jobs``, ``cost``)."""

    def covers(self, project_ids: Iterable[str] | None) -> bool:
        """Whether the queues of ``project_ids`` are seen whole; None means every project
        budgetbot knows of (the organization, or a user, who may queue in any project)."""
        wanted = self.known if project_ids is None else frozenset(project_ids)
        return bool(wanted) and wanted <= self.covered

    def of_projects(self, project_ids: Sequence[str]) -> tuple[QueuedJob, ...]:
        ids = frozenset(project_ids)
        return tuple(j for j in self.jobs if j.project_id in ids)

    def of_users(self, user_ids: Sequence[str]) -> tuple[QueuedJob, ...]:
        ids = frozenset(user_ids)
        return tuple(j for j in self.jobs if j.submitter_id in ids)


class QueueReader(Protocol):
    """Reads the queue once per cycle (``budgetbot.queue.reader`` talks to IonQ).

    Raises :class:`budgetbot.ionq.IonQError` when IonQ cannot be read.
    """

    def snapshot(self, now: dt.datetime) -> QueueSnapshot: ...
