"""Where usage series come from: an IonQ client behind a small per-run memo.

Within one run (a check cycle, a report) every distinct query is asked once, however many
policies or reports need it. With a ``refiner`` (the ledger: ``ledger.figures.LedgerFigures``)
every series is refined before anyone reads it, so every view of a run shows the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from budgetbot.ionq import UsageQuery, Usages

from .model import UsageSeries
from .normalize import normalize

__all__ = ["SeriesRefiner", "UsageClient", "UsageSource"]


class UsageClient(Protocol):
    def usage(self, query: UsageQuery) -> Usages: ...


class SeriesCache(Protocol):
    def series(self, query: UsageQuery, today: dt.date) -> UsageSeries: ...


class SeriesRefiner(Protocol):
    """Makes figures more exact where another source proves them (the ledger)."""

    def prepare(self, queries: Iterable[UsageQuery]) -> None: ...

    def refine(self, series: UsageSeries) -> UsageSeries: ...


class UsageSource:
    """Fetches and normalizes usage, asking once per distinct query within one run.

    With a ``cache`` (``usage.cache.UsageCache``) settled buckets come from the store and
    concurrent identical fetches share one call; ``today`` decides which buckets are settled.
    """

    def __init__(
        self,
        client: UsageClient,
        *,
        cache: SeriesCache | None = None,
        today: dt.date | None = None,
        refiner: SeriesRefiner | None = None,
    ) -> None:
        self._client = client
        self._cache = cache
        self._today = today
        self.refiner = refiner
        self._memo: dict[UsageQuery, UsageSeries] = {}
        # The client is shared between runs: its counts so far are not this run's.
        self._asked_before = self._asked()

    def requests(self) -> Counter[str]:
        """IonQ requests by kind its client made since this source was made (one run; empty
        when the client does not count them)."""
        return self._asked() - self._asked_before

    def _asked(self) -> Counter[str]:
        return Counter(getattr(self._client, "requests", None) or {})

    def prepare(self, queries: Iterable[UsageQuery]) -> None:
        """Say which queries this run will ask, so the refiner reads its source once for all."""
        if self.refiner is not None:
            self.refiner.prepare(queries)

    def series(self, query: UsageQuery) -> UsageSeries:
        found = self._memo.get(query)
        if found is None:
            if self._cache is not None and self._today is not None:
                found = self._cache.series(query, self._today)
            else:
                found = normalize(self._client.usage(query), query)
            if self.refiner is not None:
                found = self.refiner.refine(found)
            self._memo[query] = found
        return found
