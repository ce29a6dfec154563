"""The cycle's figures for ``/metrics``: the last stage of :data:`budgetbot.alerts.pipeline.STAGES`.

``serve`` and the cycle run in separate processes (several, on PostgreSQL), so the figures
travel through the store: each cycle writes one JSON snapshot under the status key
:data:`METRICS_SNAPSHOT`, and any ``serve`` builds the exposition from it per scrape
(:mod:`budgetbot.alerts.exposition`). Counters (requests, errors, notifications, cycles) are
carried over from the previous snapshot; two cycles finishing at the same instant may lose one
increment, which a rate over minutes does not notice.

A cycle that cannot read IonQ keeps the budgets of the last good one: their age is
``budgetbot_last_good_cycle_timestamp_seconds``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from budgetbot.queue.reader import REQUEST_KINDS
from budgetbot.rules.findings import Burn, Figure
from budgetbot.store.db import Store

from .cycle import Cycle

__all__ = [
    "METRICS_SNAPSHOT",
    "BudgetFigures",
    "MetricsSnapshot",
    "load_snapshot",
    "record_metrics",
]

log = logging.getLogger("budgetbot.cycle")

#: The status key holding the last cycle's snapshot (JSON).
METRICS_SNAPSHOT = "metrics_snapshot"
_VERSION = 1


@dataclass(frozen=True)
class BudgetFigures:
    """One budget's series: labels and values (a value is None where it does not apply)."""

    policy: str
    group: str
    period: str
    measure: str
    spend: float | None
    #: The bounds of ``spend``, only where the figure is bounded (``lower < upper``).
    spend_lower: float | None
    spend_upper: float | None
    budget: float | None
    forecast: float | None
    #: Spend plus the queue's estimate, only for policies with ``committed_at``.
    committed: float | None

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return (self.policy, self.group, self.period, self.measure)


@dataclass
class MetricsSnapshot:
    """What the last cycle recorded for ``/metrics``."""

    #: When the last cycle ran, and the last one that could read IonQ (ISO-8601, UTC).
    last_cycle: str | None = None
    last_good_cycle: str | None = None
    duration_seconds: float = 0.0
    cycles: int = 0
    ionq_requests: dict[str, int] = field(default_factory=dict)
    ionq_errors: dict[str, int] = field(default_factory=dict)
    notifications_sent: int = 0
    notifications_failed: int = 0
    budgets: list[BudgetFigures] = field(default_factory=list)

    def encode(self) -> str:
        return json.dumps({"version": _VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> MetricsSnapshot:
        doc: dict[str, Any] = json.loads(text)
        if doc.pop("version", None) != _VERSION:
            return cls()  # another layout (an older or newer budgetbot): start afresh
        budgets = [BudgetFigures(**b) for b in doc.pop("budgets", [])]
        return cls(**doc, budgets=budgets)


def load_snapshot(store: Store) -> MetricsSnapshot | None:
    """The last recorded snapshot, or None before the first cycle (or if it is unreadable)."""
    found = store.get_status(METRICS_SNAPSHOT)
    if not found or not found[0]:
        return None
    try:
        return MetricsSnapshot.decode(found[0])
    except (ValueError, TypeError) as exc:
        log.warning("metrics snapshot unreadable, starting afresh: %s", type(exc).__name__)
        return None


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _bounds(figure: Figure) -> tuple[float | None, float | None]:
    return (None, None) if figure.exact else (float(figure.low), float(figure.high))


def budget_figures(burns: Iterable[Burn], periods: Mapping[str, str]) -> list[BudgetFigures]:
    """Every policy budget's figures; the upper bound where a figure is bounded (what alerts
    compare). ``periods``: each policy's period kind (``month``), a label that stays put
    across periods. Two groups of one name are told apart by their key."""
    out: list[BudgetFigures] = []
    seen: set[tuple[str, str, str, str]] = set()
    for b in burns:
        if b.rule_type != "policy" or not b.measurable:
            continue
        group = b.group_name
        labels = (b.rule, group, periods.get(b.rule, b.period), b.measure)
        if labels in seen:
            group = f"{group} ({b.group_key})"
        labels = (b.rule, group, labels[2], b.measure)
        seen.add(labels)
        lower, upper = _bounds(b.value)
        committed = b.committed
        out.append(
            BudgetFigures(
                *labels,
                spend=float(b.value.high),
                spend_lower=lower,
                spend_upper=upper,
                budget=_number(b.budget),
                forecast=None if b.forecast is None else float(b.forecast.high),
                committed=None if committed is None else float(committed.high),
            )
        )
    return out


def _requests(cycle: Cycle) -> Counter[str]:
    """What the cycle asked IonQ for usage (a test's source may not count)."""
    counted = getattr(cycle.source, "requests", None)
    return Counter(counted()) if callable(counted) else Counter()


def record_metrics(cycle: Cycle) -> bool:
    """Write this cycle's snapshot: the previous one's counters plus this cycle's."""
    if not cycle.metrics or cycle.dry_run:
        return True
    result, store = cycle.result, cycle.store
    snap = load_snapshot(store) or MetricsSnapshot()
    # The queue's requests are counted by its reader, over every project key's client.
    asked = Counter({k: n for k, n in _requests(cycle).items() if k not in REQUEST_KINDS})
    asked.update(result.queue_requests)
    errors = Counter(snap.ionq_errors)
    errors.update(
        kind for kind, why in (("usage", result.error), ("queue", result.queue_error)) if why
    )
    snap.ionq_requests = dict(Counter(snap.ionq_requests) + asked)
    snap.ionq_errors = dict(errors)
    snap.cycles += 1
    snap.notifications_sent += len(result.sent)
    snap.notifications_failed += len(result.failed)
    snap.last_cycle = cycle.now.isoformat()
    snap.duration_seconds = max(cycle.timer() - cycle.started, 0.0)
    if result.error is None:
        snap.last_good_cycle = cycle.now.isoformat()
        periods = {p.name: str(p.period) for p in cycle.rules.policies}
        snap.budgets = budget_figures(result.burns, periods)
    try:
        store.set_status(METRICS_SNAPSHOT, snap.encode(), cycle.now)
    except Exception as exc:  # figures for a dashboard never fail the cycle
        log.warning("metrics not recorded: %s: %s", type(exc).__name__, exc)
    return True
