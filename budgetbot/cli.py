"""The ``budgetbot`` command line: one function per command; each reads the clock once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from budgetbot.alerts.backtest import replay_times, run_backtest, score_forecasts, score_lines
from budgetbot.alerts.console import ConsoleNotifier
from budgetbot.alerts.cycle import CycleResult, HomeHook
from budgetbot.alerts.decide import Reason
from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.notifiers import Notifier
from budgetbot.alerts.outbox import digest_key, enqueue_digest
from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient, IonQError
from budgetbot.logs import configure as configure_logging
from budgetbot.render.digest import digest_text
from budgetbot.render.terminal import render_alert, render_report
from budgetbot.reports.build import Report
from budgetbot.reports.fetch import fetch_digest, fetch_report
from budgetbot.reports.grammar import (
    GROUPINGS,
    MODALITIES,
    GrammarError,
    did_you_mean,
    parse_range,
)
from budgetbot.rules import PolicyLoadError, PolicySet, format_errors, load_policies
from budgetbot.rules.models import Digest, policy_json_schema
from budgetbot.scheduler import DEFAULT_GRACE, Job, Scheduler, last_time
from budgetbot.settings import MissingSetting, Settings
from budgetbot.store import SchemaTooNew, Store
from budgetbot.usage import UsageDataError, UsageSource
from budgetbot.usage.cache import UsageCache

__all__ = ["main"]

log = logging.getLogger("budgetbot")

T = TypeVar("T")


class SuggestingChoice(click.Choice[str]):
    """A choice whose error names the valid words and the likely intended one."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() in self.choices:
            return value.lower()
        hint = did_you_mean(str(value), [str(c) for c in self.choices])
        valid = ", ".join(str(c) for c in self.choices)
        extra = f"; did you mean {hint!r}?" if hint else ""
        self.fail(f"{value!r} is not one of {valid}{extra}", param, ctx)


class NowType(click.ParamType[dt.datetime]):
    """An ISO-8601 instant; a time without an offset is taken as UTC."""

    name = "ISO-8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time such as 2026-11-20T12:00:00Z", param, ctx)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)


NOW = NowType()


def now_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--now",
        type=NOW,
        default=None,
        help="Pretend the current time is this ISO-8601 instant (default: the clock).",
    )(f)


def _now(value: dt.datetime | None) -> dt.datetime:
    return value if value is not None else dt.datetime.now(dt.UTC)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn expected failures into one-line errors (exit 1) instead of tracebacks."""
    try:
        yield
    except (IonQError, MissingSetting, UsageDataError, SchemaTooNew) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        # The driver's first line says what failed; the rest repeats SQL and links.
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(f"the database (DATABASE_URL) failed: {detail}") from None
    except GrammarError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if exc.suggestion else ""
        raise click.UsageError(exc.message + hint) from None


def _client(settings: Settings) -> IonQClient:
    base_url, org_id, key = settings.require_ionq()
    return IonQClient(base_url, org_id, key)


def _decimal_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def report_json(report: Report) -> str:
    """The report as JSON: money as decimal strings, bounds as ``{low, high, exact}``."""

    def bound(b: Any) -> Any:
        return None if b is None else {"low": b.low, "high": b.high, "exact": b.exact}

    doc = {
        "grouping": report.grouping,
        "modality": report.modality,
        "start": report.start,
        "end_exclusive": report.end,
        "unit": "USD",
        "columns": [
            {"start": c.start, "end_exclusive": c.end, "partial": c.partial} for c in report.columns
        ],
        "rows": [
            {
                "key": r.key,
                "name": r.name,
                "cells": [
                    {"listed": c.listed, "at_most": c.cap if c.listed is None else c.listed}
                    for c in r.cells
                ],
                "total": bound(r.total),
            }
            for r in report.rows
        ],
        "other": list(report.other),
        "totals": list(report.totals),
        "qpu_hours": list(report.qpu_hours),
        "jobs": list(report.jobs),
        "grand_total": report.grand_total,
        "ionq_amount_total": report.reported_total,
        "notes": list(report.notes),
    }
    return json.dumps(doc, default=_decimal_default, indent=2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="budgetbot")
def main() -> None:
    """budgetbot: budget policies, alerts and reports for IonQ Quantum Cloud spend.

    Settings come from the environment or a .env file: IONQ_API_KEY, IONQ_ORG_ID,
    IONQ_BASE_URL, SLACK_BOT_TOKEN, DATABASE_URL, BUDGETBOT_POLICIES (see the README).
    Try `budgetbot demo` to see everything against a simulated organization.
    """
    configure_logging()


@main.command()
@click.argument("grouping", type=SuggestingChoice(GROUPINGS), default="project")
@click.argument("modality", type=SuggestingChoice(MODALITIES), default="weekly")
@click.argument("range_text", metavar="[RANGE]", required=False)
@now_option
@click.option(
    "--top",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Itemized rows at most.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    metavar="FILE",
    help="Also write the report's chart (spend per bucket by group) to FILE as PNG.",
)
def report(
    grouping: str,
    modality: str,
    range_text: str | None,
    now: dt.datetime | None,
    top: int,
    as_json: bool,
    png_path: Path | None,
) -> None:
    """Show spend by group and time bucket, as the slash command does.

    GROUPING is project, user, job or org; MODALITY daily, weekly or monthly (the bucket size);
    RANGE is 7d, 4w, 3m, this-month, last-month, this-week, last-week or
    YYYY-MM-DD..YYYY-MM-DD (default: four buckets up to today). Figures outside IonQ's
    top-5 lists are marked as bounds. Reads IONQ_API_KEY, IONQ_ORG_ID, IONQ_BASE_URL.

    Example: budgetbot report project weekly 4w --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    with friendly_errors():
        parse_range(range_text, modality, at.date())  # a usage error needs no settings
    with friendly_errors(), _client(Settings()) as client:
        result = fetch_report(UsageSource(client), grouping, modality, range_text, at, top=top)
    click.echo(report_json(result) if as_json else render_report(result), nl=False)
    if as_json:
        click.echo()
    if png_path is not None:
        # Imported here: matplotlib costs half a second to import, and only charts need it.
        from budgetbot.render.chart import report_chart

        try:
            png_path.write_bytes(report_chart(result))
        except OSError as exc:
            raise click.ClickException(f"cannot write {png_path}: {exc.strerror or exc}") from None
        click.echo(f"Chart written to {png_path}", err=True)


