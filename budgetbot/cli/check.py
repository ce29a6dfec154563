"""``budgetbot check`` and ``budgetbot backtest``: one evaluation cycle now, or replayed over
history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from budgetbot.alerts.backtest import replay_times, run_backtest, score_forecasts, score_lines
from budgetbot.alerts.pipeline import run_check
from budgetbot.settings import Settings

from .cycle_output import print_cycle
from .group import main
from .options import _load, _now, friendly_errors, now_option, policies_option
from .runtime import Runtime, notice_channel

__all__ = ["backtest", "check"]


@main.command()
@now_option
@policies_option
@click.option("--dry-run", is_flag=True, help="Show what would be sent; record nothing.")
def check(now: dt.datetime | None, policies_path: Path | None, dry_run: bool) -> None:
    """Run one evaluation cycle: fetch usage, evaluate policies, send what is due.

    A threshold fires once per policy, group, period and level; state is kept in DATABASE_URL
    (default sqlite:///budgetbot.db). Without SLACK_BOT_TOKEN alerts print here. Policies with
    committed_at also read IonQ's queue (IONQ_API_KEY and IONQ_PROJECT_KEYS); a dry run says
    which of their budgets cannot be checked ("queue not visible"). With BUDGETBOT_LEDGER on
    (default off), groups outside IonQ's top 5 get exact figures from the job ledger where it
    adds up, so budgets on them can alert. Policies with actions propose them
    (BUDGETBOT_ACTIONS=on|dry-run|off); a dry run lists the proposals. Exits 1 when a
    notification could not be delivered (it stays queued for the next cycle).

    Example: budgetbot check --dry-run --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    runtime = Runtime(settings)
    notifiers = runtime.notifiers()
    with friendly_errors(), runtime:
        source = runtime.usage_source(at=at)
        store = runtime.store()
        result = run_check(
            rules,
            source,
            store,
            notifiers,
            at,
            dry_run=dry_run,
            notice_channel=notice_channel(settings, rules),
            home=None if dry_run else runtime.home_hook(),
            queue_reader=runtime.queue_reader(),
            actions=runtime.action_runtime(),
        )
    print_cycle(result, at, dry_run=dry_run)
    for why in (w for n in notifiers for w in getattr(n, "unjoinable", {}).values()):
        # Posting works without joining; reading (to find an interrupted post) does not.
        click.echo(f"Warning: {why}; an interrupted post there would be held", err=True)
    if result.error:
        click.echo(f"Error: {result.error}", err=True)
    if result.failed or result.error:
        raise SystemExit(1)


@main.command()
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="First UTC day to replay.",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Last UTC day to replay (included).",
)
@click.option(
    "--step",
    default="check",
    show_default=True,
    help="'check' (every BUDGETBOT_CHECK_SCHEDULE time) or 'daily' (each day's end).",
)
@policies_option
def backtest(start: dt.datetime, end: dt.datetime, step: str, policies_path: Path | None) -> None:
    """Replay history: which alerts would have fired, and when; and how good forecasts were.

    Evaluates the policies at every check time (or at the end of every day) between --from and
    --to against IonQ's history, with throwaway state, and prints the timeline. IonQ reports past
    days whole, so an alert that a live check would see late in a day may show at the day's
    first step here. Then, for every complete period in the range, it scores the forecast made
    at 25%, 50% and 75% of the period against what was finally used (mean absolute percentage
    error), so forecast_at levels can be judged before relying on them.

    Example: budgetbot backtest --from 2026-07-01 --to 2026-09-30 --step daily
    """
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    try:
        times = replay_times(start.date(), end.date(), step, settings.budgetbot_check_schedule)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    with friendly_errors(), Runtime(settings) as runtime:
        timeline = run_backtest(rules, runtime.usage_source(cached=False), times)
        scores = score_forecasts(
            rules, runtime.usage_source(cached=False), start.date(), end.date()
        )
    for line in timeline.lines():
        click.echo(line)
    click.echo()
    for line in score_lines(scores):
        click.echo(line)
    click.echo(f"{len(timeline.entries)} notifications over {len(times)} evaluations", err=True)
