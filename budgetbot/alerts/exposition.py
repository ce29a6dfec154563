"""``GET /metrics``: the Prometheus text exposition, built per scrape from the store.

A custom collector over the snapshot the last cycle recorded (:mod:`budgetbot.alerts.metrics`)
and the outbox as it is now, in a registry of its own: no process-global gauges, so every
``serve`` on one store answers the same. ``prometheus_client`` writes the format, escaping
label values (IonQ names may hold quotes, backslashes and newlines).

Budget series are capped (``BUDGETBOT_METRICS_SERIES_CAP``): beyond it the largest budgets are
kept and ``budgetbot_series_dropped`` says how many were left out, so a thousand projects cannot
exhaust a Prometheus server. Nothing secret is in the snapshot; still, ``/metrics`` is
unauthenticated and shows project names and spend: keep it off the public internet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from budgetbot.store.db import Store

from .metrics import BudgetFigures, MetricsSnapshot, load_snapshot

__all__ = ["BUDGET_LABELS", "DEFAULT_SERIES_CAP", "MetricsCollector", "capped", "exposition"]

BUDGET_LABELS = ("policy", "group", "period", "measure")
DEFAULT_SERIES_CAP = 1000

#: Per-budget gauges: name, help, and the figure each takes (None: no sample for that budget).
_BUDGET_GAUGES: tuple[tuple[str, str, Callable[[BudgetFigures], float | None]], ...] = (
    ("spend", "Spend so far this period (the upper bound where bounded)", lambda b: b.spend),
    ("spend_lower", "Lower bound of the spend, where it is bounded", lambda b: b.spend_lower),
    ("spend_upper", "Upper bound of the spend, where it is bounded", lambda b: b.spend_upper),
    ("amount", "The budget for the period", lambda b: b.budget),
    ("forecast", "Projected spend at the period's end (upper bound)", lambda b: b.forecast),
    (
        "committed",
        "Spend plus the queue's estimate (policies with committed_at)",
        lambda b: b.committed,
    ),
)


def capped(budgets: Sequence[BudgetFigures], cap: int) -> tuple[list[BudgetFigures], int]:
    """The ``cap`` largest budgets (by amount, then labels, so the choice is stable) and how
    many were left out."""
    if len(budgets) <= cap:
        return list(budgets), 0
    ranked = sorted(budgets, key=lambda b: (-(b.budget or 0.0), b.labels))
    return ranked[:cap], len(budgets) - cap


def _timestamp(iso: str | None) -> float | None:
    return None if iso is None else dt.datetime.fromisoformat(iso).timestamp()


class MetricsCollector(Collector):
    """Reads the store on every ``collect()`` (one scrape)."""

    def __init__(
        self, store: Store, now: Callable[[], dt.datetime], cap: int = DEFAULT_SERIES_CAP
    ) -> None:
        self.store = store
        self.now = now
        self.cap = cap

    def collect(self) -> Iterator[Metric]:
        snap = load_snapshot(self.store) or MetricsSnapshot()
        yield from self._budgets(snap)
        yield from self._cycle(snap)
        yield from self._outbox()

    def _budgets(self, snap: MetricsSnapshot) -> Iterator[Metric]:
        kept, dropped = capped(snap.budgets, self.cap)
        for suffix, doc, figure in _BUDGET_GAUGES:
            family = GaugeMetricFamily(
                f"budgetbot_budget_{suffix}", doc, labels=list(BUDGET_LABELS)
            )
            for b in kept:
                value = figure(b)
                if value is not None:
                    family.add_metric(list(b.labels), value)
            yield family
        yield GaugeMetricFamily(
            "budgetbot_series_dropped",
            "Budgets left out of /metrics by the series cap (BUDGETBOT_METRICS_SERIES_CAP)",
            value=dropped,
        )

    def _cycle(self, snap: MetricsSnapshot) -> Iterator[Metric]:
        for name, doc, iso in (
            ("last_cycle", "When the last check cycle ran", snap.last_cycle),
            ("last_good_cycle", "When the last cycle that read IonQ ran", snap.last_good_cycle),
        ):
            stamp = _timestamp(iso)
            if stamp is not None:
                yield GaugeMetricFamily(
                    f"budgetbot_{name}_timestamp_seconds", f"{doc} (Unix time)", value=stamp
                )
        yield GaugeMetricFamily(
            "budgetbot_cycle_duration_seconds",
            "How long the last check cycle took",
            value=snap.duration_seconds,
        )
        yield CounterMetricFamily("budgetbot_cycles", "Check cycles recorded", value=snap.cycles)
        for name, doc, counts in (
            ("ionq_requests", "IonQ API requests by kind", snap.ionq_requests),
            (
                "ionq_errors",
                "Cycles IonQ could not be read, by kind (usage, queue)",
                snap.ionq_errors,
            ),
        ):
            family = CounterMetricFamily(f"budgetbot_{name}", doc, labels=["kind"])
            for kind, n in sorted(counts.items()):
                family.add_metric([kind], n)
            yield family
        yield CounterMetricFamily(
            "budgetbot_notifications_sent",
            "Notifications delivered by check cycles",
            value=snap.notifications_sent,
        )
        yield CounterMetricFamily(
            "budgetbot_notifications_failed",
            "Notification deliveries that failed (each stays queued and is retried)",
            value=snap.notifications_failed,
        )

    def _outbox(self) -> Iterator[Metric]:
        waiting = self.store.pending()
        yield GaugeMetricFamily(
            "budgetbot_outbox_depth", "Notifications waiting to be delivered", value=len(waiting)
        )
        oldest = self.store.oldest_pending()
        age = 0.0 if oldest is None else max((self.now() - oldest).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            "budgetbot_outbox_oldest_age_seconds",
            "Age of the oldest waiting notification (0 when none waits)",
            value=age,
        )


def exposition(store: Store, now: Callable[[], dt.datetime], cap: int) -> bytes:
    """One scrape's answer, in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(store, now, cap))
    return generate_latest(registry)
