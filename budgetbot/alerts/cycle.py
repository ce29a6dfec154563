"""What one check cycle carries from stage to stage (:mod:`budgetbot.alerts.pipeline`), and
what it reports when done."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from budgetbot.actions import Outcome, Proposal
from budgetbot.actions.outcomes import ActionRuntime
from budgetbot.ionq import UsageQuery
from budgetbot.ledger.reconcile import LedgerReason
from budgetbot.queue.model import QueueReader, QueueSnapshot
from budgetbot.rules.findings import Burn, Finding
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.planner import Plan
from budgetbot.store.db import Store
from budgetbot.usage.model import UsageSeries
from budgetbot.usage.source import UsageSource

from .decide import Decision
from .deliver import Waiting
from .notifiers import CHAT, DIRECT, Note, Notifier, Unreadable

__all__ = ["Cycle", "CycleResult", "HomeHook"]

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
    #: Why the queue could not be read this cycle (no committed findings or resolutions).
    queue_error: str | None = None
    #: IonQ requests the queue cost this cycle, by kind (``whoami``, ``jobs``, ``cost``).
    queue_requests: dict[str, int] = field(default_factory=dict)
    #: Dry runs: budgets of policies with ``committed_at`` whose queue is not counted this
    #: cycle (not visible, or without an estimate): no committed finding can be made for them.
    uncounted: list[Burn] = field(default_factory=list)
    #: IonQ requests the ledger cost this cycle, by kind (apart from the usage queries).
    ledger_requests: dict[str, int] = field(default_factory=dict)
    #: Buckets the ledger made exact, and why the others kept their bounds.
    ledger_refined: int = 0
    ledger_reasons: list[LedgerReason] = field(default_factory=list)
    #: Why the ledger could not be read this cycle (figures are IonQ's alone), else None.
    ledger_error: str | None = None
    #: Budget actions proposed by this cycle's decisions (a dry run lists them).
    proposals: list[Proposal] = field(default_factory=list)
    #: What automatic and resumed actions did this cycle.
    actions: list[Outcome] = field(default_factory=list)
    #: IonQ users a ``notify: person`` alert could not be sent to: not in ``people:``.
    unmapped: list[str] = field(default_factory=list)
    fetch_seconds: float = 0.0
    evaluate_seconds: float = 0.0

    @property
    def to_notify(self) -> list[Decision]:
        return [d for d in self.decisions if d.notify]


@dataclass
class Cycle:
    """One cycle at ``now``: its inputs, what the stages found so far, and the result."""

    rules: PolicySet
    source: UsageSource
    store: Store
    notifiers: Sequence[Notifier]
    now: dt.datetime
    dry_run: bool = False
    #: Where operational notices ("IonQ unavailable since …") go.
    notice_channel: str | None = None
    home: HomeHook | None = None
    #: Seconds for the stage timings (a monotonic clock; tests may pin it).
    timer: Callable[[], float] = time.monotonic
    #: Reads IonQ's queue when a policy has ``committed_at`` (None: committed spend unchecked).
    queue_reader: QueueReader | None = None
    #: Budget actions: the store, IonQ clients and BUDGETBOT_ACTIONS (None: no actions).
    actions: ActionRuntime | None = None
    result: CycleResult = field(default_factory=CycleResult)
    #: The first day anomalies are examined from (days missed by an outage included).
    anomalies_since: dt.date | None = None
    #: The rules' periods and queries, derived once (the ``plan`` stage).
    plan: Plan | None = None
    queries: list[UsageQuery] = field(default_factory=list)
    data: dict[UsageQuery, UsageSeries] = field(default_factory=dict)
    #: The queue now (the ``fetch`` stage), None when not needed, not given or not readable.
    queue: QueueSnapshot | None = None
    started: float = 0.0
    #: Record the cycle's figures for ``/metrics`` (:mod:`budgetbot.alerts.metrics`).
    metrics: bool = True

    @property
    def destinations(self) -> list[str]:
        """Where this process delivers: its notifiers' destinations (``chat`` if it has none
        and only records). Direct messages are addressed, not broadcast: their own stage
        records them."""
        return sorted({n.destination for n in self.notifiers} - {DIRECT}) or [CHAT]
