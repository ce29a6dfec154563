"""``budgetbot queue``: the jobs queued or running on IonQ now, what they will cost, and what the
budgets with ``committed_at`` have committed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from budgetbot.render.queue import JOBS_PER_GROUP, queue_json, queue_text
from budgetbot.reports.fetch import fetch_queue
from budgetbot.reports.queue import QUEUE_GROUPINGS, QueueGrouping
from budgetbot.settings import Settings

from .group import main
from .options import SuggestingChoice, _load, _now, friendly_errors, now_option, policies_option
from .runtime import Runtime

__all__ = ["queue"]


@main.command()
@click.argument("grouping", type=SuggestingChoice(QUEUE_GROUPINGS), default="project")
@now_option
@policies_option
@click.option(
    "--top",
    type=click.IntRange(0, None),
    default=JOBS_PER_GROUP,
    show_default=True,
    help="Jobs listed under each group, largest estimate first (--json lists them all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def queue(
    grouping: QueueGrouping,
    now: dt.datetime | None,
    policies_path: Path | None,
    top: int,
    as_json: bool,
) -> None:
    """Show the jobs queued or running on IonQ now, and what they will cost.

    GROUPING is project (default) or user. A job is billed, and shows in usage, only after it
    ran: until then its estimated cost is committed. For each group: its jobs by status
    (submitted, ready, running), their estimated cost (IonQ's cost estimate) and, for budgets
    with `committed_at`, spend so far, committed (spend + queued) and the budget.

    IonQ lists a project's jobs only to that project's keys: budgetbot reads IONQ_API_KEY and
    every key in IONQ_PROJECT_KEYS (comma-separated). A project none of them belongs to shows
    "queue not visible", never $0; by user, every project must be visible. Also reads
    IONQ_ORG_ID, IONQ_BASE_URL and the policies (BUDGETBOT_POLICIES, if the folder exists).

    Example: budgetbot queue project --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    settings = Settings()
    path = policies_path or settings.budgetbot_policies
    # Without policies the queue is still worth seeing: only budgets are then left out.
    rules = _load(path) if policies_path is not None or path.exists() else None
    with friendly_errors(), Runtime(settings) as runtime:
        report = fetch_queue(
            runtime.queue_reader(),
            rules,
            lambda: runtime.usage_source(at.date()),
            grouping,
            at,
        )
    if as_json:
        click.echo(queue_json(report))
    else:
        click.echo(queue_text(report, top=top), nl=False)
