"""Usage answers and queue snapshots for the committed-spend tests: a small, fixed month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from budgetbot.ionq import UsageQuery
from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.rules.planner import Plan
from budgetbot.usage.model import Bucket, Figures, UsageSeries

D = Decimal
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
NAMES = {
    "p-chem": "Quantum Chem",
    "p-bio": "Bio Lab",
    "p-new": "New Project",
    "u-alice": "Alice",
    "u-bob": "Bob",
}


def answers(
    planned: Plan, listed: Mapping[str, Decimal], *, other: Decimal = Decimal(0)
) -> dict[UsageQuery, UsageSeries]:
    """Each query's answer: period buckets list the groups of ``listed`` the query groups by
    (plus ``other`` unitemized), each daily bucket of the rate window nothing."""
    out = {}
    for query in planned.queries:
        if query.modality.value == "daily":
            days = (query.end - query.start).days
            buckets = tuple(
                Bucket(day, day + dt.timedelta(days=1), Figures(D(0), D(0), 0), {})
                for day in (query.start + dt.timedelta(days=i) for i in range(days))
            )
        else:
            # Projects are p-…, users u-…: each grouping lists its own.
            mine = {k: v for k, v in listed.items() if k[0] == query.group_by.value[0]}
            total = sum(mine.values(), D(0)) + other
            groups = {k: Figures(v, D(0), 1) for k, v in mine.items()}
            buckets = (Bucket(query.start, query.end, Figures(total, D(0), len(groups)), groups),)
        out[query] = UsageSeries(
            group_by=query.group_by.value,
            modality=query.modality.value,
            start=query.start,
            end=query.end,
            buckets=buckets,
            names=NAMES,
        )
    return out


def job(
    id: str,
    project: str | None = "p-chem",
    usd: str | None = "100",
    *,
    user: str = "u-alice",
    name: str | None = None,
    unit: str = "usd",
    predicted_us: Decimal | None = None,
) -> QueuedJob:
    return QueuedJob(
        id=id,
        status="submitted",
        project_id=project,
        submitter_id=user,
        name=name,
        estimate_usd=D(usd) if usd is not None and unit == "usd" else None,
        estimate_unit=unit if usd is not None else None,
        predicted_us=predicted_us,
    )


def snapshot(
    *jobs: QueuedJob,
    covered: tuple[str, ...] = ("p-chem", "p-bio", "p-new"),
    known: tuple[str, ...] = ("p-chem", "p-bio", "p-new"),
) -> QueueSnapshot:
    return QueueSnapshot(
        at=NOW,
        jobs=jobs,
        covered=frozenset(covered),
        known=frozenset(known),
        names=NAMES,
        requests={"whoami": 1, "jobs": 3, "cost": len(jobs)},
    )
