"""One evaluation cycle: plan → fetch → evaluate → decide → record → deliver.

The store is read before deciding and written in one transaction after; delivery then drains the
outbox, so a notification recorded but not delivered (an outage, a crash) goes out next cycle.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from budgetbot.ionq import IonQError, UsageQuery
from budgetbot.reports.digest import DigestReport
from budgetbot.rules.engine import anomaly_since, burns_of, evaluate_plan
from budgetbot.rules.findings import Burn, Finding, alert_key
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.planner import Plan, plan_cycle
from budgetbot.store.db import FiredLevel, Store, StoredNotification
from budgetbot.store.lease import LeaseHolder, describe, owner_alive
from budgetbot.usage.model import UsageSeries
from budgetbot.usage.normalize import UsageDataError
from budgetbot.usage.source import UsageSource

from .decide import Decision, Reason, decide, fired_key
from .resolve import Resolution, resolutions

__all__ = [
    "CycleResult",
    "Delivery",
    "DeliveryError",
    "HomeHook",
    "Note",
    "Outgoing",
    "OutgoingDigest",
    "OutgoingNotice",
    "Sink",
    "Unreadable",
    "Waiting",
    "deliver",
    "deliver_pending",
    "digest_key",
    "enqueue_digest",
    "enqueue_notice",
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


@dataclass(frozen=True)
class OutgoingNotice:
    """A short notice: "usage data unavailable since …", or "back under …" in an alert's thread."""

    id: int
    dedup_key: str
    text: str
    channel: str | None
    #: (channel, ts) of the alert thread it answers, if any.
    thread: tuple[str, str] | None = None
    #: The rule, group and period of that thread ("rule|group|period"), if it answers one.
    thread_key: str | None = None


Note = Outgoing | OutgoingDigest | OutgoingNotice


@dataclass(frozen=True)
class Unreadable:
    """A stored notification whose payload could not be read back: failed, never skipped."""

    id: int
    dedup_key: str
    channel: str | None


class Sink(Protocol):
    """Where notifications go (the terminal, Slack). Sends return ``(channel, ts)`` or raise
    ``DeliveryError``."""

    def send(self, note: Outgoing) -> tuple[str, str]: ...

    def send_digest(self, note: OutgoingDigest) -> tuple[str, str]: ...

    def send_notice(self, note: OutgoingNotice) -> tuple[str, str]: ...

    def find_sent(self, note: Note) -> tuple[str, str] | None:
        """``(channel, ts)`` of the message an earlier attempt posted for ``note``, if any."""
        ...


#: Called after a good cycle with every budget's burn and ``now`` (the App Home refresh). A hook
#: that fails is logged; it never fails the cycle.
HomeHook = Callable[[Sequence[Burn], dt.datetime], None]


@dataclass
class CycleResult:
    queries: int = 0
    findings: list[Finding] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    sent: list[Note] = field(default_factory=list)
    failed: list[tuple[Note | Unreadable, str]] = field(default_factory=list)
    #: Notifications a live process holds the lease of (it is delivering them).
    waiting: list[Waiting] = field(default_factory=list)
    #: Every budget's burn (computed when a home hook was given).
    burns: list[Burn] = field(default_factory=list)
    #: Why usage could not be read this cycle (no findings were made), else None.
    error: str | None = None
    fetch_seconds: float = 0.0
    evaluate_seconds: float = 0.0

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


def digest_key(name: str, scheduled_for: dt.datetime) -> str:
    """The outbox key of a digest: one per name and scheduled time."""
    return f"digest|{name}|{scheduled_for.astimezone(dt.UTC).isoformat()}"


def enqueue_digest(
    store: Store, digest: DigestReport, scheduled_for: dt.datetime, now: dt.datetime
) -> int | None:
    """Put a digest in the outbox once per (name, scheduled time); None if already there.

    The unique key is what makes a digest post once even when two clock processes, or one
    restarted after a crash, both find it due.
    """
    key = digest_key(digest.name, scheduled_for)
    payload = json.dumps({"type": "digest", "digest": digest.model_dump(mode="json")})
    ids = store.record([], [(key, key, digest.channel, payload)], now)
    return ids[0] if ids else None


UNAVAILABLE_SINCE = "ionq_unavailable_since"
LAST_GOOD_CYCLE = "last_good_cycle"


