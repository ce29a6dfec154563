"""IonQ's jobs endpoints over the simulated queue, as ``ionq-openapi.json`` describes them.

``SimServer`` routes these requests here once it knows the caller's project (a key lists and
touches the jobs *in its project*, as IonQ's v0.4 docs say)::

    GET  /jobs?status=&limit=&next=        {jobs: [BaseJob…], next}   newest first
    GET  /jobs/{id}                          BaseJob
    GET  /jobs/{id}/cost                     {dry_run, estimated_cost: {value, unit}, cost?}
    PUT  /jobs/status/cancel   {ids}         {ids: [cancelled…], status: "canceled"}
    PUT  /jobs/{id}/status/cancel            {id, status: "canceled"}, 400 once it started
    POST /jobs/{id}/clone                    201 {id, status, session_id}

Paging: ``limit`` defaults to ``DEFAULT_PAGE_SIZE`` and may be at most ``MAX_PAGE_SIZE`` (a larger
or non-positive one answers 400); ``next`` is an opaque cursor, null on the last page. The listing
looks back ``LISTED_DAYS`` days (the simulator's retention: a quarter and a few days, so the
ledger can back-fill the longest budget period). A job of another project, or one not
submitted yet, answers 404, as an unknown id does.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from budgetbot.sim.answers import Fail, error
from budgetbot.sim.model import Job, Project, SimOrg
from budgetbot.sim.queue import BILLING_LAG_DAYS, JOB_STATUSES, LISTED_DAYS, QUEUED

__all__ = [
    "COST_UNITS",
    "DEFAULT_PAGE_SIZE",
    "LISTED_DAYS",
    "MAX_PAGE_SIZE",
    "cancel_many",
    "cancel_one",
    "clone",
    "cost_body",
    "cursor_from",
    "derive_project_keys",
    "job_body",
    "key_id",
    "list_jobs",
    "own_job",
]

DEFAULT_PAGE_SIZE: Final = 25
MAX_PAGE_SIZE: Final = 100
COST_UNITS: Final = ("usd", "credit")

_LIST_PARAMS: Final = (
    "ids",
    "parent_job_id",
    "status",
    "target",
    "session_id",
    "submitter_id",
    "limit",
    "next",
)
_BACKENDS: Final = ("qpu.forte-1", "qpu.aria-1", "qpu.forte-enterprise-1")
_RESULTS: Final = {
    "ionq.result.probabilities.json.v1": {
        "id": "probabilities",
        "format": "ionq.result.probabilities.json.v1",
        "media_type": "application/json",
    }
}


def derive_project_keys(seed: int, projects: Sequence[Project]) -> dict[str, str]:
    """One API key per project, derived from the seed (the same every run)."""
    return {
        p.id: f"sim-project-{random.Random(f'{seed}:project-key:{p.id}').getrandbits(96):024x}"
        for p in projects
    }


def key_id(seed: int, project_id: str | None) -> str:
    """The ``key_id`` ``/whoami`` gives: the organization key's (None), else a project key's."""
    label = f"{seed}:key" if project_id is None else f"{seed}:key:{project_id}"
    return str(uuid.UUID(int=random.Random(label).getrandbits(128), version=4))


# --- listing ---------------------------------------------------------------------------------


def list_jobs(
    org: SimOrg, project_id: str | None, query: Mapping[str, str], at: datetime
) -> dict[str, Any]:
    """``GET /jobs``: one page of the project's jobs, newest first."""
    for name in query:
        if name not in _LIST_PARAMS:
            raise _bad_query(name, f'"{name}" is not allowed')
    status = query.get("status")
    if status is not None and status not in JOB_STATUSES:
        raise _bad_query("status", f'"status" must be one of [{", ".join(JOB_STATUSES)}]')
    limit = _limit(query.get("limit"))
    after = _read_cursor(query["next"]) if query.get("next") else None
    wanted = _filters(query)
    jobs: list[Job] = []
    for job in _newest_first(org, project_id, at, status, after):
        if all(check(job) for check in wanted) and (
            status is None or org.status(job, at) == status
        ):
            jobs.append(job)
            if len(jobs) > limit:
                break
    page = jobs[:limit]
    following = _cursor(page[-1]) if len(jobs) > limit else None
    return {"jobs": [job_body(org, job, at) for job in page], "next": following}


