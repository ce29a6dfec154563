"""The check cycle, read top to bottom: the stages in order (Alertmanager's notification
pipeline is the model). Each is in :mod:`budgetbot.alerts.stages`.

    plan      the queries the rules need (anomalies since the last good cycle)
    fetch     usage from IonQ, through the cache, and the queue when a policy has
              ``committed_at``; an outage is noted, not raised
    evaluate  findings of the rules against that usage and queue
    decide    dedup against fired levels, threads, snoozes
    propose   budget actions the decisions propose (a dry run ends here, listing them)
    record    the outbox, one row per destination (alerts, proposals and their fired levels
              in one transaction), "back under" replies, outage notices
    direct    direct messages of ``notify: person`` alerts to the people spending
    act       automatic actions, and actions a stopped process left unfinished
    deliver   drain the outbox to the process's notifiers, under leases
    after     the App Home refresh and the cycle's log line
    metrics   the cycle's figures for ``/metrics``, a snapshot in the store
              (:mod:`budgetbot.alerts.metrics`)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from budgetbot.actions.outcomes import ActionRuntime
from budgetbot.queue.model import QueueReader
from budgetbot.rules.loader import PolicySet
from budgetbot.store.db import Store
from budgetbot.usage.source import UsageSource

from .act import act, propose
from .cycle import Cycle, CycleResult, HomeHook
from .direct import record_direct
from .metrics import record_metrics
from .notifiers import Notifier
from .stages import after_cycle, decide, deliver, evaluate, fetch, plan, record

__all__ = ["STAGES", "Stage", "run_check"]

#: A stage does its one job on the cycle and says whether the cycle goes on.
Stage = Callable[[Cycle], bool]

STAGES: tuple[Stage, ...] = (
    plan,
    fetch,
    evaluate,
    decide,
    propose,
    record,
    record_direct,
    act,
    deliver,
    after_cycle,
    record_metrics,
)


def run_check(
    rules: PolicySet,
    source: UsageSource,
    store: Store,
    notifiers: Sequence[Notifier],
    now: dt.datetime,
    *,
    dry_run: bool = False,
    notice_channel: str | None = None,
    home: HomeHook | None = None,
    timer: Callable[[], float] = time.monotonic,
    queue_reader: QueueReader | None = None,
    actions: ActionRuntime | None = None,
    metrics: bool = True,
) -> CycleResult:
    """Run one cycle at ``now``; with ``dry_run`` decide but record and deliver nothing.

    After a good cycle that is not a dry run, ``home`` (if given) gets every budget's burn:
    the App Home refresh. With no ``notifiers`` the cycle records for ``chat`` and delivers
    nothing (a clock process whose posts another process sends).

    When IonQ cannot be read (after the client's retries), no finding is made from missing data:
    the outage is recorded, one "unavailable since" notice is queued per outage, and whatever
    waits in the outbox is still delivered. The first good cycle after it evaluates as usual,
    so alerts crossed meanwhile go out then.

    ``queue_reader`` reads IonQ's queue once per cycle, only when a policy has
    ``committed_at``. When it fails, usage findings are still made and noted as
    ``queue_error``; committed findings and their "back under" replies wait for a cycle that
    reads the queue.

    ``actions`` (the store, IonQ clients and BUDGETBOT_ACTIONS) lets policies' ``actions``
    propose, and carries out automatic ones; None proposes nothing.
    """
    cycle = Cycle(
        rules,
        source,
        store,
        notifiers,
        now,
        dry_run=dry_run,
        notice_channel=notice_channel,
        home=home,
        timer=timer,
        queue_reader=queue_reader,
        actions=actions,
        metrics=metrics,
    )
    for stage in STAGES:
        if not stage(cycle):
            break
    return cycle.result
