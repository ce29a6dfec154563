"""What ``/healthz`` reports: the last good cycle, and whether cycles or deliveries are stuck."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from budgetbot.scheduler import last_time, next_time
from budgetbot.store.db import Store

from .notices import LAST_GOOD_CYCLE, UNAVAILABLE_SINCE

__all__ = ["STUCK_AFTER", "HealthProbe", "stale_after"]

#: A notification undelivered this long means deliveries are stuck (Slack down, bad channel).
STUCK_AFTER = dt.timedelta(minutes=30)


def stale_after(check_cron: str, at: dt.datetime) -> dt.timedelta:
    """Three check intervals and a little slack: past that, cycles are not happening."""
    interval = next_time(check_cron, "UTC", at) - last_time(check_cron, "UTC", at)
    return interval * 3 + dt.timedelta(minutes=5)


class HealthProbe:
    """Reads the store for ``/healthz``; ``checks`` and ``info`` feed the web app."""

    def __init__(self, store: Store, check_cron: str, now: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.check_cron = check_cron
        self.now = now

    def _time(self, key: str) -> dt.datetime | None:
        found = self.store.get_status(key)
        return dt.datetime.fromisoformat(found[0]) if found and found[0] else None

    def cycles(self) -> str | None:
        """None when the last good cycle is recent (or none has run yet), else why not."""
        last = self._time(LAST_GOOD_CYCLE)
        now = self.now()
        if last is None or now - last <= stale_after(self.check_cron, now):
            return None
        since = self._time(UNAVAILABLE_SINCE)
        why = f"; IonQ unavailable since {since.isoformat()}" if since else ""
        return f"no good cycle since {last.isoformat()}{why}"

    def outbox(self) -> str | None:
        oldest = self.store.oldest_pending()
        if oldest is None or self.now() - oldest <= STUCK_AFTER:
            return None
        return f"notifications waiting since {oldest.isoformat()}"

    def checks(self) -> dict[str, Callable[[], str | None]]:
        return {"cycles": self.cycles, "outbox": self.outbox}

    def info(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "last_good_cycle": iso(self._time(LAST_GOOD_CYCLE)),
            "ionq_unavailable_since": iso(self._time(UNAVAILABLE_SINCE)),
            "oldest_pending_notification": iso(self.store.oldest_pending()),
        }
