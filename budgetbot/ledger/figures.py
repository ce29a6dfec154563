"""Figures from the best source: a run's usage series refined by one read of the ledger.

A :class:`LedgerFigures` belongs to one run (a check cycle, a report, a digest, an App Home
refresh). The first series it refines — or :meth:`LedgerFigures.prepare` with every query the run
will ask — reads the ledger once for the days those series cover; each series is then refined
(:func:`~budgetbot.ledger.reconcile.refine`). The usage queries asked are unchanged; the ledger's
own IonQ requests are counted apart (:attr:`LedgerFigures.requests`). When the ledger cannot be
read, the figures are IonQ's alone, as without a ledger: never worse, never an outage.

A process shares one :class:`RecentLedger`: a view younger than :data:`RECENT_LEDGER` is used
again, so a Slack process answering many requests a minute walks IonQ's jobs once, not per request.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from budgetbot.ionq import IonQError, UsageQuery
from budgetbot.usage.model import UsageSeries

from .model import LedgerView
from .reconcile import REFINABLE, LedgerReason, LedgerSource, refine

__all__ = ["RECENT_LEDGER", "LedgerFigures", "RecentLedger"]

log = logging.getLogger("budgetbot.ledger")

#: How long a ledger view is used again for the days it covers (shorter than a check cycle, so
#: each cycle walks what completed since the last).
RECENT_LEDGER: Final = dt.timedelta(minutes=5)


class LedgerFigures:
    """Refines one run's series with the ledger read at ``now`` (see the module doc)."""

    def __init__(self, ledger: LedgerSource, now: dt.datetime) -> None:
        self.ledger = ledger
        self.now = now
        self.view: LedgerView | None = None
        #: Why buckets kept their bounds, in the order the series were refined.
        self.reasons: list[LedgerReason] = []
        #: IonQ requests the ledger cost this run, by kind (``whoami``, ``jobs``, ``cost``).
        self.requests: dict[str, int] = {}
        #: Why the ledger could not be read (the figures are IonQ's alone), else None.
        self.error: str | None = None
        #: Buckets made exact this run.
        self.refined = 0

    def prepare(self, queries: Iterable[UsageQuery]) -> None:
        """Read the ledger once for every day ``queries`` cover (those it can refine)."""
        spans = [(q.start, q.end) for q in queries if q.group_by.value in REFINABLE]
        if spans:
            self._read(min(s for s, _ in spans), max(e for _, e in spans))

    def refine(self, series: UsageSeries) -> UsageSeries:
        """``series`` with the ledger's exact figures where its buckets reconcile."""
        if series.group_by not in REFINABLE or self.error is not None:
            return series
        view = self.view
        if view is None or series.start < view.start or series.end > view.end:
            start = series.start if view is None else min(series.start, view.start)
            end = series.end if view is None else max(series.end, view.end)
            view = self._read(start, end)
            if view is None:
                return series
        out = refine(series, view)
        self.refined += out.refined
        self.reasons.extend(out.reasons)
        return out.series

    def _read(self, start: dt.date, end: dt.date) -> LedgerView | None:
        try:
            view = self.ledger.view(start, end, self.now)
        except IonQError as exc:
            self.error = str(exc)
            log.warning("ledger unavailable, figures are IonQ's alone this time: %s", exc)
            return None
        for kind, count in view.requests.items():
            self.requests[kind] = self.requests.get(kind, 0) + count
        self.view = view
        return view


class RecentLedger:
    """``ledger``, walked at most once per ``ttl`` for the days its last view covers.

    A view used again reports no requests (they were counted when it was made). Using a view a
    few minutes old is safe: usage read later may hold jobs it lacks, and then the buckets
    concerned do not reconcile and stay bounds.
    """

    def __init__(self, ledger: LedgerSource, ttl: dt.timedelta = RECENT_LEDGER) -> None:
        self.ledger = ledger
        self.ttl = ttl
        self._last: LedgerView | None = None
        self._lock = threading.Lock()

    def view(self, start: dt.date, end: dt.date, now: dt.datetime) -> LedgerView:
        """The last view if it covers ``[start, end)`` and is recent at ``now``, else a new one."""
        with self._lock:
            last = self._last
        if (
            last is not None
            and last.start <= start
            and end <= last.end
            and last.at <= now < last.at + self.ttl
        ):
            return replace(last, requests={})
        view = self.ledger.view(start, end, now)
        with self._lock:
            self._last = view
        return view
