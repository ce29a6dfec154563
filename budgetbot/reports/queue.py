"""The queue report: what is queued or running now, per project or user (pure).

Built from a :class:`~budgetbot.queue.QueueSnapshot` and the burns of budgets with
``committed_at`` (their ``queue`` is set); ``budgetbot queue`` and ``/ionq-usage queue`` render
it. A group whose queue no key sees whole is *not visible*: its jobs seen so far are listed, but
it is never shown as an empty queue, and its estimate is never a total.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from budgetbot.queue.model import QUEUED_STATUSES, QueuedJob, QueueSnapshot, queued_amount
from budgetbot.rules.findings import ALL_GROUPS, Burn
from budgetbot.usage.measures import Measure

__all__ = [
    "NO_PROJECT",
    "QUEUE_GROUPINGS",
    "QueueGroup",
    "QueueGrouping",
    "QueueReport",
    "build_queue_report",
]

#: What the queue report groups by (IonQ's jobs name a project and a submitter, nothing else).
QueueGrouping = Literal["project", "user"]
QUEUE_GROUPINGS: Final[tuple[QueueGrouping, ...]] = ("project", "user")
#: The name of the line of jobs IonQ names no project for.
NO_PROJECT = "(no project)"


@dataclass(frozen=True)
class QueueGroup:
    """One project or user and its queued and running jobs, largest estimate first."""

    key: str | None
    """The project or user id; None: the jobs without a project."""
    name: str
    visible: bool
    """Whether some key sees this group's whole queue; False: ``jobs`` may be only part of it."""
    jobs: tuple[QueuedJob, ...]
    budgets: tuple[Burn, ...] = ()
    """The burns of budgets with ``committed_at`` about this group alone."""

    @property
    def by_status(self) -> dict[str, int]:
        """Jobs per status, in IonQ's order (``submitted``, ``ready``, ``started``), then others."""
        counts = Counter(j.status for j in self.jobs)
        order = [*QUEUED_STATUSES, *sorted(set(counts) - set(QUEUED_STATUSES))]
        return {s: counts[s] for s in order if counts[s]}

    @property
    def estimate_usd(self) -> Decimal | None:
        """The jobs' estimated cost; None when any job has no USD estimate (a partial sum is no
        figure) or the queue is not visible (the jobs seen are not all of it)."""
        if not self.visible:
            return None
        return queued_amount(self.jobs, Measure.USD)

    @property
    def estimated_usd_seen(self) -> Decimal:
        """The sum of the USD estimates that are known: a lower bound, never a total."""
        return sum((j.estimate_usd for j in self.jobs if j.estimate_usd is not None), Decimal(0))

    @property
    def credit_jobs(self) -> int:
        """Jobs IonQ estimated in credits: no USD figure."""
        return sum(1 for j in self.jobs if j.estimate_usd is None and j.estimate_unit == "credit")

    @property
    def unestimated_jobs(self) -> int:
        """Jobs with no USD estimate at all (credits included)."""
        return sum(1 for j in self.jobs if j.estimate_usd is None)


@dataclass(frozen=True)
class QueueReport:
    """The queue at ``at`` grouped by ``grouping``: groups with jobs first (largest estimate
    first), then groups whose queue is not visible, then visible groups with nothing queued."""

    at: dt.datetime
    grouping: QueueGrouping
    groups: tuple[QueueGroup, ...]
    all_visible: bool
    """Every project budgetbot knows is covered by a key (users and the organization need it)."""
    budgets: tuple[Burn, ...] = ()
    """Burns with ``committed_at`` about no single listed group: the organization, several
    groups together, or the other grouping."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Project and user ids to the names IonQ gave them (submitters are named from it)."""
    requests: Mapping[str, int] = field(default_factory=dict)

    def name_of(self, key: str) -> str:
        """The name IonQ gave project or user ``key``, else the id."""
        return self.names.get(key, key)

    @property
    def jobs(self) -> int:
        return sum(len(g.jobs) for g in self.groups)

    @property
    def estimate_usd(self) -> Decimal | None:
        """All jobs' estimated cost; None unless every queue is visible and every job has a USD
        estimate."""
        if not self.all_visible:
            return None
        return queued_amount((j for g in self.groups for j in g.jobs), Measure.USD)


def _order(group: QueueGroup) -> tuple[int, Decimal, int, str]:
    if group.jobs:
        rank = 0
    elif not group.visible:
        rank = 1
    else:
        rank = 2
    return (rank, -group.estimated_usd_seen, -len(group.jobs), group.name.lower())


def _largest_first(jobs: Iterable[QueuedJob]) -> tuple[QueuedJob, ...]:
    return tuple(
        sorted(jobs, key=lambda j: (j.estimate_usd is None, -(j.estimate_usd or 0), j.label))
    )


def _about(burn: Burn, grouping: str, key: str | None, name: str) -> bool:
    """Whether ``burn`` is a budget of the one group ``key`` (by id, or by name for a rule that
    names a single group without ``each``)."""
    if burn.scope != grouping or burn.plural or key is None:
        return False
    return burn.group_key == key or (burn.group_key == ALL_GROUPS and burn.group_name == name)


def build_queue_report(
    snapshot: QueueSnapshot,
    grouping: QueueGrouping = "project",
    burns: Sequence[Burn] = (),
) -> QueueReport:
    """The queue of ``snapshot`` per project or user, with the budgets of ``burns`` whose queue
    was read (policies with ``committed_at``) beside the groups they are about."""
    committed = [b for b in burns if b.queue is not None]
    names = snapshot.names
    everything = snapshot.covers(None)
    jobs_of: dict[str | None, list[QueuedJob]] = {}
    if grouping == "project":
        for job in snapshot.jobs:
            jobs_of.setdefault(job.project_id, []).append(job)
        keys: set[str | None] = {*snapshot.known, *snapshot.covered, *jobs_of}
        keys |= {b.group_key for b in committed if b.scope == "project" and b.group_key != "*"}

        def visible(key: str | None) -> bool:
            # Jobs without a project may come from any project's key: all must be read.
            return everything if key is None else key in snapshot.covered
    else:
        for job in snapshot.jobs:
            jobs_of.setdefault(job.submitter_id, []).append(job)
        keys = {*jobs_of, *(b.group_key for b in committed if b.scope == "user")}
        keys.discard(ALL_GROUPS)

        def visible(key: str | None) -> bool:
            return everything  # a user may queue in any project

    groups = []
    for key in keys:
        name = NO_PROJECT if key is None else names.get(key, key)
        if key is not None and name == key:
            # A budget may know the name IonQ's usage answers gave the group.
            name = next((b.group_name for b in committed if b.group_key == key), key)
        budgets = tuple(b for b in committed if _about(b, grouping, key, name))
        jobs = _largest_first(jobs_of.get(key, ()))
        groups.append(QueueGroup(key, name, visible(key), jobs, budgets))
    groups.sort(key=_order)
    attached = {id(b) for g in groups for b in g.budgets}
    return QueueReport(
        at=snapshot.at,
        grouping=grouping,
        groups=tuple(groups),
        all_visible=everything,
        budgets=tuple(b for b in committed if id(b) not in attached),
        names=dict(names),
        requests=dict(snapshot.requests),
    )
