"""The ``budgetbot`` command line: one function per command; each reads the clock once."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import click

from budgetbot.alerts.backtest import replay_times, run_backtest
from budgetbot.alerts.console import ConsoleSink
from budgetbot.alerts.cycle import CycleResult, run_check
from budgetbot.alerts.decide import Reason
from budgetbot.ionq import GroupBy, IonQClient, IonQError, Modality, UsageQuery
from budgetbot.render.terminal import render_alert, render_report
from budgetbot.reports.build import Report, build_report, report_query_grouping
from budgetbot.reports.grammar import (
    GROUPINGS,
    MODALITIES,
    GrammarError,
    did_you_mean,
    parse_range,
)
from budgetbot.rules import PolicyLoadError, PolicySet, format_errors, load_policies
from budgetbot.rules.models import policy_json_schema
from budgetbot.settings import MissingSetting, Settings
from budgetbot.store import Store
from budgetbot.usage import UsageDataError, UsageSource

__all__ = ["main"]

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
    except (IonQError, MissingSetting, UsageDataError) as exc:
        raise click.ClickException(str(exc)) from None
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


def fetch_report(
    source: UsageSource,
    grouping: str,
    modality: str,
    range_text: str | None,
    now: dt.datetime,
    *,
    top: int = 10,
) -> Report:
    """Fetch what a report needs and build it (shared by ``report``, ``demo`` and Slack)."""
    start, end = parse_range(range_text, modality, now.date())
    query = UsageQuery(
        group_by=GroupBy(report_query_grouping(grouping)),
        modality=Modality(modality),
        start=start,
        end=end,
    )
    return build_report(source.series(query), grouping, now, top=top)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="budgetbot")
def main() -> None:
    """budgetbot: budget policies, alerts and reports for IonQ Quantum Cloud spend.

    Settings come from the environment or a .env file: IONQ_API_KEY, IONQ_ORG_ID,
    IONQ_BASE_URL, SLACK_BOT_TOKEN, DATABASE_URL, BUDGETBOT_POLICIES (see the README).
    Try `budgetbot demo` to see everything against a simulated organization.
    """


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
def report(
    grouping: str,
    modality: str,
    range_text: str | None,
    now: dt.datetime | None,
    top: int,
    as_json: bool,
) -> None:
    """Show spend by group and time bucket, as the slash command does.

    GROUPING is project, user, job or org; MODALITY daily, weekly or monthly (the bucket size);
    RANGE is 7d, 4w, 3m, this-month, last-month, this-week, last-week or
    YYYY-MM-DD..YYYY-MM-DD (default: four buckets up to today). Figures outside IonQ's
    top-5 lists are marked as bounds. Reads IONQ_API_KEY, IONQ_ORG_ID, IONQ_BASE_URL.

    Example: budgetbot report project weekly 4w --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    with friendly_errors(), _client(Settings()) as client:
        result = fetch_report(UsageSource(client), grouping, modality, range_text, at, top=top)
    click.echo(report_json(result) if as_json else render_report(result), nl=False)
    if as_json:
        click.echo()


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
        elif not d.notify and d.reason is Reason.UNCERTAIN:
            click.echo(
                f"  not notified ({d.reason.value}): {d.finding.rule} {d.finding.kind}"
                f" {d.finding.level_text}% for {d.finding.group_name}",
                err=True,
            )
    click.echo(
        f"check at {now:%Y-%m-%dT%H:%MZ}: {result.queries} IonQ queries,"
        f" {len(result.findings)} findings, {len(result.to_notify)} to notify"
        + ("" if dry_run else f", {len(result.sent)} sent, {len(result.failed)} failed"),
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
    with friendly_errors(), _client(settings) as client:
        store = Store(settings.database_url)
        result = run_check(
            rules, UsageSource(client), store, ConsoleSink(sys.stdout), at, dry_run=dry_run
        )
    _print_cycle(result, at, dry_run=dry_run)
    if result.failed:
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
    """Replay history: which alerts would have fired, and when.

    Evaluates the policies at every check time (or at the end of every day) between --from and
    --to against IonQ's history, with throwaway state, and prints the timeline. IonQ reports past
    days whole, so an alert that a live check would see late in a day may show at the day's
    first step here.

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
    for line in timeline.lines():
        click.echo(line)
    click.echo(f"{len(timeline.entries)} notifications over {len(times)} evaluations", err=True)


@main.command()
@now_option
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated organization.")
@policies_option
def demo(now: dt.datetime | None, seed: int, policies_path: Path | None) -> None:
    """Run the whole pipeline against a simulated IonQ organization, output in the terminal.

    Starts the simulator on a free loopback port, points the real IonQ client at it over HTTP,
    prints a project-weekly report, then runs one check cycle of the example policies (from
    ./policies, or the copies shipped with budgetbot) with throwaway state. Needs no settings
    and no network.

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
        click.echo("Alerts due (one check cycle):\n")
        result = run_check(rules, source, Store.memory(), ConsoleSink(sys.stdout), at)
    _print_cycle(result, at, dry_run=False)
