"""Where usage series come from: an IonQ client behind a small per-run memo.

Within one run (a check cycle, a report) every distinct query is asked once, however many
policies or reports need it.
"""

from __future__ import annotations

from typing import Protocol

from budgetbot.ionq import UsageQuery, Usages

from .model import UsageSeries
from .normalize import normalize

__all__ = ["UsageClient", "UsageSource"]


class UsageClient(Protocol):
    def usage(self, query: UsageQuery) -> Usages: ...


class UsageSource:
    """Fetches and normalizes usage, asking IonQ once per distinct query."""

    def __init__(self, client: UsageClient) -> None:
        self._client = client
        self._memo: dict[UsageQuery, UsageSeries] = {}

    def series(self, query: UsageQuery) -> UsageSeries:
        found = self._memo.get(query)
        if found is None:
            found = normalize(self._client.usage(query), query)
            self._memo[query] = found
        return found