def policies_option(f: Callable[..., T]) -> Callable[..., T]:
    return click.option(
        "--policies",
        "policies_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Policy file or folder (default: BUDGETBOT_POLICIES, else ./policies).",
    )(f)


def _load(path: Path) -> PolicySet:
    """Load policies or exit 1 with every error, one per line."""
    try:
        return load_policies(path)
    except PolicyLoadError as exc:
        click.echo(format_errors(exc.errors), err=True)
        raise SystemExit(1) from None


@main.command()
@click.argument("path", type=click.Path(path_type=Path), required=False)
def validate(path: Path | None) -> None:
    """Check policy files; every error names its file, line and field.

    PATH is a policy file or a folder of them (default: BUDGETBOT_POLICIES, else ./policies).
    Exits 1 when any file has an error, listing all of them.

    Example: budgetbot validate policies/
    """
    target = path or Settings().budgetbot_policies
    rules = _load(target)
    click.echo(
        f"{target}: {len(rules.files)} file(s) OK: {len(rules.policies)} policies,"
        f" {len(rules.anomalies)} anomaly watches, {len(rules.digests)} digests"
    )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the policy file format (for editors).

    Example: budgetbot schema > policy.schema.json
    """
    click.echo(json.dumps(policy_json_schema(), indent=2))


def _print_cycle(result: CycleResult, now: dt.datetime, *, dry_run: bool) -> None:
    for d in result.decisions:
        if dry_run and d.notify:
            click.echo(
                render_alert(d.finding, channel=d.finding.channel, threaded=False)
                + f"    -> would notify: {d.reason.value}"
            )
        elif not d.notify and d.reason in (Reason.UNCERTAIN, Reason.SNOOZED):
            why = d.reason.value
            if d.reason is Reason.SNOOZED and d.until is not None:
                why = f"SNOOZED until {d.until:%Y-%m-%d %H:%M} UTC"
            click.echo(
                f"  not notified ({why}): {d.finding.rule} {d.finding.kind}"
                f" {d.finding.level_text}% for {d.finding.group_name}",
                err=True,
            )
    for note, error in result.failed:
        click.echo(
            f"  not delivered (kept for the next cycle): {note.dedup_key}: {error}", err=True
        )
    for waiting in result.waiting:
        click.echo(f"  left to the live process delivering it: {waiting}", err=True)
    click.echo(
        f"check at {now:%Y-%m-%dT%H:%MZ}: {result.queries} IonQ queries,"
        f" {len(result.findings)} findings, {len(result.to_notify)} to notify"
        + ("" if dry_run else f", {len(result.sent)} sent, {len(result.failed)} failed")
        + (f", {len(result.waiting)} being sent by another process" if result.waiting else ""),
        err=True,
    )


@main.command()
@now_option
@policies_option
@click.option("--dry-run", is_flag=True, help="Show what would be sent; record nothing.")
def check(now: dt.datetime | None, policies_path: Path | None, dry_run: bool) -> None:
    """Run one evaluation cycle: fetch usage, evaluate policies, send what is due.

    A threshold fires once per policy, group, period and level; state is kept in DATABASE_URL
    (default sqlite:///budgetbot.db). Without SLACK_BOT_TOKEN alerts print here. Exits 1 when
    a notification could not be delivered (it stays queued for the next cycle).

    Example: budgetbot check --dry-run --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    notifiers = _notifiers(settings)
    with friendly_errors(), _client(settings) as client:
        store = settings.store()
        result = run_check(
            rules,
            UsageSource(client, cache=UsageCache(client, store), today=at.date()),
            store,
            notifiers,
            at,
            dry_run=dry_run,
            notice_channel=_notice_channel(settings, rules),
            home=None if dry_run else _home_hook(settings, store),
        )
    _print_cycle(result, at, dry_run=dry_run)
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
    with friendly_errors(), _client(settings) as client:
        timeline = run_backtest(rules, UsageSource(client), times)
        scores = score_forecasts(rules, UsageSource(client), start.date(), end.date())
    for line in timeline.lines():
        click.echo(line)
    click.echo()
    for line in score_lines(scores):
        click.echo(line)
    click.echo(f"{len(timeline.entries)} notifications over {len(times)} evaluations", err=True)


def _notice_channel(settings: Settings, rules: PolicySet) -> str | None:
    """Where operational notices go: the default channel, else the first rule's channel."""
    if settings.budgetbot_default_channel:
        return settings.budgetbot_default_channel
    return next((p.channel for p in rules.policies if p.channel), None)


def _home_hook(settings: Settings, store: Store) -> HomeHook | None:
    """After each cycle, refresh the App Home of those who opened it (with SLACK_BOT_TOKEN)."""
    if settings.slack_bot_token is None:
        return None
    from budgetbot.slack.deliver import make_web_client
    from budgetbot.slack.listeners.events import HomeRefresher

    client = make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return HomeRefresher(client, store, user_report_viewers=settings.user_report_viewers)


def _notifiers(settings: Settings) -> list[Notifier]:
    """This process's notifiers: Slack when SLACK_BOT_TOKEN is set, else the terminal."""
    if settings.slack_bot_token is None:
        return [ConsoleNotifier(sys.stdout)]
    from budgetbot.slack.deliver import make_web_client
    from budgetbot.slack.notifier import SlackNotifier

    client = make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return [SlackNotifier(client, default_channel=settings.budgetbot_default_channel)]


def _post_digest(
    digest: Digest,
    rules: PolicySet,
    source: UsageSource,
    store: Store,
    scheduled_for: dt.datetime,
    now: dt.datetime,
) -> bool:
    """Build a digest and put it in the outbox once per scheduled time; True if it was new."""
    if store.notification(digest_key(digest.name, scheduled_for)) is not None:
        return False  # already queued (a restart, another clock process): no need to fetch
    report = fetch_digest(digest, rules, source, scheduled_for, now)
    return enqueue_digest(store, report, scheduled_for, now) is not None


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
    with friendly_errors(), _client(settings) as client:
        store = settings.store()
        source = UsageSource(client, cache=UsageCache(client, store), today=at.date())
        if dry_run:
            for d in chosen:
                click.echo(digest_text(fetch_digest(d, rules, source, at, at)))
            return
        for d in chosen:
            _post_digest(d, rules, source, store, at, at)
        sent, failed = deliver_pending(store, _notifiers(settings), at)
    for _note, error in failed:
        click.echo(f"not delivered (kept for the next cycle): {error}", err=True)
    click.echo(f"digest: {len(sent)} sent, {len(failed)} failed", err=True)
    if failed:
        raise SystemExit(1)


@main.command()
@policies_option
@click.option(
    "--grace",
    type=click.IntRange(0, 7 * 24),
    default=int(DEFAULT_GRACE.total_seconds() // 3600),
    show_default=True,
    help="Hours within which a digest missed while down is still posted.",
)
@click.option("--clock-start", type=NOW, default=None, hidden=True)
@click.option("--clock-rate", type=float, default=1.0, hidden=True)
@click.option("--clock-anchor", type=float, default=None, hidden=True)
def schedule(
    policies_path: Path | None,
    grace: int,
    clock_start: dt.datetime | None,
    clock_rate: float,
    clock_anchor: float | None,
) -> None:
    """Run the clock process: the check cycle and the digests on their schedules.

    The check cycle runs on BUDGETBOT_CHECK_SCHEDULE (cron, UTC; default every 15 minutes);
    each digest on its own `schedule:` in its `timezone:`. A digest is posted once per
    scheduled time, even across restarts and with several clock processes on one
    DATABASE_URL; one missed while the process was down is posted when it returns, if within
    --grace hours. Stops cleanly on SIGTERM or Ctrl-C.

    Example: budgetbot schedule
    """
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    # --clock-anchor (a Unix time) lets several processes share one simulated clock.
    started = (
        dt.datetime.fromtimestamp(clock_anchor, dt.UTC) if clock_anchor else dt.datetime.now(dt.UTC)
    )
    base = clock_start or started

    def clock() -> dt.datetime:
        # --clock-start/--clock-rate run a simulated clock (tests, rehearsals); 1.0 is real time.
        return base + (dt.datetime.now(dt.UTC) - started) * clock_rate

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with friendly_errors(), _client(settings) as client:
        store = settings.store()
        notifiers = _notifiers(settings)
        home = _home_hook(settings, store)
        cache = UsageCache(client, store)  # settled buckets and in-flight calls, shared

        def check_job(when: dt.datetime) -> None:
            now = clock()
            run_check(
                rules,
                UsageSource(client, cache=cache, today=now.date()),
                store,
                notifiers,
                now,
                notice_channel=_notice_channel(settings, rules),
                home=home,
            )

        def digest_job(d: Digest) -> Callable[[dt.datetime], None]:
            def run(when: dt.datetime) -> None:
                now = clock()
                source = UsageSource(client, cache=cache, today=now.date())
                if _post_digest(d, rules, source, store, when, now):
                    log.info("digest %s for %s queued", d.name, when.isoformat())
                deliver_pending(store, notifiers, now)

            return run

        jobs = [Job("check", settings.budgetbot_check_schedule, "UTC", check_job)]
        jobs += [
            Job(
                f"digest {d.name}",
                d.schedule,
                d.timezone,
                digest_job(d),
                grace=dt.timedelta(hours=grace),
            )
            for d in rules.digests
        ]
        click.echo(
            f"budgetbot schedule: {len(jobs)} job(s);"
            f" check on {settings.budgetbot_check_schedule!r}",
            err=True,
        )
        Scheduler(jobs, clock=clock, wait=lambda s: stop.wait(s / clock_rate)).run()
    click.echo("budgetbot schedule: stopped", err=True)


@main.group()
def db() -> None:
    """Manage the state store (DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to this budgetbot's version.

    Safe to run on every deploy (the Procfile's release step does) and from several processes
    at once. Reads DATABASE_URL (default sqlite:///budgetbot.db).

    Example: DATABASE_URL=postgresql://bot@db/budgetbot budgetbot db upgrade
    """
    settings = Settings()
    with friendly_errors():
        store = settings.store()
        version = store.schema_version()
        store.close()
    click.echo(f"database schema at version {version}")


@main.command()
@now_option
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated organization.")
@policies_option
def demo(now: dt.datetime | None, seed: int, policies_path: Path | None) -> None:
    """Run the whole pipeline against a simulated IonQ organization, output in the terminal.

    Starts the simulator on a free loopback port, points the real IonQ client at it over HTTP,
    prints a project-weekly report, runs one check cycle of the example policies (from
    ./policies, or the copies shipped with budgetbot) with throwaway state, and shows each
    digest as last scheduled. Needs no settings and no network; with SLACK_BOT_TOKEN set the
    alerts and digests are posted to Slack instead of printed.

    Example: budgetbot demo --now 2026-11-20T12:00:00Z
    """
    from budgetbot.sim import SimOrg, SimServer, example_policies

    at = _now(now)
    path = policies_path or (Path("policies") if Path("policies").is_dir() else example_policies())
    rules = _load(path)
    org = SimOrg(seed=seed)
    with (
        SimServer(org, now=at) as server,
        IonQClient(server.base_url, org.org_id, server.api_key) as client,
        friendly_errors(),
    ):
        click.echo(f"Simulated IonQ organization {org.org_id!r} at {server.base_url}")
        click.echo(f"Now: {at:%Y-%m-%d %H:%M} UTC; policies: {path}\n")
        source = UsageSource(client)
        click.echo(render_report(fetch_report(source, "project", "weekly", None, at)))
        notifiers = _notifiers(Settings())
        store = Store.memory()
        click.echo("Alerts due (one check cycle):\n")
        result = run_check(rules, source, store, notifiers, at)
        _print_cycle(result, at, dry_run=False)
        for d in rules.digests:
            scheduled = last_time(d.schedule, d.timezone, at)
            click.echo(f"\nDigest {d.name!r} as last scheduled ({scheduled:%Y-%m-%d %H:%M} UTC):\n")
            _post_digest(d, rules, source, store, scheduled, at)
        deliver_pending(store, notifiers, at)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=3000,
    envvar="PORT",
    show_envvar=True,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="HTTP worker threads (each holds a Slack request only until it is acknowledged).",
)
@click.option(
    "--socket-mode",
    is_flag=True,
    help="Connect to Slack over Socket Mode with SLACK_APP_TOKEN instead of serving HTTP"
    " (local use without a public URL). Never automatic: a set SLACK_APP_TOKEN alone does"
    " not change how serve runs.",
)
@policies_option
@now_option
def serve(
    host: str,
    port: int,
    threads: int,
    socket_mode: bool,
    policies_path: Path | None,
    now: dt.datetime | None,
) -> None:
    """Serve Slack: /ionq-usage at /slack/events, health at /healthz.

    The web process. Runs the Slack app under waitress, a production WSGI server: POST
    /slack/events takes Slack's signed requests (401 and nothing else for a missing, wrong,
    malformed or stale signature; 400 for a signed but malformed body), GET /healthz answers
    {"status": "ok"}. Slash commands are acknowledged at once and answered through their
    response_url when IonQ has replied. Exits 1 at start-up when SLACK_SIGNING_SECRET is
    missing or Slack refuses SLACK_BOT_TOKEN. With --socket-mode it connects out to Slack over
    a WebSocket instead (SLACK_APP_TOKEN; no public URL needed; exits 1 if Slack refuses it).

    Reads SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN (--socket-mode), SLACK_API_URL,
    IONQ_API_KEY, IONQ_ORG_ID, IONQ_BASE_URL, BUDGETBOT_POLICIES and PORT (--port).
    --now ISO-8601 pins every request's clock (demos and tests).

    Example: budgetbot serve --port 3000
    """
    from budgetbot.alerts.health import HealthProbe
    from budgetbot.slack.app import (
        SlackStartupError,
        build_app,
        deps_from_settings,
        run_socket_mode,
        utc_now,
    )
    from budgetbot.slack.web import create_wsgi_app, serve_http

    log = logging.getLogger("budgetbot.serve")
    settings = Settings()
    rules = _load(policies_path or settings.budgetbot_policies)
    if not (settings.ionq_api_key and settings.ionq_org_id):
        log.warning(
            "IONQ_API_KEY or IONQ_ORG_ID is not set: /ionq-usage will answer that budgetbot"
            " is not connected to IonQ"
        )
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if socket_mode and not app_token:
        raise click.ClickException(
            "SLACK_APP_TOKEN is not set: --socket-mode needs the app-level token (xapp-…)"
        )
    if app_token and not socket_mode:
        log.info("SLACK_APP_TOKEN is set but unused: serving HTTP (--socket-mode uses it)")
    deps = deps_from_settings(settings, rules, now=(lambda: now) if now else utc_now)
    try:
        app = build_app(settings, deps)
    except SlackStartupError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if socket_mode:
            try:
                run_socket_mode(app, app_token)
            except SlackStartupError as exc:
                raise click.ClickException(str(exc)) from None
        else:
            probe = HealthProbe(settings.store(), settings.budgetbot_check_schedule, deps.now)
            secret = settings.slack_signing_secret
            serve_http(
                create_wsgi_app(
                    app,
                    signing_secret=secret.get_secret_value() if secret else "",
                    checks=probe.checks(),
                    info=probe.info,
                ),
                host=host,
                port=port,
                threads=threads,
                on_listen=lambda h, p: log.info(
                    "budgetbot serving Slack at http://%s:%d/slack/events"
                    " (%d policies, %d threads)",
                    h,
                    p,
                    len(rules.policies),
                    threads,
                ),
            )
    finally:
        deps.close()
    log.info("budgetbot stopped")
