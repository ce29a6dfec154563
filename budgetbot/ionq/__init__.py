"""IonQ's API: the client, its usage query, the wire models of usage and jobs, and its errors.

The wire models and errors are plain data and load at once; the client (httpx, tenacity) loads
on first use, so pure modules can name a ``UsageQuery`` without pulling in an HTTP stack.
"""

from typing import TYPE_CHECKING, Any

from ._checks import check_usages, parse_usages
from ._errors import (
    IonQAuthError,
    IonQError,
    IonQInvalidAnswer,
    IonQNotFound,
    IonQRateLimited,
    IonQRequestError,
    IonQResponseError,
    IonQServerError,
    IonQUnavailable,
)
from ._job_checks import parse_job_cost, parse_jobs_page, parse_whoami
from ._jobs import (
    ClonedJob,
    Job,
    JobCost,
    JobCostAmount,
    JobsCanceled,
    JobsPage,
    JobStats,
    JobStatus,
    Whoami,
)
from ._models import (
    MAX_AMOUNT,
    MAX_COUNT,
    GroupBy,
    GroupUsage,
    Modality,
    Usage,
    UsageAmount,
    UsageQuery,
    Usages,
)

if TYPE_CHECKING:
    from ._client import DEFAULT_BASE_URL, MAX_PAGES, PAGE_SIZE, REQUEST_DEADLINE, IonQClient

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_AMOUNT",
    "MAX_COUNT",
    "MAX_PAGES",
    "PAGE_SIZE",
    "REQUEST_DEADLINE",
    "ClonedJob",
    "GroupBy",
    "GroupUsage",
    "IonQAuthError",
    "IonQClient",
    "IonQError",
    "IonQInvalidAnswer",
    "IonQNotFound",
    "IonQRateLimited",
    "IonQRequestError",
    "IonQResponseError",
    "IonQServerError",
    "IonQUnavailable",
    "Job",
    "JobCost",
    "JobCostAmount",
    "JobStats",
    "JobStatus",
    "JobsCanceled",
    "JobsPage",
    "Modality",
    "Usage",
    "UsageAmount",
    "UsageQuery",
    "Usages",
    "Whoami",
    "check_usages",
    "parse_job_cost",
    "parse_jobs_page",
    "parse_usages",
    "parse_whoami",
]

_LAZY = {"DEFAULT_BASE_URL", "MAX_PAGES", "PAGE_SIZE", "REQUEST_DEADLINE", "IonQClient"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _client

        return getattr(_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
