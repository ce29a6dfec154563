"""``budgetbot audit``: the budget actions' audit trail, newest first."""

from __future__ import annotations

import json

import click

from budgetbot.actions import AuditEntry
from budgetbot.actions.audit import DEFAULT_AUDIT_LIMIT, audit_entries
from budgetbot.render.text import safe_terminal
from budgetbot.settings import Settings

from .group import main
from .options import friendly_errors
from .runtime import Runtime

__all__ = ["audit"]


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON array of entries, for scripts.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_AUDIT_LIMIT,
    show_default=True,
    help="How many of the newest entries to show.",
)
def audit(as_json: bool, limit: int) -> None:
    """Show what budget actions did, newest first: the audit trail.

    A policy's `actions:` proposes cancelling a group's queued jobs when a level is reached; an
    approver confirms it in Slack (or it runs at once with `approval: automatic`). Each step is
    one line here: proposed, refused (a click by someone who is not an approver), expired,
    approved (or automatic), dry_run (BUDGETBOT_ACTIONS=dry-run: what would have been
    cancelled), cancelled and not_cancelled (one line per job, with why not: it had started,
    IonQ refused), failed (IonQ refused or was down; a retry cancels nothing twice), resubmit,
    cloned and not_cloned. "by" is the Slack user id. Reads DATABASE_URL; changes nothing.

    Example: budgetbot audit --limit 20
    """
    with friendly_errors(), Runtime(Settings()) as runtime:
        entries = audit_entries(runtime.store(), limit)
    if as_json:
        click.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    if not entries:
        click.echo("No budget action yet: the audit trail is empty.")
        return
    for entry in entries:
        click.echo(_line(entry))


def _line(entry: AuditEntry) -> str:
    parts = [
        f"{entry.at:%Y-%m-%d %H:%M:%S}Z",
        f"{entry.event:<13}",
        entry.rule,
        safe_terminal(entry.group_name),
    ]
    if entry.by_user:
        parts.append(f"by {entry.by_user}")
    if entry.job_id:
        parts.append(f"job {entry.job_id}")
    if entry.detail:
        parts.append(safe_terminal(entry.detail))
    return "  ".join(parts)
