"""The digest poster: a scheduled digest built and put in the outbox once per scheduled time.

``budgetbot digest``, the clock process and the demo post through it; delivery is the outbox's.
"""

from __future__ import annotations

import datetime as dt

from budgetbot.alerts.outbox import digest_key, enqueue_digest
from budgetbot.queue.model import QueueReader
from budgetbot.reports.fetch import fetch_digest
from budgetbot.rules import PolicySet
from budgetbot.rules.models import Digest
from budgetbot.store import Store
from budgetbot.usage import UsageSource

__all__ = ["post_digest"]


def post_digest(
    digest: Digest,
    rules: PolicySet,
    source: UsageSource,
    store: Store,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    queue: QueueReader | None = None,
) -> bool:
    """Build a digest and put it in the outbox once per scheduled time; True if it was new.

    ``queue``: read for budgets with ``committed_at`` (committed beside spend)."""
    if store.notification(digest_key(digest.name, scheduled_for)) is not None:
        return False  # already queued (a restart, another clock process): no need to fetch
    report = fetch_digest(digest, rules, source, scheduled_for, now, queue)
    return enqueue_digest(store, report, scheduled_for, now) is not None
