"""IonQ usage API: the client, its query and wire models, and its errors."""

from ._client import DEFAULT_BASE_URL, IonQClient
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