def _newest_first(
    org: SimOrg,
    project_id: str | None,
    at: datetime,
    status: str | None,
    after: tuple[datetime, str] | None,
) -> Iterator[Job]:
    lookback = BILLING_LAG_DAYS + 1 if status in QUEUED else LISTED_DAYS
    first = at.date() - timedelta(days=lookback - 1)
    day = at.date() if after is None else min(at.date(), after[0].date())
    while day >= first:
        for job in reversed(org.day_jobs(day)):
            if job.project_id != project_id or job.submitted_at > at:
                continue
            if after is not None and (job.submitted_at, job.id) >= after:
                continue
            yield job
        day -= timedelta(days=1)


def _filters(query: Mapping[str, str]) -> list[Callable[[Job], bool]]:
    """The listing's other filters (``ids``, ``parent_job_id``, ``submitter_id``, ``target``)."""
    checks: list[Callable[[Job], bool]] = []
    if query.get("ids"):
        ids = set(query["ids"].split(","))
        checks.append(lambda job: job.id in ids)
    if query.get("parent_job_id"):
        parent = query["parent_job_id"]
        checks.append(lambda job: job.parent_job_id == parent)
    if query.get("submitter_id"):
        submitter = query["submitter_id"]
        checks.append(lambda job: job.user_id == submitter)
    if query.get("target"):
        targets = set(query["target"].split(","))
        checks.append(lambda job: _backend(job) in targets)
    if query.get("session_id"):
        checks.append(lambda job: False)  # the simulator runs no sessions
    return checks


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_PAGE_SIZE
    if not text.isdigit():
        raise _bad_query("limit", '"limit" must be a number')
    limit = int(text)
    if limit < 1:
        raise _bad_query("limit", '"limit" must be greater than or equal to 1')
    if limit > MAX_PAGE_SIZE:
        raise _bad_query("limit", f'"limit" must be less than or equal to {MAX_PAGE_SIZE}')
    return limit


def _cursor(job: Job) -> str:
    return cursor_from(job.submitted_at, job.id)


def cursor_from(submitted_at: datetime, job_id: str) -> str:
    """The opaque ``next`` cursor: the listing goes on with the jobs after this one."""
    raw = f"{submitted_at.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(text: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        moment, _, job_id = raw.partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not job_id:
            raise ValueError(raw)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise _bad_query("next", '"next" is not a valid cursor') from None
    return at.astimezone(UTC), job_id


# --- one job -------------------------------------------------------------------------------------


def own_job(org: SimOrg, project_id: str | None, job_id: str, at: datetime) -> Job:
    """The job if the caller's project holds it; otherwise 404, as for an unknown id."""
    job = org.find(job_id, at, days=LISTED_DAYS)
    if job is None or job.project_id != project_id:
        raise Fail(error(404, "Job not found"))
    return job


