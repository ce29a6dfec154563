"""Notices a cycle records besides its alerts: "back under …" replies in an alert's thread, and
"IonQ unavailable since …" / "available again" around an outage."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence

from budgetbot.ionq import UsageQuery
from budgetbot.queue.model import QueueSnapshot
from budgetbot.rules.engine import burns_of
from budgetbot.rules.findings import Burn, alert_key
from budgetbot.rules.planner import Plan
from budgetbot.store.db import Store
from budgetbot.usage.model import UsageSeries

from .outbox import NoticePayload, encode, enqueue_notice
from .resolve import Resolution, resolutions

__all__ = [
    "LAST_GOOD_CYCLE",
    "UNAVAILABLE_SINCE",
    "record_outage",
    "record_recovery",
    "record_resolutions",
]

log = logging.getLogger("budgetbot.cycle")

UNAVAILABLE_SINCE = "ionq_unavailable_since"
LAST_GOOD_CYCLE = "last_good_cycle"


def record_resolutions(
    planned: Plan,
    data: Mapping[UsageQuery, UsageSeries],
    store: Store,
    now: dt.datetime,
    destinations: Sequence[str],
    known: Sequence[Burn] | None = None,
    queue: QueueSnapshot | None = None,
) -> None:
    """Queue one "back under …" reply for each fired level that no longer holds.

    ``queue``: the queue now. Without it no committed level is resolved: a figure not known
    is never taken for "back under"."""
    current = planned.current_periods()
    fired: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for level in store.fired_levels(set(current.values())):
        if current.get(level.rule) == level.period:
            fired[(level.rule, level.group_key, level.period, level.kind)].add(level.level)
    if not fired:
        return
    names = {key[0] for key in fired}
    # A group of a committed policy may have left both usage and the queue (its jobs were
    # cancelled before any ran): it is asked about by name, so its "back under" can be said.
    committed = {p.policy.name for p in planned.policies if p.policy.committed_at}
    also: dict[str, set[str]] = defaultdict(set)
    for rule, group, _, _ in fired:
        if rule in committed and queue is not None:
            also[rule].add(group)
    have = {(b.rule, b.group_key) for b in known or ()}
    if known is not None and all((r, g) in have for r, groups in also.items() for g in groups):
        candidates = [b for b in known if b.rule in names]
    else:  # only the rules that fired anything this period
        candidates = burns_of(planned.only(names), data, queue, also=also)
    for r in resolutions(candidates, fired):
        row = (r.dedup_key, r.thread_key, r.burn.channel, encode(NoticePayload(r.text)))
        # Nothing to take back where the alert has not gone out yet: asked again next cycle.
        answered = [d for d in destinations if _alert_delivered(store, r, d)]
        if answered:
            store.record([], [row], now, destinations=answered)


def _alert_delivered(store: Store, resolution: Resolution, destination: str) -> bool:
    """Whether the alert that announced the resolved level went out to ``destination`` (its
    "back under" reply answers it in its thread; an alert never delivered has nothing to take
    back)."""
    key = alert_key(resolution.thread_key, resolution.kind, resolution.level)
    alert = store.notification(key, destination)
    return alert is not None and alert.sent_at is not None


def record_outage(
    store: Store, error: str, channel: str | None, now: dt.datetime, destinations: Sequence[str]
) -> None:
    """Remember since when IonQ is unavailable, and queue one notice per outage."""
    known = store.get_status(UNAVAILABLE_SINCE)
    since = dt.datetime.fromisoformat(known[0]) if known and known[0] else now
    if known is None:
        store.set_status(UNAVAILABLE_SINCE, since.isoformat(), now)
    log.warning("IonQ usage data unavailable since %s: %s", since.isoformat(), error)
    enqueue_notice(
        store,
        f"notice|ionq-unavailable|{since.isoformat()}",
        f"IonQ usage data unavailable since {since:%Y-%m-%d %H:%M} UTC ({error}). Budgets are"
        " not being checked meanwhile; budgetbot keeps trying every cycle and catches up when"
        " IonQ answers again.",
        channel,
        now,
        destinations=destinations,
    )


def record_recovery(
    store: Store, channel: str | None, now: dt.datetime, destinations: Sequence[str]
) -> None:
    """Remember a good cycle; after an outage, queue one "available again" notice."""
    store.set_status(LAST_GOOD_CYCLE, now.isoformat(), now)
    known = store.get_status(UNAVAILABLE_SINCE)
    if known is None or not known[0]:
        return
    since = dt.datetime.fromisoformat(known[0])
    store.clear_status(UNAVAILABLE_SINCE)
    enqueue_notice(
        store,
        f"notice|ionq-back|{since.isoformat()}",
        f"IonQ usage data is available again (it was unavailable from {since:%Y-%m-%d %H:%M}"
        f" to {now:%Y-%m-%d %H:%M} UTC); budgets are checked as usual.",
        channel,
        now,
        destinations=destinations,
    )
