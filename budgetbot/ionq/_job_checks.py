"""Reading the jobs endpoints' answers: JSON text → models, refused whole when unusable.

A listing is believed only whole: one job without an ``id``, ``status`` or ``submitter_id``, a job
in another status than the one asked, or a broken figure refuses the page (and so the listing),
because a queue read in part would be counted as the whole queue. Figures are checked by the
models (``_jobs``); the status is checked here, against the request.
"""

from __future__ import annotations

from typing import TypeVar

import pydantic

from ._checks import parse_json, response_error
from ._errors import IonQInvalidAnswer
from ._jobs import ClonedJob, JobCost, JobsCanceled, JobsPage, JobStatus, Whoami

__all__ = [
    "parse_canceled",
    "parse_cloned",
    "parse_job_cost",
    "parse_jobs_page",
    "parse_whoami",
    "read_answer",
]

_M = TypeVar("_M", bound=pydantic.BaseModel)


def read_answer(model: type[_M], text: str, path: str, *, method: str = "GET") -> _M:
    """``text`` as ``model``; ``IonQResponseError`` (or ``IonQInvalidAnswer`` for a broken
    figure) naming the first unusable field."""
    body = parse_json(text, path, method=method)
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        raise response_error(exc, path, method=method) from None


def parse_whoami(text: str, path: str = "/whoami") -> Whoami:
    """The key's description: ``key_id`` (or ``id``) required, name and project optional."""
    return read_answer(Whoami, text, path)


def parse_jobs_page(text: str, status: JobStatus, *, path: str = "/jobs") -> JobsPage:
    """One page of ``GET /jobs?status=…``, every job in ``status``."""
    page = read_answer(JobsPage, text, path)
    for index, job in enumerate(page.jobs):
        if job.status != status.value:
            field = f"jobs[{index}].status"
            raise IonQInvalidAnswer(
                f"IonQ's answer to GET {path}?status={status.value} is inconsistent at {field}:"
                f" job {job.id} is {_shown(job.status)!r}, not {status.value!r} as asked",
                field=field,
                path=path,
            )
    return page


def parse_job_cost(text: str, path: str) -> JobCost:
    """A job's cost: ``estimated_cost`` required, a finite, non-negative exact ``value``."""
    return read_answer(JobCost, text, path)


def parse_canceled(text: str, path: str) -> JobsCanceled:
    """The answer to cancelling one job or several."""
    return read_answer(JobsCanceled, text, path, method="PUT")


def parse_cloned(text: str, path: str) -> ClonedJob:
    """The answer to cloning a job: the new job's id."""
    return read_answer(ClonedJob, text, path, method="POST")


def _shown(value: str) -> str:
    return value if len(value) <= 24 else value[:20] + "..."
