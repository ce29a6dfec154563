"""``budgetbot report``: spend by group and time bucket, as a table, JSON or a chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from budgetbot.render.report_json import report_json
from budgetbot.render.terminal import render_report
from budgetbot.reports.fetch import fetch_report
from budgetbot.reports.grammar import GROUPINGS, MODALITIES, parse_range
from budgetbot.settings import Settings

from .group import main
from .options import SuggestingChoice, _now, friendly_errors, now_option
from .runtime import Runtime

__all__ = ["report"]


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
    top-5 lists are marked as bounds, unless BUDGETBOT_LEDGER (default off) is on and the job
    ledger makes them exact. Reads IONQ_API_KEY, IONQ_ORG_ID, IONQ_BASE_URL.

    Example: budgetbot report project weekly 4w --now 2026-11-20T12:00:00Z
    """
    at = _now(now)
    with friendly_errors():
        parse_range(range_text, modality, at.date())  # a usage error needs no settings
    with friendly_errors(), Runtime(Settings()) as runtime:
        source = runtime.usage_source(cached=False, at=at, ledger=True)
        result = fetch_report(source, grouping, modality, range_text, at, top=top)
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
