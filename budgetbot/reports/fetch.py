"""Fetch what a report needs and build it: shared by the CLI, the slash command and digests.

Orchestration only: the usage source does the I/O, the builders stay pure.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace

from budgetbot.ionq import GroupBy, IonQError, Modality, UsageQuery
from budgetbot.queue.model import QueueReader, QueueSnapshot
from budgetbot.rules.engine import burns_of, plan_cycle
from budgetbot.rules.findings import Burn
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Digest, Policy
from budgetbot.usage.source import UsageSource

from .build import Report, build_report, report_query_grouping
from .digest import DigestReport, build_digest, digest_queries
from .grammar import parse_range
from .queue import QueueGrouping, QueueReport, build_queue_report

__all__ = ["fetch_burns", "fetch_digest", "fetch_queue", "fetch_report", "read_queue"]

log = logging.getLogger("budgetbot.reports")


def fetch_report(
    source: UsageSource,
    grouping: str,
    modality: str,
    range_text: str | None,
    now: dt.datetime,
    *,
    top: int = 10,
) -> Report:
    """The report ``/ionq-usage grouping modality range`` shows at ``now``."""
    start, end = parse_range(range_text, modality, now.date())
    query = UsageQuery(
        group_by=GroupBy(report_query_grouping(grouping)),
        modality=Modality(modality),
        start=start,
        end=end,
    )
    return build_report(source.series(query), grouping, now, top=top)


def fetch_burns(
    rules: PolicySet, source: UsageSource, now: dt.datetime, queue: QueueSnapshot | None = None
) -> list[Burn]:
    """Every budget's burn in its current period at ``now``; with ``queue``, the burns of
    policies with ``committed_at`` carry their queue (committed spend)."""
    planned = plan_cycle(rules.policies, (), now)
    data = {q: source.series(q) for q in planned.queries}
    return burns_of(planned, data, queue)


def _committed(rules: PolicySet | None) -> list[Policy]:
    """The policies with ``committed_at``: only they need the queue."""
    return [p for p in rules.policies if p.committed_at] if rules is not None else []


def read_queue(
    reader: QueueReader | None, rules: PolicySet, now: dt.datetime
) -> QueueSnapshot | None:
    """The queue at ``now`` for the budget views (digest, App Home, ``/ionq-usage budgets``);
    None without a reader or a policy with ``committed_at``, and when IonQ's queue cannot be
    read (logged): those views then show spend without committed rather than nothing at all."""
    if reader is None or not _committed(rules):
        return None
    try:
        return reader.snapshot(now)
    except IonQError as exc:
        log.warning("queue not read, budgets shown without committed: %s", exc)
        return None


def fetch_queue(
    reader: QueueReader,
    rules: PolicySet | None,
    source: Callable[[], UsageSource],
    grouping: QueueGrouping,
    now: dt.datetime,
) -> QueueReport:
    """The queue report at ``now``: the queue read once, the names of projects and users from
    recent usage (a project no key covers is then listed, as not visible), and the burns of the
    policies with ``committed_at``."""
    usage = source()
    names = {g: usage.series(_names_query(g, now)).group_names() for g in NAMED}
    snapshot = reader.snapshot(now)
    snapshot = replace(
        snapshot,
        names={**names[GroupBy.USER], **names[GroupBy.PROJECT], **snapshot.names},
        known=snapshot.known | names[GroupBy.PROJECT].keys(),
    )
    committed = _committed(rules)
    burns: list[Burn] = []
    if committed:
        planned = plan_cycle(committed, (), now)
        burns = burns_of(planned, {q: usage.series(q) for q in planned.queries}, snapshot)
    return build_queue_report(snapshot, grouping, burns)


#: The groupings whose names the queue report shows (jobs name a project and a submitter).
NAMED = (GroupBy.PROJECT, GroupBy.USER)
#: Days of usage the queue report learns project and user names from (daily buckets: each day's
#: top 5 named, so more groups than in one monthly bucket).
NAMES_DAYS = 31


def _names_query(group_by: GroupBy, now: dt.datetime) -> UsageQuery:
    end = now.date() + dt.timedelta(days=1)
    start = end - dt.timedelta(days=NAMES_DAYS)
    return UsageQuery(group_by=group_by, modality=Modality.DAILY, start=start, end=end)


def fetch_digest(
    digest: Digest,
    rules: PolicySet,
    source: UsageSource,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    queue: QueueReader | None = None,
) -> DigestReport:
    """The digest due at ``scheduled_for``: the period before it, budgets as of ``now`` (with
    what is committed, for policies with ``committed_at``, when ``queue`` can be read)."""
    queries = digest_queries(digest.period, scheduled_for)
    data = {role: source.series(q) for role, q in queries.items()}
    return build_digest(
        digest.name,
        digest.period,
        scheduled_for,
        data,
        fetch_burns(rules, source, now, read_queue(queue, rules, now)),
        top=digest.top,
        channel=digest.channel,
        source=digest.source,
        timezone=digest.timezone,
    )