def job_body(org: SimOrg, job: Job, at: datetime) -> dict[str, Any]:
    """The job as IonQ's ``BaseJob`` (a circuit job) at ``at``."""
    status = org.status(job, at) or "submitted"
    ran = status in ("started", "completed")
    done = status == "completed"
    bits = int(job.id.replace("-", ""), 16)
    qubits = 2 + bits % 35
    stats: dict[str, Any] = {
        "qubits": qubits,
        "circuits": 1,
        "gate_counts": {
            "1q": qubits * (10 + (bits >> 8) % 90),
            "2q": qubits * (2 + (bits >> 16) % 20),
        },
        "predicted_quantum_compute_time_us": job.timeline.predicted_us,
    }
    if done:
        stats["billed_quantum_compute_time_us"] = job.time_us
    run_ms = round((job.completed_at - job.started_at).total_seconds() * 1000)
    return {
        "id": job.id,
        "status": status,
        "type": "ionq.circuit.v1",
        "backend": _backend(job),
        "dry_run": False,
        "cost_model": "QCT",
        "submitter_id": job.user_id,
        "project_id": job.project_id,
        "parent_job_id": job.parent_job_id,
        "session_id": None,
        "metadata": None,
        "name": job.name,
        "submitted_at": _iso(job.submitted_at),
        "started_at": _iso(job.started_at) if ran else None,
        "completed_at": _iso(job.completed_at) if done else None,
        "predicted_wait_time_ms": job.timeline.predicted_wait_ms,
        "predicted_execution_duration_ms": job.timeline.predicted_run_ms,
        "execution_duration_ms": run_ms if done else None,
        "shots": 100 * (1 + (bits >> 24) % 20),
        "failure": None,
        "settings": {"error_mitigation": {"debiasing": False}},
        "stats": stats,
        "output": {},
        "results": _RESULTS if done else None,
    }


def cost_body(org: SimOrg, job: Job, at: datetime, unit: str) -> dict[str, Any]:
    """``GET /jobs/{id}/cost``: the estimate always, the billed ``cost`` once it completed."""
    body: dict[str, Any] = {
        "dry_run": False,
        "estimated_cost": {"value": job.timeline.estimate, "unit": unit},
    }
    if org.status(job, at) == "completed":
        body["cost"] = {"value": job.amount, "unit": unit}
    return body


# --- changes -------------------------------------------------------------------------------------


def cancel_many(org: SimOrg, project_id: str | None, payload: str, at: datetime) -> dict[str, Any]:
    """``PUT /jobs/status/cancel``: the ids that are now cancelled (others are left out)."""
    body = _payload(payload, required=True)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise _bad_payload("ids", '"ids" must be an array of strings')
    for name in body:
        if name != "ids":
            raise _bad_payload(name, f'"{name}" is not allowed')
    mine = [
        i for i in ids if (j := org.find(i, at, days=LISTED_DAYS)) and j.project_id == project_id
    ]
    return {"ids": org.cancel(mine, at), "status": "canceled"}


def cancel_one(org: SimOrg, project_id: str | None, job_id: str, at: datetime) -> dict[str, Any]:
    """``PUT /jobs/{id}/status/cancel``; 400 when the job started or ended otherwise."""
    job = own_job(org, project_id, job_id, at)
    if not org.cancel([job.id], at):
        status = org.status(job, at)
        raise Fail(error(400, f"Job {job.id} cannot be canceled: it is {status}"))
    return {"id": job.id, "status": "canceled"}


def clone(
    org: SimOrg, project_id: str | None, job_id: str, payload: str, at: datetime
) -> dict[str, Any]:
    """``POST /jobs/{id}/clone``: a new job, queued now; answers IonQ's ``JobCreationResponse``."""
    job = own_job(org, project_id, job_id, at)
    body = _payload(payload, required=False)
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise _bad_payload("name", '"name" must be a string')
    copy = org.clone(job.id, at, name=name)
    return {"id": copy.id, "status": org.status(copy, at) or "submitted", "session_id": None}


# --- helpers -------------------------------------------------------------------------------------


def _backend(job: Job) -> str:
    return _BACKENDS[int(job.project_id[:8], 16) % len(_BACKENDS)]


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _payload(text: str, *, required: bool) -> dict[str, Any]:
    if not text.strip():
        if required:
            raise _bad_payload("ids", '"value" must be of type object')
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise Fail(error(400, "Invalid request payload JSON format")) from None
    if not isinstance(body, dict):
        raise _bad_payload("value", '"value" must be of type object')
    return body


def _bad_query(key: str, message: str) -> Fail:
    return Fail(error(400, message, validation={"source": "query", "keys": [key]}))


def _bad_payload(key: str, message: str) -> Fail:
    return Fail(error(400, message, validation={"source": "payload", "keys": [key]}))
