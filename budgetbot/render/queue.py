"""The queue report for the terminal, as JSON and as a Slack message (pure).

Words are shared: :func:`group_summary`, :func:`job_line` and :func:`budget_line` build the raw
text, the terminal drops control characters from it and Slack escapes it (a job called
``<!channel>`` pings no one). A queue no key sees whole says "queue not visible" and lists the
jobs seen as *seen*, never as a total; jobs estimated in credits say so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from budgetbot.queue.model import QueuedJob
from budgetbot.reports.queue import QueueGroup, QueueReport
from budgetbot.rules.findings import Burn, Figure
from budgetbot.usage.measures import Measure

from .budgets import committed_words
from .messages import amount, figure_text, period_words
from .report_json import _decimal_default
from .slack_text import (
    MAX_BLOCKS,
    MAX_CONTEXT_TEXT,
    MAX_HEADER,
    MAX_NAME,
    MAX_SECTION,
    cut,
    escape,
    escape_cut,
    fit_message,
    more_line,
)
from .text import money, safe_terminal

__all__ = [
    "JOBS_PER_GROUP",
    "NOT_VISIBLE",
    "budget_line",
    "group_summary",
    "job_line",
    "queue_blocks",
    "queue_json",
    "queue_text",
]

#: Jobs listed under each group in Slack (the largest estimates); the rest are counted.
JOBS_PER_GROUP = 5
#: How Slack and the terminal name IonQ's statuses (``started`` is running on the QPU).
STATUS_WORDS = {"submitted": "submitted", "ready": "ready", "started": "running"}
NOT_VISIBLE = "queue not visible"
#: Why a queue is not visible, and what to do about it.
NOT_VISIBLE_WHY = (
    "IonQ lists a project's jobs only to that project's own keys, and no key budgetbot reads"
    " (IONQ_API_KEY, IONQ_PROJECT_KEYS) belongs to it"
)
NOT_VISIBLE_NO_PROJECT = "jobs without a project are all seen only when every project's queue is"
NOT_VISIBLE_USERS = (
    "a user may queue in any project, and not every project's queue is visible: add the missing"
    " projects' keys to IONQ_PROJECT_KEYS"
)

Block = dict[str, Any]


def _jobs(n: int) -> str:
    return f"{n:,} job" + ("" if n == 1 else "s")


def _status(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def _estimate_words(group: QueueGroup) -> str:
    """``$400.00 estimated``, or why there is no total."""
    if not group.jobs:
        return ""
    if not group.visible:
        seen = group.estimated_usd_seen
        return f"{money(seen)} estimated for the jobs seen" if seen else ""
    total = group.estimate_usd
    if total is not None:
        return f"{money(total)} estimated"
    missing = []
    if group.credit_jobs:
        missing.append(f"{group.credit_jobs:,} in credits without a USD estimate")
    if other := group.unestimated_jobs - group.credit_jobs:
        missing.append(f"{other:,} without an estimate yet")
    known = group.estimated_usd_seen
    return f"estimate unknown: {', '.join(missing)}" + (
        f" ({money(known)} for the others)" if known else ""
    )


def group_summary(group: QueueGroup) -> str:
    """``3 jobs (2 submitted, 1 running), $400.00 estimated`` (raw text, without the name)."""
    statuses = ", ".join(f"{n:,} {_status(s)}" for s, n in group.by_status.items())
    jobs = f"{_jobs(len(group.jobs))} ({statuses})" if group.jobs else ""
    if not group.visible:
        seen = f"; {jobs} seen" if jobs else ""
        estimate = _estimate_words(group)
        return NOT_VISIBLE + seen + (f", {estimate}" if estimate else "")
    if not group.jobs:
        return "nothing queued"
    return f"{jobs}, {_estimate_words(group)}"


def job_line(job: QueuedJob, report: QueueReport, *, users: bool = True) -> str:
    """``running · $250.00 · vqe-sweep-12 · alice`` (raw text); ``users=False`` leaves the
    submitter out (where BUDGETBOT_USER_REPORTS keeps who spends what private)."""
    if job.estimate_usd is not None:
        estimate = money(job.estimate_usd)
    elif job.estimate_unit == "credit":
        estimate = "credits, no USD estimate"
    else:
        estimate = "no estimate yet"
    parts = [_status(job.status), estimate, job.label]
    if users:
        parts.append(report.name_of(job.submitter_id))
    if report.grouping == "user" and job.project_id is not None:
        parts.append(f"in {report.name_of(job.project_id)}")
    return " · ".join(parts)


def budget_line(burn: Burn, *, with_group: bool = False) -> str:
    """``chem-monthly, November: $1,700.00 spent of $2,000.00 · $2,100.00 committed (105%, 3
    queued)`` (raw text); ``with_group`` names the group too."""
    period = period_words(burn.period_start, burn.period_end)
    who = f" ({burn.group_name})" if with_group else ""
    verb = "spent" if burn.measure == Measure.USD.key else "used"
    spent = figure_text(burn.value, burn.measure) if burn.measurable else "no USD figure"
    budget = "" if burn.budget is None else f" of {amount(burn.budget, burn.measure)}"
    return f"{burn.rule}{who}, {period}: {spent} {verb}{budget} · {committed_words(burn)}"


def _headline(report: QueueReport) -> str:
    at = report.at.astimezone(dt.UTC)
    when = f"{at:%b} {at.day} {at:%H:%M} UTC"
    total = report.estimate_usd
    jobs = f"{_jobs(report.jobs)} queued or running"
    if not report.all_visible:
        return f"As of {when}: {_jobs(report.jobs)} seen; some queues are not visible"
    if total is not None:
        return f"As of {when}: {jobs}, {money(total)} estimated"
    return f"As of {when}: {jobs}; some have no USD estimate"


def _nothing(report: QueueReport) -> str:
    """What a report without a single group says."""
    if report.all_visible:
        return "Nothing queued or running."
    return f"{NOT_VISIBLE.capitalize()}: {NOT_VISIBLE_USERS}."


def _title(report: QueueReport) -> str:
    return f"IonQ queue by {report.grouping}"


# -- terminal ----------------------------------------------------------------------------------


def queue_text(report: QueueReport, *, top: int | None = JOBS_PER_GROUP) -> str:
    """The report as terminal text: each group, its budgets and its largest ``top`` jobs (None:
    every job)."""
    lines = [f"{_title(report)}. {_headline(report)}.", ""]
    if not report.groups:
        lines.append(_nothing(report))
    for g in report.groups:
        lines.append(safe_terminal(f"{g.name}: {group_summary(g)}"))
        lines += [f"    budget {safe_terminal(budget_line(b))}" for b in g.budgets]
        jobs = g.jobs if top is None else g.jobs[:top]
        lines += [f"    {safe_terminal(job_line(j, report))}" for j in jobs]
        if len(g.jobs) > len(jobs):
            lines.append(f"    {more_line(len(g.jobs) - len(jobs), 'jobs')}")
    if report.budgets:
        lines += ["", "Other budgets with committed_at:"]
        lines += [f"    {safe_terminal(budget_line(b, with_group=True))}" for b in report.budgets]
    notes = _notes(report)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _notes(report: QueueReport) -> list[str]:
    notes = []
    hidden = [g for g in report.groups if not g.visible]
    if hidden and report.grouping == "project":
        why = NOT_VISIBLE_WHY
        if any(g.key is None for g in hidden):
            why += f"; {NOT_VISIBLE_NO_PROJECT}"
        notes.append(f"{NOT_VISIBLE}: {why}; it is never counted as $0.")
    elif hidden or not report.all_visible:
        notes.append(f"{NOT_VISIBLE}: {NOT_VISIBLE_USERS}; it is never counted as $0.")
    if any(g.credit_jobs for g in report.groups):
        notes.append("credits: IonQ estimated some jobs in credits, which have no USD figure.")
    return notes


# -- JSON --------------------------------------------------------------------------------------


def _bound(value: Figure | None) -> dict[str, Any] | None:
    return None if value is None else {"low": value.low, "high": value.high, "exact": value.exact}


def _budget_doc(b: Burn) -> dict[str, Any]:
    q = b.queue
    return {
        "rule": b.rule,
        "scope": b.scope,
        "group_key": b.group_key,
        "group_name": b.group_name,
        "period": b.period,
        "period_start": b.period_start,
        "period_end_exclusive": b.period_end,
        "measure": b.measure,
        "budget": b.budget,
        "spend": _bound(b.value) if b.measurable else None,
        "committed": _bound(b.committed),
        "committed_percent": _bound(b.committed_percent),
        "queue": None if q is None else {"state": q.state, "amount": q.amount, "jobs": q.jobs},
    }


def _job_doc(job: QueuedJob, report: QueueReport) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status,
        "project_id": job.project_id,
        "project_name": None if job.project_id is None else report.name_of(job.project_id),
        "submitter_id": job.submitter_id,
        "submitter_name": report.name_of(job.submitter_id),
        "backend": job.backend,
        "submitted_at": job.submitted_at,
        "estimate_usd": job.estimate_usd,
        "estimate_unit": job.estimate_unit,
        "predicted_qpu_us": job.predicted_us,
    }


def queue_json(report: QueueReport) -> str:
    """The report as JSON (``budgetbot queue --json``; the keys are listed in the README):
    money as decimal strings, times as ISO-8601, ``estimate_usd`` null where it is unknown or
    the queue is not visible (never 0)."""
    doc = {
        "at": report.at,
        "grouping": report.grouping,
        "unit": "USD",
        "all_visible": report.all_visible,
        "jobs": report.jobs,
        "estimate_usd": report.estimate_usd,
        "groups": [
            {
                "key": g.key,
                "name": g.name,
                "visible": g.visible,
                "jobs": len(g.jobs),
                "by_status": g.by_status,
                "estimate_usd": g.estimate_usd,
                "estimate_usd_seen": g.estimated_usd_seen,
                "credit_jobs": g.credit_jobs,
                "unestimated_jobs": g.unestimated_jobs,
                "budgets": [_budget_doc(b) for b in g.budgets],
                "job_list": [_job_doc(j, report) for j in g.jobs],
            }
            for g in report.groups
        ],
        "budgets": [_budget_doc(b) for b in report.budgets],
        "requests": dict(report.requests),
    }
    return json.dumps(doc, default=_decimal_default, indent=2)


# -- Slack -------------------------------------------------------------------------------------


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}


def _listed(head: str, lines: Sequence[str], total: int, limit: int, unit: str) -> str:
    """``head``, then as many ``lines`` as fit in ``limit``, and the rest of ``total`` counted
    ("… and 3 more jobs")."""
    out = [head]
    size = len(head)
    reserve = len(more_line(total, unit)) + 1
    shown = 0
    for line in lines:
        if size + 1 + len(line) + reserve > limit:
            break
        out.append(line)
        size += 1 + len(line)
        shown += 1
    if total > shown:
        out.append(more_line(total - shown, unit))
    return "\n".join(out)


def _group_block(group: QueueGroup, report: QueueReport, users: bool) -> Block:
    head = f"*{escape_cut(group.name, MAX_NAME)}*: {escape(group_summary(group))}"
    budgets = [f"`budget` {escape_cut(budget_line(b), 600)}" for b in group.budgets[:3]]
    if len(group.budgets) > 3:
        budgets.append(more_line(len(group.budgets) - 3, "budgets"))
    head = "\n".join([head, *budgets])
    jobs = [
        f"• {escape_cut(job_line(j, report, users=users), 400)}"
        for j in group.jobs[:JOBS_PER_GROUP]
    ]
    return _section(_listed(head, jobs, len(group.jobs), MAX_SECTION, "jobs"))


def _folded(groups: Sequence[QueueGroup], grouping: str) -> Block:
    with_jobs = sum(1 for g in groups if g.jobs)
    hidden = sum(1 for g in groups if not g.visible)
    jobs = sum(len(g.jobs) for g in groups)
    facts = [f"{with_jobs:,} with {_jobs(jobs)}"] if with_jobs else []
    if hidden:
        facts.append(f"{hidden:,} not visible")
    if len(groups) - with_jobs - hidden > 0:
        facts.append(f"{len(groups) - with_jobs - hidden:,} with nothing queued")
    names = ", ".join(escape_cut(g.name, 64) for g in groups[:20]) + (
        ", …" if len(groups) > 20 else ""
    )
    line = (
        f"{more_line(len(groups), grouping + 's')} ({'; '.join(facts)}), folded to fit Slack"
        f" (`budgetbot queue {grouping}` lists them all): {names}"
    )
    return _section(cut(line, 2000))


def queue_blocks(report: QueueReport, *, users: bool = True) -> tuple[str, list[Block]]:
    """The report as a Slack message within every Block Kit limit: a section per group (its
    budgets and its :data:`JOBS_PER_GROUP` largest jobs), groups that do not fit folded into one
    counted line ("… and 940 more projects"). ``users=False`` names no submitter."""
    title = _title(report)
    headline = _headline(report)
    text = f"{title}. {headline}."
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(title, MAX_HEADER)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(headline)}]},
    ]
    if not report.groups:
        blocks.append(_section(escape(_nothing(report))))
    tail: list[Block] = []
    if report.budgets:
        lines = [f"• {escape_cut(budget_line(b, with_group=True), 600)}" for b in report.budgets]
        head = "*Other budgets with committed_at*"
        tail.append(_section(_listed(head, lines, len(lines), MAX_SECTION, "budgets")))
    notes = _notes(report)
    if notes:
        text_notes = " ".join(escape(n) for n in notes)
        tail.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": cut(text_notes, MAX_CONTEXT_TEXT)}],
            }
        )
    room = MAX_BLOCKS - len(blocks) - len(tail)
    groups = report.groups
    fits = groups if len(groups) <= room else groups[: room - 1]
    blocks += [_group_block(g, report, users) for g in fits]
    if len(fits) < len(groups):
        blocks.append(_folded(groups[len(fits) :], report.grouping))
    blocks += tail
    return fit_message(text, blocks)
