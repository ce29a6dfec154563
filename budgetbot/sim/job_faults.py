"""Faults of the jobs routes' answers: emptied listings and broken invariants (``corrupt``).

:mod:`budgetbot.sim.faults` queues the faults; this module only changes an answer of the jobs
listing (``jobs``), one job (``job``), a job's cost (``cost``) or ``whoami``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from budgetbot.sim.jobs_api import cursor_from
from budgetbot.sim.model import to_json

__all__ = ["JOB_CORRUPTIONS", "RAW", "corrupted_job_answer", "emptied_job_answer"]

#: Marks a number written verbatim (JSON literals ``to_json`` refuses to write).
RAW: Final = "\x00raw:"

_ONE_JOB: Final = (
    "unknown_status",  # a status outside IonQ's JobStatus ("paused")
    "null_status",
    "null_project",  # project_id null (IonQ allows it: the job counts for its submitter)
    "bad_timestamp",  # submitted_at is not a date-time
    "negative_predicted_time",  # stats.predicted_quantum_compute_time_us below zero
    "string_predicted_time",  # the predicted time as a string ("5000")
)
#: The corruptions ``corrupt(..., route=...)`` knows for each jobs route; the listing's change its
#: first job.
JOB_CORRUPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "jobs": (
        *_ONE_JOB,
        "duplicate_job",  # the first job listed twice
        "next_loop",  # ``next`` is a cursor that answers the same page again
        "jobs_not_a_list",  # ``jobs`` is an object
    ),
    "job": _ONE_JOB,
    "cost": (
        "unknown_unit",  # "eur"
        "negative_estimate",
        "string_estimate",  # the value as a string ("24.83")
        "nan_estimate",  # NaN, which Python's json accepts
        "huge_estimate",  # 1e30
        "null_estimate",  # estimated_cost: null
    ),
    "whoami": (
        "unknown_project",  # project_id names a project the organization does not have
        "null_project",
    ),
}


def emptied_job_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The answer with nothing in it: no jobs and no ``next``; other answers lose every field."""
    if "jobs" in body:
        return {"jobs": [], "next": None}
    return {}


def corrupted_job_answer(
    corruption: str, body: dict[str, Any], query: dict[str, str]
) -> str | None:
    """The answer's JSON text broken by ``corruption``; None when it has no job to break."""
    if "jobs" in body:
        jobs = body["jobs"]
        if not jobs:
            return None
        if corruption == "duplicate_job":
            jobs.insert(1, dict(jobs[0]))
        elif corruption == "next_loop":
            # the request's own cursor, or one just above the first job: the same page again
            first = datetime.fromisoformat(jobs[0]["submitted_at"])
            body["next"] = query.get("next") or cursor_from(first, "~")
        elif corruption == "jobs_not_a_list":
            body["jobs"] = {"0": jobs[0]}
        else:
            _break_job(corruption, jobs[0])
    elif "estimated_cost" in body:
        _break_cost(corruption, body)
    elif "key_id" in body:
        if corruption == "unknown_project":
            body["project_id"] = body["project"] = "00000000-0000-4000-8000-000000000000"
        else:
            body["project_id"] = body["project"] = None
    elif "status" in body and "submitted_at" in body:
        _break_job(corruption, body)
    else:
        return None
    return to_json(body)


def _break_job(corruption: str, job: dict[str, Any]) -> None:
    stats = job.setdefault("stats", {})
    if corruption == "unknown_status":
        job["status"] = "paused"
    elif corruption == "null_status":
        job["status"] = None
    elif corruption == "null_project":
        job["project_id"] = None
    elif corruption == "bad_timestamp":
        job["submitted_at"] = "yesterday afternoon"
    elif corruption == "negative_predicted_time":
        stats["predicted_quantum_compute_time_us"] = -5000
    else:  # string_predicted_time
        stats["predicted_quantum_compute_time_us"] = str(stats["predicted_quantum_compute_time_us"])


def _break_cost(corruption: str, body: dict[str, Any]) -> None:
    estimate = body["estimated_cost"]
    if corruption == "unknown_unit":
        estimate["unit"] = "eur"
    elif corruption == "negative_estimate":
        estimate["value"] = -estimate["value"]
    elif corruption == "string_estimate":
        estimate["value"] = str(estimate["value"])
    elif corruption == "nan_estimate":
        estimate["value"] = RAW + "NaN"
    elif corruption == "huge_estimate":
        estimate["value"] = RAW + "1e30"
    else:  # null_estimate
        body["estimated_cost"] = None
