"""IonQ usage API: the client, its query and wire models, and its errors.

The wire models and errors are plain data and load at once; the client (httpx, tenacity) loads
on first use, so pure modules can name a ``UsageQuery`` without pulling in an HTTP stack.
"""

from typing import TYPE_CHECKING, Any

from ._errors import (
    IonQAuthError,
    IonQError,
    IonQNotFound,
    IonQRateLimited,
    IonQRequestError,
    IonQResponseError,
    IonQServerError,
    IonQUnavailable,
)
from ._models import GroupBy, GroupUsage, Modality, Usage, UsageAmount, UsageQuery, Usages

if TYPE_CHECKING:
    from ._client import DEFAULT_BASE_URL, IonQClient

__all__ = [
    "DEFAULT_BASE_URL",
    "GroupBy",
    "GroupUsage",
    "IonQAuthError",
    "IonQClient",
    "IonQError",
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
]

_LAZY = {"DEFAULT_BASE_URL", "IonQClient"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import _client

        return getattr(_client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
