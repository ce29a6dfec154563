"""The IonQ usage client: one httpx call per query, retried with backoff, errors translated.

Nothing outside ``budgetbot.ionq`` imports httpx: every httpx exception is mapped to the
``IonQError`` tree here, at the boundary. Each usage answer is checked (``_checks``) inside the
retried call, so an answer that breaks IonQ's invariants is retried like an outage.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception

from ._checks import parse_json, parse_usages
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
from ._models import UsageQuery, Usages

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_ATTEMPTS",
    "MAX_RETRY_AFTER",
    "REQUEST_DEADLINE",
    "IonQClient",
]

log = logging.getLogger("budgetbot.ionq")
_T = TypeVar("_T")

DEFAULT_BASE_URL = "https://api.ionq.co/v0.4"
#: Per-request timeouts; a usage query over a year of daily buckets can take a while to compute.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
#: Overall budget for one query including all retries and waits, in seconds.
DEFAULT_DEADLINE = 90.0
#: Longest one request may take from sending it to the last byte of the answer, in seconds. The
#: per-read timeout alone lets an answer dripping a byte a second hang a check forever.
REQUEST_DEADLINE = 45.0
MAX_ATTEMPTS = 6
#: Longest wait we accept from a Retry-After header; longer asks are capped, not obeyed blindly.
MAX_RETRY_AFTER = 30.0
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 10.0


class IonQClient:
    """Reads usage from IonQ's API.

    ``sleep`` and ``clock`` are injectable so tests can record waits instead of sleeping;
    ``http`` lets a caller share a configured ``httpx.Client``. ``deadline`` bounds a query with
    all its retries, ``request_deadline`` each request from sending it to the answer's last byte
    (checked on ``clock`` as the body arrives, so it is overrun by at most one read timeout;
    httpx offers no hook inside the status line and headers, which only the read timeout bounds).
    """

    def __init__(
        self,
        base_url: str,
        org_id: str,
        api_key: SecretStr | str,
        *,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        request_deadline: float = REQUEST_DEADLINE,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.org_id = org_id
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._http = http or httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self.deadline = deadline
        self.request_deadline = request_deadline
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.request_count = 0

    def __repr__(self) -> str:
        return (
            f"IonQClient(base_url={self.base_url!r}, org_id={self.org_id!r}, api_key='**********')"
        )

    def close(self) -> None:
        """Close the underlying HTTP client if this object created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> IonQClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls -------------------------------------------------------------------------

    def usage(self, query: UsageQuery) -> Usages:
        """Fetch one usage answer, checked, retrying transient failures within the deadline.

        An answer that breaks IonQ's invariants raises ``IonQInvalidAnswer`` once retries are
        spent; it is never returned.
        """
        path = f"/organizations/{urllib.parse.quote(self.org_id, safe='')}/usage"
        return self._get(path, query.params(), lambda text: parse_usages(text, query, path=path))

    def whoami(self) -> dict[str, Any]:
        """Return IonQ's description of the API key (id, name, project)."""
        body = self._get("/whoami", {}, lambda text: parse_json(text, "/whoami"))
        if not isinstance(body, dict):
            raise IonQResponseError("IonQ's /whoami answer is not an object", path="/whoami")
        return body

    # -- plumbing ---------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str], read: Callable[[str], _T]) -> _T:
        started = self._clock()
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, IonQError) and e.retryable),
            stop=lambda state: self._should_stop(state, started),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(lambda: read(self._get_once(path, params)))

    def _get_once(self, path: str, params: dict[str, str]) -> str:
        """One request's answer text, within ``request_deadline``."""
        url = self.base_url + path
        self.request_count += 1
        until = self._clock() + self.request_deadline
        try:
            with self._http.stream(
                "GET",
                url,
                params=params,
                headers={
                    "Authorization": f"apiKey {self._api_key.get_secret_value()}",
                    "Accept": "application/json",
                },
            ) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if self._clock() > until:
                        raise IonQUnavailable(
                            f"IonQ did not finish answering GET {path} within"
                            f" {self.request_deadline:g}s",
                            path=path,
                        )
                text = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
        except httpx.TimeoutException as exc:
            raise IonQUnavailable(
                f"IonQ did not answer in time for GET {path} ({type(exc).__name__})", path=path
            ) from None
        except httpx.LocalProtocolError as exc:
            # The request could not be written, as a key with a CR or LF (a .env file with CRLF
            # endings) cannot: httpx's message quotes the header, so the key; say only the type.
            raise IonQUnavailable(
                f"Could not send GET {path} to IonQ ({type(exc).__name__}): check that"
                " IONQ_API_KEY holds no whitespace or control character, and IONQ_BASE_URL",
                path=path,
            ) from None
        except httpx.TransportError as exc:
            raise IonQUnavailable(
                f"Could not reach IonQ at {self.base_url} for GET {path}: {exc}"
                " (check IONQ_BASE_URL and the network)",
                path=path,
            ) from None
        if response.status_code != 200:
            raise _status_error(response, text, path, self.org_id)
        return text

    def _wait(self, state: RetryCallState) -> float:
        longest, told = self._longest_wait(state)
        # Exponential backoff with jitter spreads out many clients retrying at once; a wait IonQ
        # asked for (Retry-After) is kept as it is.
        return longest if told else self._rng.uniform(longest / 2, longest)

    @staticmethod
    def _longest_wait(state: RetryCallState) -> tuple[float, bool]:
        """The longest wait :meth:`_wait` may choose for ``state`` (the jitter's ceiling), and
        whether IonQ named it (Retry-After)."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, IonQRateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER), True
        return float(min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** (state.attempt_number - 1))), False

    def _should_stop(self, state: RetryCallState, started: float) -> bool:
        if state.attempt_number >= self.max_attempts:
            return True
        # Do not start a wait that could end past the deadline (its jitter is drawn later: the
        # stop decision must hold for whichever wait is drawn).
        return self._clock() - started + self._longest_wait(state)[0] > self.deadline


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("IonQ attempt %d failed (%s); retrying in %.1fs", state.attempt_number, exc, wait)


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


def _status_error(response: httpx.Response, text: str, path: str, org_id: str) -> IonQError:
    status = response.status_code
    reason = response.reason_phrase
    detail, validation = _error_detail(text)
    said = f": {detail}" if detail else ""
    where = f"{status} {reason} for GET {path}"
    if status == 401:
        return IonQAuthError(
            f"IonQ rejected the API key ({where}): check IONQ_API_KEY", status=status, path=path
        )
    if status == 403:
        return IonQAuthError(
            f"IonQ refused access ({where}): check that IONQ_API_KEY belongs to organization"
            f" {org_id!r} (IONQ_ORG_ID)",
            status=status,
            path=path,
        )
    if status == 404:
        return IonQNotFound(
            f"IonQ does not know organization {org_id!r} ({where}): check IONQ_ORG_ID"
            " (and IONQ_BASE_URL)",
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
