"""Constants and small fakes shared by the tests (importable, unlike conftest)."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
API_KEY = "sim-test-key-5f1b2c"


class RecordedSleep:
    """A fake `sleep` that records the waits instead of sleeping (time is injected, never slept)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.clock = 0.0

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock += seconds

    def monotonic(self) -> float:
        return self.clock
