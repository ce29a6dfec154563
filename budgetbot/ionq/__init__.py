"""IonQ usage API: the client, its query and wire models, and its errors.

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
    from ._client import DEFAULT_BASE_URL, REQUEST_DEADLINE, IonQClient

__all__ = [
    "DEFAULT_BASE_URL",
    "MAX_AMOUNT",
    "MAX_COUNT",
    "REQUEST_DEADLINE",
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
    "Modality",
    "Usage",
    "UsageAmount",
    "UsageQuery",
    "Usages",
    "check_usages",
    "parse_usages",
]

_LAZY = {"DEFAULT_BASE_URL", "REQUEST_DEADLINE", "IonQClient"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _client

        return getattr(_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
