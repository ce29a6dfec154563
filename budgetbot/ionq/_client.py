"""The IonQ client: one httpx call per request, retried with backoff, errors translated.

Nothing outside ``budgetbot.ionq`` imports httpx: every httpx exception is mapped to the
``IonQError`` tree here, at the boundary. Each answer is checked (``_checks``, ``_job_checks``)
inside the retried call, so an answer that breaks IonQ's invariants is retried like an outage.
"""

from __future__ import annotations

import copy
import hmac
import logging
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception

from ._checks import parse_usages
from ._errors import (
    IonQError,
    IonQRateLimited,
    IonQResponseError,
    IonQUnavailable,
)
from ._job_checks import (
    parse_canceled,
    parse_cloned,
    parse_job_cost,
    parse_jobs_page,
    parse_whoami,
)
from ._jobs import ClonedJob, Job, JobCost, JobsCanceled, JobStatus, Whoami, job_params
from ._models import UsageQuery, Usages
from ._status import status_error

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_ATTEMPTS",
    "MAX_PAGES",
    "MAX_RETRY_AFTER",
    "PAGE_SIZE",
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
#: Jobs asked per ``GET /jobs`` page; and the most pages one listing may take (a cursor that
#: never ends must not keep a cycle busy forever: 500 pages is 50,000 jobs in one status).
PAGE_SIZE = 100
MAX_PAGES = 500