def run_check(
    rules: PolicySet,
    source: UsageSource,
    store: Store,
    sink: Sink | None,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    notice_channel: str | None = None,
    home: HomeHook | None = None,
) -> CycleResult:
    """Run one cycle at ``now``; with ``dry_run`` decide but record and deliver nothing.

    After a good cycle that is not a dry run, ``home`` (if given) gets every budget's burn:
    the App Home refresh.

    When IonQ cannot be read (after the client's retries), no finding is made from missing data:
    the outage is recorded, one "unavailable since" notice is queued per outage, and whatever
    waits in the outbox is still delivered. The first good cycle after it evaluates as usual,
    so alerts crossed meanwhile go out then.
    """
    result = CycleResult()
    started = time.monotonic()
    # Anomalies: every day completed since the last good cycle, so no outage skips one.
    last = store.get_status(LAST_GOOD_CYCLE)
    since = anomaly_since(now, dt.datetime.fromisoformat(last[0]) if last and last[0] else None)
    planned = plan_cycle(rules.policies, rules.anomalies, now, anomalies_since=since)
    queries = planned.queries
    result.queries = len(queries)
    try:
        data = {q: source.series(q) for q in queries}
    except (IonQError, UsageDataError) as exc:
        result.error = str(exc)
        if not dry_run:
            _record_outage(store, str(exc), notice_channel, now)
            if sink is not None:
                _deliver_into(result, store, sink, now)
        result.fetch_seconds = time.monotonic() - started
        _log_cycle(result, now)
        return result
    result.fetch_seconds = time.monotonic() - started
    result.findings = evaluate_plan(planned, data)
    fired: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for level in store.fired_levels(f.period for f in result.findings):
        fired[(level.rule, level.group_key, level.period, level.kind)].add(level.level)
    started_threads = store.threads_started(f.thread_key for f in result.findings)
    snoozed = {key: s.until for key, s in store.active_snoozes(now).items()}
    result.decisions = decide(result.findings, fired, started_threads, snoozed)
    result.evaluate_seconds = time.monotonic() - started - result.fetch_seconds
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
    # Every budget's burn, once, when the App Home needs it; resolutions reuse it.
    all_burns = burns_of(planned, data) if home is not None else None
    _record_resolutions(planned, data, store, now, all_burns)
    _record_recovery(store, notice_channel, now)
    if sink is not None:
        _deliver_into(result, store, sink, now)
    if home is not None:
        assert all_burns is not None
        result.burns = all_burns
        try:
            home(result.burns, now)
        except Exception as exc:  # the Home tab is a view: it never fails the cycle
            log.warning("App Home refresh failed: %s: %s", type(exc).__name__, exc)
    _log_cycle(result, now)
    return result


def _deliver_into(result: CycleResult, store: Store, sink: Sink, now: dt.datetime) -> None:
    done = deliver(store, sink, now)
    result.sent, result.failed, result.waiting = done.sent, done.failed, done.waiting


def _log_cycle(result: CycleResult, now: dt.datetime) -> None:
    """One structured line per cycle: what was fetched, found, sent and how long it took."""
    log.info(
        "cycle at %s: %s",
        now.isoformat(),
        f"IonQ unavailable: {result.error}" if result.error else "ok",
        extra={
            "fields": {
                "event": "cycle",
                "at": now.isoformat(),
                "queries": result.queries,
                "findings": len(result.findings),
                "to_notify": len(result.to_notify),
                "snoozed": sum(d.reason is Reason.SNOOZED for d in result.decisions),
                "sent": len(result.sent),
                "failed": len(result.failed),
                "waiting": len(result.waiting),
                "ionq_error": result.error,
                "fetch_s": round(result.fetch_seconds, 3),
                "evaluate_s": round(result.evaluate_seconds, 3),
            }
        },
    )


def _record_resolutions(
    planned: Plan,
    data: Mapping[UsageQuery, UsageSeries],
    store: Store,
    now: dt.datetime,
    known: Sequence[Burn] | None = None,
) -> None:
    """Queue one "back under …" reply for each fired level that no longer holds."""
    current = planned.current_periods()
    fired: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for level in store.fired_levels(set(current.values())):
        if current.get(level.rule) == level.period:
            fired[(level.rule, level.group_key, level.period, level.kind)].add(level.level)
    if not fired:
        return
    names = {key[0] for key in fired}
    if known is not None:
        candidates = [b for b in known if b.rule in names]
    else:  # only the rules that fired anything this period
        candidates = burns_of(planned.only(names), data)
    for r in resolutions(candidates, fired):
        if not _alert_delivered(store, r):
            continue  # nothing to take back yet: asked again next cycle, once it has gone out
        payload = json.dumps({"type": "notice", "text": r.text})
        store.record([], [(r.dedup_key, r.thread_key, r.burn.channel, payload)], now)


def _alert_delivered(store: Store, resolution: Resolution) -> bool:
    """Whether the alert that announced the resolved level went out (its "back under" reply
    answers it in its thread; an alert never delivered has nothing to take back)."""
    alert = store.notification(alert_key(resolution.thread_key, resolution.kind, resolution.level))
    return alert is not None and alert.sent_at is not None


def _record_outage(store: Store, error: str, channel: str | None, now: dt.datetime) -> None:
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
    )


