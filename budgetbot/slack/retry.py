"""Retries of Slack Web API calls, as slack-sdk retry handlers that wait through an injected
``sleep``: connection errors, 5xx and 429 (after Slack's ``Retry-After``), each up to
:data:`MAX_RETRIES` times."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    Jitter,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_RETRIES",
    "RETRY_STATUSES",
    "ConnectionRetry",
    "RateLimitRetry",
    "ServerErrorRetry",
    "make_web_client",
    "retry_after",
    "retry_handlers",
]

#: Retries after the first attempt (so at most ``MAX_RETRIES + 1`` attempts per call).
MAX_RETRIES = 3
#: Longest wait honoured from a ``Retry-After``; a longer one is cut to this.
MAX_RETRY_AFTER = 60.0
#: Wait when a 429 carries no ``Retry-After``.
DEFAULT_RETRY_AFTER = 1.0
#: Exponential backoff for 5xx and connection errors: 0.5 s, 1 s, 2 s.
BACKOFF_FACTOR = 0.5
#: Seconds to wait for Slack to answer one request.
DEFAULT_TIMEOUT = 15
#: Status codes worth another try.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class _NoJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration


_BACKOFF = BackoffRetryIntervalCalculator(backoff_factor=BACKOFF_FACTOR, jitter=_NoJitter())


class RateLimitRetry(RateLimitErrorRetryHandler):
    """Retries a 429 after its ``Retry-After``, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # pragma: no cover - only called for a 429 answer
            raise error or RuntimeError("rate-limit retry without a response")
        state.next_attempt_requested = True
        self.sleep(retry_after(response.headers))
        state.increment_current_attempt()


class ServerErrorRetry(ServerErrorRetryHandler):
    """Retries 500, 502, 503 and 504 with exponential backoff, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(max_retry_count=max_retry_count, interval_calculator=_BACKOFF)
        self.sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in RETRY_STATUSES

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        _backoff(self, state, self.sleep)


class ConnectionRetry(ConnectionErrorRetryHandler):
    """Retries refused or reset connections and timeouts, waiting through ``sleep``."""

    def __init__(
        self, max_retry_count: int = MAX_RETRIES, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__(
            max_retry_count=max_retry_count,
            interval_calculator=_BACKOFF,
            error_types=[URLError, ConnectionError, TimeoutError],
        )
        self.sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        _backoff(self, state, self.sleep)


def _backoff(handler: RetryHandler, state: RetryState, sleep: Callable[[float], None]) -> None:
    state.next_attempt_requested = True
    sleep(handler.interval_calculator.calculate_sleep_duration(state.current_attempt))
    state.increment_current_attempt()


def retry_after(headers: Mapping[str, list[str] | str]) -> float:
    """Seconds a 429 asks us to wait (``Retry-After``, capped), or a default."""
    for key, values in headers.items():
        if key.lower() == "retry-after" and values:
            try:
                seconds = float(values if isinstance(values, str) else values[0])
            except ValueError:
                break
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return DEFAULT_RETRY_AFTER


def retry_handlers(
    sleep: Callable[[float], None] = time.sleep, *, max_retries: int = MAX_RETRIES
) -> list[RetryHandler]:
    """Connection errors, 5xx and 429, each retried ``max_retries`` times through ``sleep``."""
    return [
        ConnectionRetry(max_retries, sleep=sleep),
        ServerErrorRetry(max_retries, sleep=sleep),
        RateLimitRetry(max_retries, sleep=sleep),
    ]


def make_web_client(
    token: str, base_url: str, *, sleep: Callable[[float], None] = time.sleep
) -> WebClient:
    """A ``WebClient`` for ``base_url`` (``SLACK_API_URL``) that retries what is worth it."""
    if not base_url.endswith("/"):
        base_url += "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=DEFAULT_TIMEOUT,
        retry_handlers=retry_handlers(sleep),
        logger=logging.getLogger("budgetbot.slack.sdk"),
    )