class IonQClient:
    """Reads usage and jobs from IonQ's API, and cancels and clones jobs.

    ``sleep`` and ``clock`` are injectable so tests can record waits instead of sleeping;
    ``http`` lets a caller share a configured ``httpx.Client``. ``deadline`` bounds a query with
    all its retries, ``request_deadline`` each request from sending it to the answer's last byte
    (checked on ``clock`` as the body arrives, so it is overrun by at most one read timeout;
    httpx offers no hook inside the status line and headers, which only the read timeout bounds).
    ``key_label`` is how errors name the key's setting (never its value); :meth:`with_key` makes
    a client for another key over the same connections. ``requests`` counts requests by kind
    (``usage``, ``whoami``, ``jobs``, ``cost``, ``cancel``, ``clone``), retries included.
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
        key_label: str = "IONQ_API_KEY",
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
        self.key_label = key_label
        self.request_count = 0
        self.requests: Counter[str] = Counter()

    def __repr__(self) -> str:
        return (
            f"IonQClient(base_url={self.base_url!r}, org_id={self.org_id!r},"
            f" key={self.key_label!r}, api_key='**********')"
        )

    def has_key(self, api_key: SecretStr | str) -> bool:
        """Whether this client uses ``api_key`` (compared in constant time)."""
        value = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        return hmac.compare_digest(value.encode(), self._api_key.get_secret_value().encode())

    def with_key(self, api_key: SecretStr | str, *, key_label: str) -> IonQClient:
        """This client for another key (a project key): the same connections, limits, sleep and
        clock, its own request counts; closing it leaves the connections to this client.

        A copy rather than a new construction, so the process's connections stay built in one
        place (``cli/runtime.py``) and no setting of this client is forgotten.
        """
        other = self.counted_apart()
        other._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        other.key_label = key_label
        return other

    def counted_apart(self) -> IonQClient:
        """This client (same key, connections and limits) with its own request counts, so two
        readers sharing a key each count only their own requests."""
        other = copy.copy(self)
        other._owns_http = False
        other.request_count = 0
        other.requests = Counter()
        return other

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
        return self._call(
            "usage", "GET", path, lambda text: parse_usages(text, query, path=path), query.params()
        )

    def whoami(self) -> Whoami:
        """IonQ's description of the API key: its id, name and (a project key's) project."""
        return self._call("whoami", "GET", "/whoami", parse_whoami)

    def jobs(
        self, status: JobStatus | str, *, limit: int = PAGE_SIZE, max_pages: int = MAX_PAGES
    ) -> list[Job]:
        """Every job in ``status`` the key may see, following ``next`` to the last page.

        The listing is returned whole or not at all: a page that is refused, a cursor seen
        before, or more than ``max_pages`` pages raise an ``IonQError``.
        """
        return [
            job for page in self.job_pages(status, limit=limit, max_pages=max_pages) for job in page
        ]

    def job_pages(
        self, status: JobStatus | str, *, limit: int = PAGE_SIZE, max_pages: int = MAX_PAGES
    ) -> Iterator[list[Job]]:
        """The pages of ``GET /jobs?status=…`` (newest first), one request each, as the caller
        reads them: a caller that has seen enough stops asking. A cursor seen before, or more
        than ``max_pages`` pages, raise ``IonQResponseError``."""
        status = JobStatus(status)
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            params = job_params(status, limit, cursor)
            page = self._call(
                "jobs", "GET", "/jobs", lambda text: parse_jobs_page(text, status), params
            )
            yield page.jobs
            if not page.next:
                return
            if page.next in seen:
                raise IonQResponseError(
                    f"IonQ's paging of GET /jobs?status={status.value} came back to a cursor it"
                    f" gave before (after {len(seen) + 1} pages): the listing is refused",
                    field="next",
                    path="/jobs",
                )
            seen.add(page.next)
            cursor = page.next
        raise IonQResponseError(
            f"IonQ's paging of GET /jobs?status={status.value} did not end within {max_pages}"
            f" pages of {limit}: the listing is refused",
            field="next",
            path="/jobs",
        )

    def job_cost(self, job_id: str) -> JobCost:
        """The job's estimated cost (and its billed cost once it ran)."""
        path = f"/jobs/{_quoted(job_id)}/cost"
        return self._call("cost", "GET", path, lambda text: parse_job_cost(text, path))

    def cancel_jobs(self, job_ids: Iterable[str]) -> JobsCanceled:
        """Cancel several jobs at once (``PUT /jobs/status/cancel``)."""
        path = "/jobs/status/cancel"
        body = {"ids": list(job_ids)}
        return self._call("cancel", "PUT", path, lambda t: parse_canceled(t, path), body=body)

    def cancel_job(self, job_id: str) -> JobsCanceled:
        """Cancel one job (``PUT /jobs/{id}/status/cancel``)."""
        path = f"/jobs/{_quoted(job_id)}/status/cancel"
        return self._call("cancel", "PUT", path, lambda t: parse_canceled(t, path))

    def clone_job(self, job_id: str, changes: Mapping[str, Any] | None = None) -> ClonedJob:
        """Submit a copy of a job (``POST /jobs/{id}/clone``), with ``changes`` (name, shots, …).

        Not idempotent: only a 429 (IonQ refused before doing anything) is retried, never a
        5xx or a timeout, after which IonQ may have made the clone already.
        """
        path = f"/jobs/{_quoted(job_id)}/clone"
        return self._call(
            "clone",
            "POST",
            path,
            lambda text: parse_cloned(text, path),
            body=dict(changes or {}),
            retry_on=lambda e: isinstance(e, IonQRateLimited),
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        kind: str,
        method: str,
        path: str,
        read: Callable[[str], _T],
        params: Mapping[str, str] | None = None,
        *,
        body: Any = None,
        retry_on: Callable[[IonQError], bool] = lambda e: e.retryable,
    ) -> _T:
        started = self._clock()
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, IonQError) and retry_on(e)),
            stop=lambda state: self._should_stop(state, started),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(lambda: read(self._send_once(kind, method, path, params or {}, body)))

    def _send_once(
        self, kind: str, method: str, path: str, params: Mapping[str, str], body: Any
    ) -> str:
        """One request's answer text, within ``request_deadline``."""
        url = self.base_url + path
        self.request_count += 1
        self.requests[kind] += 1
        until = self._clock() + self.request_deadline
        try:
            with self._http.stream(
                method,
                url,
                params=params,
                json=body,
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
                            f"IonQ did not finish answering {method} {path} within"
                            f" {self.request_deadline:g}s",
                            path=path,
                        )
                text = b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")
        except httpx.TimeoutException as exc:
            raise IonQUnavailable(
                f"IonQ did not answer in time for {method} {path} ({type(exc).__name__})", path=path
            ) from None
        except httpx.LocalProtocolError as exc:
            # The request could not be written, as a key with a CR or LF (a .env file with CRLF
            # endings) cannot: httpx's message quotes the header, so the key; say only the type.
            raise IonQUnavailable(
                f"Could not send {method} {path} to IonQ ({type(exc).__name__}): check that"
                f" {self.key_label} holds no whitespace or control character, and IONQ_BASE_URL",
                path=path,
            ) from None
        except httpx.TransportError as exc:
            raise IonQUnavailable(
                f"Could not reach IonQ at {self.base_url} for {method} {path}: {exc}"
                " (check IONQ_BASE_URL and the network)",
                path=path,
            ) from None
        if not response.is_success:
            raise status_error(response, text, f"{method} {path}", self.org_id, self.key_label)
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


def _quoted(job_id: str) -> str:
    return urllib.parse.quote(job_id, safe="")
