"""Errors raised by the IonQ client.

The hierarchy, so callers can catch as broadly or narrowly as they need::

    IonQError                     anything that went wrong talking to IonQ
    ├── IonQAuthError             401/403: the API key was refused (never retried)
    ├── IonQNotFound              404: usually a wrong IONQ_ORG_ID
    ├── IonQRequestError          400: IonQ refused our parameters (keeps ``validation``)
    ├── IonQRateLimited           429: ``retry_after`` seconds when IonQ said so
    ├── IonQServerError           500/502 and other 5xx: retryable
    ├── IonQUnavailable           503, timeouts, refused connections: retryable
    └── IonQResponseError         a 200 whose body is not valid JSON or misses a required field
        └── IonQInvalidAnswer     a 200 that breaks IonQ's own invariants: retryable

Messages name the status and the request path, never the API key (it only ever lives in a header
and a ``SecretStr``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "IonQAuthError",
    "IonQError",
    "IonQInvalidAnswer",
    "IonQNotFound",
    "IonQRateLimited",
    "IonQRequestError",
    "IonQResponseError",
    "IonQServerError",
    "IonQUnavailable",
]


class IonQError(Exception):
    """Base class of every error the IonQ client raises."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.path = path

    def __str__(self) -> str:
        return self.message


class IonQAuthError(IonQError):
    """IonQ refused the API key (401/403)."""


class IonQNotFound(IonQError):
    """IonQ answered 404, which for the usage endpoint means the organization id is unknown."""


class IonQRequestError(IonQError):
    """IonQ rejected the request's parameters (400)."""

    def __init__(
        self, message: str, *, status: int | None = None, path: str = "", validation: Any = None
    ) -> None:
        super().__init__(message, status=status, path=path)
        self.validation = validation


class IonQRateLimited(IonQError):
    """IonQ asked us to slow down (429)."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, path=path)
        self.retry_after = retry_after


class IonQServerError(IonQError):
    """IonQ failed to answer (500, 502 and other 5xx but 503)."""

    retryable = True


class IonQUnavailable(IonQError):
    """IonQ is down or unreachable (503, timeouts, connection errors)."""

    retryable = True


class IonQResponseError(IonQError):
    """IonQ answered 200 with a body we cannot use; ``field`` names what was wrong."""

    def __init__(self, message: str, *, field: str = "", path: str = "") -> None:
        super().__init__(message, status=200, path=path)
        self.field = field


class IonQInvalidAnswer(IonQResponseError):
    """IonQ answered 200 with figures that break its own invariants (duplicate or misdated
    buckets, groups above their bucket, negative, non-finite or absurd amounts, totals that do
    not add up). The whole answer is refused, never stored or alerted on, and retried like an
    outage: a glitch upstream is more likely than a dishonest bill, and it may pass."""

    retryable = True
