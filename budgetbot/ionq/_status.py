"""HTTP statuses → the ``IonQError`` tree: what failed and which setting to check, never a key.

Messages name the request (method and path), the key's setting (``IONQ_API_KEY`` or a project key
by position, ``key_label``) and the organization id, never the key itself.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ._errors import (
    IonQAuthError,
    IonQError,
    IonQNotFound,
    IonQRateLimited,
    IonQRequestError,
    IonQServerError,
    IonQUnavailable,
)

__all__ = ["status_error"]


def _error_detail(text: str) -> tuple[str, Any]:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return text[:200].strip(), None
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or ""), body.get("validation")
    return "", None


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # HTTP-date form: rare; fall back to our own backoff
    return max(0.0, seconds)


def status_error(
    response: httpx.Response, text: str, request: str, org_id: str, key_label: str
) -> IonQError:
    status = response.status_code
    reason = response.reason_phrase
    detail, validation = _error_detail(text)
    said = f": {detail}" if detail else ""
    where = f"{status} {reason} for {request}"
    path = request.split(" ", 1)[1]
    usage = path.endswith("/usage")
    if status == 401:
        return IonQAuthError(
            f"IonQ rejected the API key ({where}): check {key_label}", status=status, path=path
        )
    if status == 403:
        whose = (
            f"belongs to organization {org_id!r} (IONQ_ORG_ID)"
            if usage
            else "may read (and, for actions, cancel) the jobs of its project"
        )
        return IonQAuthError(
            f"IonQ refused access ({where}): check that {key_label} {whose}",
            status=status,
            path=path,
        )
    if status == 404:
        return IonQNotFound(
            f"IonQ does not know organization {org_id!r} ({where}): check IONQ_ORG_ID"
            " (and IONQ_BASE_URL)"
            if usage
            else f"IonQ knows nothing at {request} ({where})",
            status=status,
            path=path,
        )
    if status == 400:
        return IonQRequestError(
            f"IonQ refused the request ({where}){said}",
            status=status,
            path=path,
            validation=validation,
        )
    if status == 429:
        return IonQRateLimited(
            f"IonQ is rate limiting us ({where})",
            status=status,
            path=path,
            retry_after=_parse_retry_after(response.headers.get("Retry-After")),
        )
    if status == 503:
        return IonQUnavailable(f"IonQ is unavailable ({where}){said}", status=status, path=path)
    if status >= 500:
        return IonQServerError(f"IonQ failed ({where}){said}", status=status, path=path)
    return IonQError(f"IonQ answered {where}{said}", status=status, path=path)