def _record_recovery(store: Store, channel: str | None, now: dt.datetime) -> None:
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
    )


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _note(store: Store, row: StoredNotification) -> Note:
    doc = json.loads(row.payload)
    kind = doc.get("type", "alert")
    if kind == "digest":
        return OutgoingDigest(
            row.id, row.dedup_key, DigestReport.model_validate(doc["digest"]), row.channel
        )
    if kind == "notice":
        replying = row.thread_key != row.dedup_key
        thread = store.thread_root(row.thread_key) if replying else None
        return OutgoingNotice(
            row.id,
            row.dedup_key,
            str(doc["text"]),
            row.channel,
            thread,
            row.thread_key if replying else None,
        )
    return Outgoing(
        row.id,
        row.dedup_key,
        Finding.model_validate(doc["finding"]),
        Reason[doc["reason"]],
        row.channel,
        store.thread_root(row.thread_key),
    )


def _send(sink: Sink, note: Note) -> tuple[str, str]:
    if isinstance(note, OutgoingDigest):
        return sink.send_digest(note)
    if isinstance(note, OutgoingNotice):
        return sink.send_notice(note)
    return sink.send(note)


@dataclass(frozen=True)
class Waiting:
    """A notification another, live process is delivering (its lease has not ended)."""

    dedup_key: str
    #: Who holds it: ``process 4242 on worker-1``.
    holder: str
    #: When its lease ends at the latest (wall clock).
    until: dt.datetime | None

    def __str__(self) -> str:
        until = f" until {self.until:%Y-%m-%d %H:%M:%S} UTC" if self.until else ""
        return f"{self.dedup_key} (held by {self.holder}{until})"


@dataclass
class Delivery:
    """What one pass over the outbox did."""

    sent: list[Note] = field(default_factory=list)
    failed: list[tuple[Note | Unreadable, str]] = field(default_factory=list)
    #: Left to a live process that holds their lease.
    waiting: list[Waiting] = field(default_factory=list)


def deliver_pending(
    store: Store,
    sink: Sink,
    now: dt.datetime,
    *,
    lease: dt.timedelta | None = None,
    clock: Callable[[], dt.datetime] = _wall_clock,
) -> tuple[list[Note], list[tuple[Note | Unreadable, str]]]:
    """:func:`deliver`, as ``(sent, failed)``."""
    done = deliver(store, sink, now, lease=lease, clock=clock)
    return done.sent, done.failed


def deliver(
    store: Store,
    sink: Sink,
    now: dt.datetime,
    *,
    lease: dt.timedelta | None = None,
    clock: Callable[[], dt.datetime] = _wall_clock,
) -> Delivery:
    """Send every undelivered notification, oldest first; failures stay for the next cycle.

    Each row is claimed first (a lease in the store), so two processes never send the same row
    at once. A lease whose holder is known dead (``budgetbot.store.lease``: a killed process)
    is taken over at once; one held by a live process is left to it and reported as waiting.
    A row that an earlier attempt may have posted (a crash after Slack answered, before the
    store heard) is looked up in the channel by its key before it is sent again.
    """
    done = Delivery()
    rows = store.pending()
    if not rows:
        return done
    alive: dict[str, bool] = {}
    with LeaseHolder(store.engine) as holder:
        owner = holder.owner
        for row in rows:
            at = clock()
            dead_owner = None
            if row.claimed_until is not None and row.claimed_until >= at and row.claimed_by:
                holder_id = row.claimed_by
                if holder_id not in alive:
                    alive[holder_id] = owner_alive(store.engine, holder_id)
                if alive[holder_id]:
                    done.waiting.append(
                        Waiting(row.dedup_key, describe(holder_id), row.claimed_until)
                    )
                    continue
                dead_owner = holder_id
                log.info(
                    "notification %s: taking over the lease of %s, which is gone",
                    row.dedup_key,
                    describe(holder_id),
                )
            if not holder.holding():
                break  # others may take our leases now: sending would risk a double post
            earlier = store.claim(
                row.id, owner, at, lease or store.delivery_lease, dead_owner=dead_owner
            )
            if earlier is None:
                continue  # another process is delivering it, or just did
            note: Note | Unreadable = Unreadable(row.id, row.dedup_key, row.channel)
            try:
                note = _note(store, row)
                found = sink.find_sent(note) if earlier > 0 else None
                channel, ts = found if found is not None else _send(sink, note)
            except Exception as exc:
                # One bad row (an unreadable payload, a message that fails to render, a sink
                # bug) must not block the rest, and is a failure like any other: counted.
                why = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
                log.warning("notification %s not delivered: %s", row.dedup_key, why)
                store.mark_failed(row.id, why, now, owner=owner)
                done.failed.append((note, why))
                continue
            store.mark_sent(row.id, channel, ts, now, owner=owner)
            done.sent.append(note)
    for waiting in done.waiting:
        log.warning("notification %s: left to the process delivering it", waiting)
    return done


def enqueue_notice(
    store: Store, key: str, text: str, channel: str | None, now: dt.datetime
) -> int | None:
    """Put an operational notice in the outbox once per ``key``; None if already there."""
    payload = json.dumps({"type": "notice", "text": text})
    ids = store.record([], [(key, key, channel, payload)], now)
    return ids[0] if ids else None


def summarize(decisions: Sequence[Decision]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for d in decisions:
        counts[d.reason.name] += 1
    return dict(counts)
