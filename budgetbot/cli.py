"""The ``budgetbot`` command line: one function per command; each reads the clock once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

import click

from budgetbot.ionq import GroupBy, IonQClient, IonQError, Modality, UsageQuery
from budgetbot.render.terminal import render_report
from budgetbot.reports.build import Report, build_report, report_query_grouping
from budgetbot.reports.grammar import (
    GROUPINGS,
    MODALITIES,
    GrammarError,
    did_you_mean,
    parse_range,
)
from budgetbot.settings import MissingSetting, Settings
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


@main.command()
@now_option
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated organization.")
def demo(now: dt.datetime | None, seed: int) -> None:
    """Run budgetbot against a simulated IonQ organization, output in the terminal.

    Starts the simulator on a free loopback port, points the real IonQ client at it over HTTP
    and prints what budgetbot would show. Needs no settings and no network.

    Example: budgetbot demo --now 2026-11-20T12:00:00Z
    """
    from budgetbot.sim import SimOrg, SimServer

    at = _now(now)
    org = SimOrg(seed=seed)
    with (
        SimServer(org, now=at) as server,
        IonQClient(server.base_url, org.org_id, server.api_key) as client,
        friendly_errors(),
    ):
        click.echo(f"Simulated IonQ organization {org.org_id!r} at {server.base_url}\n")
        source = UsageSource(client)
        click.echo(render_report(fetch_report(source, "project", "weekly", None, at)))
