"""``budgetbot digest``: build and post a digest now (or print it with ``--dry-run``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.digests import post_digest
from budgetbot.render.digest import digest_text
from budgetbot.reports.fetch import fetch_digest
from budgetbot.settings import Settings

from .group import main
from .options import _load, _now, friendly_errors, now_option, policies_option
from .runtime import Runtime

__all__ = ["digest"]


@main.command()
@click.argument("name", required=False)
@now_option
@policies_option
@click.option("--dry-run", is_flag=True, help="Print the digest instead of posting it.")
def digest(
    name: str | None, now: dt.datetime | None, policies_path: Path | None, dry_run: bool
) -> None:
    """Build and post a digest now (every digest of the policy files, or NAME).

    A digest covers the last complete UTC period (its `period:`, a week by default): spend,
    QPU time and jobs against the period before, the top projects, users and jobs, every
    budget's burn and a per-day trend. Posts to Slack with SLACK_BOT_TOKEN, else prints.

    Example: budgetbot digest weekly --dry-run --now 2026-11-23T08:00:00Z
    """
    at = _now(now)
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    chosen = [d for d in rules.digests if name in (None, d.name)]
    if not chosen:
        names = ", ".join(d.name for d in rules.digests) or "none defined"
        raise click.UsageError(f"no digest named {name!r} (digests: {names})")
    with friendly_errors(), Runtime(settings) as runtime:
        source = runtime.usage_source(at=at)
        store = runtime.store()
        if dry_run:
            for d in chosen:
                report = fetch_digest(d, rules, source, at, at, runtime.queue_reader())
                click.echo(digest_text(report))
            return
        for d in chosen:
            post_digest(d, rules, source, store, at, at, runtime.queue_reader())
        sent, failed = deliver_pending(store, runtime.notifiers(), at)
    for _note, error in failed:
        click.echo(f"not delivered (kept for the next cycle): {error}", err=True)
    click.echo(f"digest: {len(sent)} sent, {len(failed)} failed", err=True)
    if failed:
        raise SystemExit(1)
