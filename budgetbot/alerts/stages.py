"""The stages of a check cycle, in the order :data:`budgetbot.alerts.pipeline.STAGES` runs them.

A stage takes the :class:`~budgetbot.alerts.cycle.Cycle`, does its one job, and returns whether
the cycle goes on (a dry run ends after deciding). When IonQ cannot be read, ``fetch`` notes the
error and the stages that need usage step aside: no finding is made from missing data, the
outage is recorded, and what waits in the outbox is still delivered.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from budgetbot.ionq import IonQError
from budgetbot.ledger.figures import LedgerFigures
from budgetbot.rules.engine import anomaly_since, burns_of, evaluate_plan
from budgetbot.rules.planner import Plan, plan_cycle
from budgetbot.store.db import FiredLevel
from budgetbot.usage.normalize import UsageDataError

from . import deliver as outbox_delivery
from .act import proposal_notes
from .cycle import Cycle
from .decide import Reason, fired_key
from .decide import decide as decide_findings
from .notices import (
    LAST_GOOD_CYCLE,
    record_outage,
    record_recovery,
    record_resolutions,
)
from .outbox import AlertPayload, encode

__all__ = ["after_cycle", "decide", "deliver", "evaluate", "fetch", "plan", "record"]

log = logging.getLogger("budgetbot.cycle")
#: Reasons the ledger gave, logged one per line, at most this many per cycle.
_REASONS_LOGGED = 10


def plan(cycle: Cycle) -> bool:
    """The queries this cycle needs; anomalies cover every day since the last good cycle."""
    cycle.started = cycle.timer()
    last = cycle.store.get_status(LAST_GOOD_CYCLE)
    last_good = dt.datetime.fromisoformat(last[0]) if last and last[0] else None
    cycle.anomalies_since = anomaly_since(cycle.now, last_good)
    cycle.plan = plan_cycle(
        cycle.rules.policies,
        cycle.rules.anomalies,
        cycle.now,
        anomalies_since=cycle.anomalies_since,
    )
    cycle.queries = cycle.plan.queries
    cycle.result.queries = len(cycle.queries)
    return True


def _planned(cycle: Cycle) -> Plan:
    if cycle.plan is None:  # the stages run in order: ``plan`` always comes first
        raise RuntimeError("the cycle has no plan: the plan stage did not run")
    return cycle.plan


def fetch(cycle: Cycle) -> bool:
    """Ask IonQ (through the cache), and read the queue when a policy counts it; an outage is
    noted, not raised."""
    try:
        cycle.source.prepare(cycle.queries)  # the ledger, once for every query's days
        cycle.data = {q: cycle.source.series(q) for q in cycle.queries}
    except (IonQError, UsageDataError) as exc:
        cycle.result.error = str(exc)
    _note_ledger(cycle)
    if cycle.result.error is None:
        _read_queue(cycle)
    cycle.result.fetch_seconds = cycle.timer() - cycle.started
    return True


def _note_ledger(cycle: Cycle) -> None:
    """What the ledger cost and which buckets it could not make exact (the cycle log says)."""
    ledger = cycle.source.refiner
    if not isinstance(ledger, LedgerFigures):
        return
    result = cycle.result
    result.ledger_requests = dict(ledger.requests)
    result.ledger_error = ledger.error
    result.ledger_reasons = list(ledger.reasons)
    result.ledger_refined = ledger.refined
    kept = [r for r in ledger.reasons if r.kind != "unread"]
    for reason in kept[:_REASONS_LOGGED]:
        log.info("ledger: figures kept as bounds for %s", reason)
    if len(kept) > _REASONS_LOGGED:
        log.info("ledger: %d more buckets kept as bounds", len(kept) - _REASONS_LOGGED)


def _read_queue(cycle: Cycle) -> None:
    """The queue, once per cycle, only when a policy has ``committed_at`` and a reader is
    given. When IonQ cannot list it, usage findings are still made; committed ones are not."""
    if cycle.queue is not None or cycle.queue_reader is None or not _planned(cycle).needs_queue:
        return
    try:
        cycle.queue = cycle.queue_reader.snapshot(cycle.now)
    except IonQError as exc:
        cycle.result.queue_error = str(exc)
        log.warning("IonQ queue unavailable, committed spend not checked this cycle: %s", exc)
        return
    cycle.result.queue_requests = dict(cycle.queue.requests)


def evaluate(cycle: Cycle) -> bool:
    """Every finding of the rules against the usage (and the queue) read."""
    if cycle.result.error is None:
        planned = _planned(cycle)
        cycle.result.findings = evaluate_plan(planned, cycle.data, cycle.queue)
        if cycle.queue is not None and cycle.dry_run:  # for the terminal: which and why
            committed = planned.only(
                p.policy.name for p in planned.policies if p.policy.committed_at
            )
            cycle.result.uncounted = [
                b
                for b in burns_of(committed, cycle.data, cycle.queue)
                if b.queue is not None and b.queue.state != "counted"
            ]
    return True


def decide(cycle: Cycle) -> bool:
    """Dedup against fired levels, thread under the first alert, hold snoozed (rule, group)s
    (a dry run goes on to list proposals, then ends)."""
    result, store = cycle.result, cycle.store
    if result.error is not None:
        if cycle.dry_run:
            _log_cycle(cycle)
        return not cycle.dry_run
    fired: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for level in store.fired_levels(f.period for f in result.findings):
        fired[(level.rule, level.group_key, level.period, level.kind)].add(level.level)
    started_threads = store.threads_started(f.thread_key for f in result.findings)
    snoozed = {key: s.until for key, s in store.active_snoozes(cycle.now).items()}
    result.decisions = decide_findings(result.findings, fired, started_threads, snoozed)
    result.evaluate_seconds = cycle.timer() - cycle.started - result.fetch_seconds
    return True


def record(cycle: Cycle) -> bool:
    """In the outbox, once per destination: the alerts decided, the proposals of budget
    actions, "back under" replies, and the outage notices; the fired levels with them."""
    result, store, now = cycle.result, cycle.store, cycle.now
    if result.error is not None:
        record_outage(store, result.error, cycle.notice_channel, now, cycle.destinations)
        return True
    levels = [
        FiredLevel(*fired_key(d.finding), level=level)
        for d in result.decisions
        for level in d.record
    ]
    notes = [
        (
            d.dedup_key,
            d.finding.thread_key,
            d.finding.channel,
            encode(AlertPayload(d.finding, d.reason)),
        )
        for d in result.decisions
        if d.notify
    ]
    # Proposals are stored first and posted after their alerts, with the fired levels.
    notes += proposal_notes(store, result.proposals, now)
    store.record(levels, notes, now, destinations=cycle.destinations)
    # Every budget's burn, once, when the App Home or /metrics needs it; resolutions reuse it.
    wanted = cycle.home is not None or cycle.metrics
    if wanted:
        result.burns = burns_of(_planned(cycle), cycle.data, cycle.queue)
    known = result.burns if wanted else None
    record_resolutions(
        _planned(cycle), cycle.data, store, now, cycle.destinations, known, cycle.queue
    )
    record_recovery(store, cycle.notice_channel, now, cycle.destinations)
    return True


def deliver(cycle: Cycle) -> bool:
    """Drain the outbox to this process's notifiers (what this cycle recorded, and whatever an
    earlier one could not deliver)."""
    if cycle.notifiers:
        done = outbox_delivery.deliver(cycle.store, cycle.notifiers, cycle.now)
        cycle.result.sent, cycle.result.failed = done.sent, done.failed
        cycle.result.waiting = done.waiting
    return True


def after_cycle(cycle: Cycle) -> bool:
    """The App Home refresh after a good cycle (a view: it never fails the cycle); the log line."""
    if cycle.result.error is None and cycle.home is not None:
        try:
            cycle.home(cycle.result.burns, cycle.now)
        except Exception as exc:
            log.warning("App Home refresh failed: %s: %s", type(exc).__name__, exc)
    _log_cycle(cycle)
    return True


def _log_cycle(cycle: Cycle) -> None:
    """One structured line per cycle: what was fetched, found, sent and how long it took."""
    result, now = cycle.result, cycle.now
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
                "queue_requests": result.queue_requests,
                "queue_jobs": None if cycle.queue is None else len(cycle.queue.jobs),
                "queue_error": result.queue_error,
                "ledger_requests": result.ledger_requests,
                "ledger_refined": result.ledger_refined,
                "ledger_bounded": sum(r.kind != "unread" for r in result.ledger_reasons),
                "ledger_error": result.ledger_error,
                "proposals": len(result.proposals),
                "actions": [f"{o.proposal_id}:{o.state}" for o in result.actions],
                "dm_unmapped": sorted(set(result.unmapped)),
                "fetch_s": round(result.fetch_seconds, 3),
                "evaluate_s": round(result.evaluate_seconds, 3),
            }
        },
    )
