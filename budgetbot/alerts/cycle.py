"""One evaluation cycle: plan → fetch → evaluate → decide → record → deliver.

The store is read before deciding and written in one transaction after; delivery then drains the
outbox, so a notification recorded but not delivered (an outage, a crash) goes out next cycle.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from budgetbot.reports.digest import DigestReport
from budgetbot.rules.engine import evaluate, plan
from budgetbot.rules.findings import Finding
from budgetbot.rules.loader import PolicySet
from budgetbot.store.db import FiredLevel, Store
from budgetbot.usage.source import UsageSource

from .decide import Decision, Reason, decide, fired_key

__all__ = [
    "CycleResult",
    "DeliveryError",
    "Outgoing",
    "OutgoingDigest",
    "Sink",
    "deliver_pending",
    "enqueue_digest",
    "run_check",
]

log = logging.getLogger("budgetbot.cycle")


class DeliveryError(Exception):
    """A sink could not deliver; the notification stays in the outbox for the next cycle."""


@dataclass(frozen=True)
class Outgoing:
    """A notification on its way out: what to say, where, and which thread it belongs to."""

    id: int
    #: Unique per (rule, group, period, kind, level): carried in Slack message metadata.
    dedup_key: str
    finding: Finding
    reason: Reason
    channel: str | None
    #: (channel, ts) of the first alert of the same rule, group and period, if one went out.
    thread: tuple[str, str] | None


@dataclass(frozen=True)
class OutgoingDigest:
    """A digest on its way out."""

    id: int
    dedup_key: str
    digest: DigestReport
    channel: str | None


class Sink(Protocol):
    """Where notifications go (the terminal, Slack). Returns ``(channel, ts)`` or raises."""

    def send(self, note: Outgoing) -> tuple[str, str]: ...

    def send_digest(self, note: OutgoingDigest) -> tuple[str, str]: ...


@dataclass
class CycleResult:
    queries: int = 0
    findings: list[Finding] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    sent: list[Outgoing | OutgoingDigest] = field(default_factory=list)
    failed: list[tuple[Outgoing | OutgoingDigest, str]] = field(default_factory=list)

    @property
    def to_notify(self) -> list[Decision]:
        return [d for d in self.decisions if d.notify]


def _payload(decision: Decision) -> str:
    return json.dumps(
        {
            "type": "alert",
            "finding": decision.finding.model_dump(mode="json"),
            "reason": decision.reason.name,
        }
    )


def enqueue_digest(
    store: Store, digest: DigestReport, scheduled_for: dt.datetime, now: dt.datetime
) -> int | None:
    """Put a digest in the outbox once per (name, scheduled time); None if already there.

    The unique key is what makes a digest post once even when two clock processes, or one
    restarted after a crash, both find it due.
    """
    key = f"digest|{digest.name}|{scheduled_for.astimezone(dt.UTC).isoformat()}"
    payload = json.dumps({"type": "digest", "digest": digest.model_dump(mode="json")})
    ids = store.record([], [(key, key, digest.channel, payload)], now)
    return ids[0] if ids else None


def run_check(
    rules: PolicySet,
    source: UsageSource,
    store: Store,
    sink: Sink | None,
    now: dt.datetime,
    *,
    dry_run: bool = False,
) -> CycleResult:
    """Run one cycle at ``now``; with ``dry_run`` decide but record and deliver nothing."""
    result = CycleResult()
    queries = plan(rules.policies, rules.anomalies, now)
    result.queries = len(queries)
    data = {q: source.series(q) for q in queries}
    result.findings = evaluate(rules.policies, rules.anomalies, data, now)
    fired: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for level in store.fired_levels(f.period for f in result.findings):
        fired[(level.rule, level.group_key, level.period, level.kind)].add(level.level)
    started = store.threads_started(f.thread_key for f in result.findings)
    result.decisions = decide(result.findings, fired, started)
    if dry_run:
        return result
    levels = [
        FiredLevel(*fired_key(d.finding), level=level)
        for d in result.decisions
        for level in d.record
    ]
    notes = [
        (d.dedup_key, d.finding.thread_key, d.finding.channel, _payload(d))
        for d in result.decisions
        if d.notify
    ]
    store.record(levels, notes, now)
    if sink is not None:
        result.sent, result.failed = deliver_pending(store, sink, now)
    return result


def deliver_pending(
    store: Store, sink: Sink, now: dt.datetime
) -> tuple[list[Outgoing | OutgoingDigest], list[tuple[Outgoing | OutgoingDigest, str]]]:
    """Send every undelivered notification, oldest first; failures stay for the next cycle."""
    sent: list[Outgoing | OutgoingDigest] = []
    failed: list[tuple[Outgoing | OutgoingDigest, str]] = []
    for row in store.pending():
        doc = json.loads(row.payload)
        note: Outgoing | OutgoingDigest
        try:
            if doc.get("type") == "digest":
                note = OutgoingDigest(
                    row.id, row.dedup_key, DigestReport.model_validate(doc["digest"]), row.channel
                )
                channel, ts = sink.send_digest(note)
            else:
                note = Outgoing(
                    row.id,
                    row.dedup_key,
                    Finding.model_validate(doc["finding"]),
                    Reason[doc["reason"]],
                    row.channel,
                    store.thread_root(row.thread_key),
                )
                channel, ts = sink.send(note)
        except DeliveryError as exc:
            log.warning("notification %s not delivered: %s", row.dedup_key, exc)
            store.mark_failed(row.id, str(exc), now)
            failed.append((note, str(exc)))
            continue
        store.mark_sent(row.id, channel, ts, now)
        sent.append(note)
    return sent, failed


def summarize(decisions: Sequence[Decision]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for d in decisions:
        counts[d.reason.name] += 1
    return dict(counts)
