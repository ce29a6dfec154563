"""``budgetbot demo``: the whole pipeline against a simulated organization, in the terminal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.digests import post_digest
from budgetbot.alerts.pipeline import run_check
from budgetbot.render.terminal import render_report
from budgetbot.reports.fetch import fetch_report
from budgetbot.scheduler import last_time
from budgetbot.settings import Settings
from budgetbot.store import Store

from .cycle_output import print_cycle
from .group import main
from .options import _load, _now, friendly_errors, now_option, policies_option
from .runtime import Runtime

__all__ = ["demo"]


@main.command()
@now_option
@click.option("--seed", default=7, show_default=True, help="Seed of the simulated organization.")
@policies_option
def demo(now: dt.datetime | None, seed: int, policies_path: Path | None) -> None:
    """Run the whole pipeline against a simulated IonQ organization, output in the terminal.

    Starts the simulator on a free loopback port, points the real IonQ client at it over HTTP,
    prints a project-weekly report, runs one check cycle of the example policies (from
    ./policies, or the copies shipped with budgetbot) with throwaway state, and shows each
    digest as last scheduled. Twenty minutes before "now", Quantum Chem queues fifteen $400
    jobs: IonQ bills them only once they ran, but their estimate counts as committed spend at
    once (policies with committed_at). Needs no settings and no network; with SLACK_BOT_TOKEN
    set the alerts and digests are posted to Slack instead of printed.

    Example: budgetbot demo --now 2026-11-20T12:00:00Z
    """
    from budgetbot.sim import SimOrg, SimServer, example_policies
    from budgetbot.sim.examples import queue_demo_batch

    at = _now(now)
    path = policies_path or (Path("policies") if Path("policies").is_dir() else example_policies())
    rules = _load(path)
    org = SimOrg(seed=seed)
    queue_demo_batch(org, at)  # a team queues a batch: the committed alert's story
    with (
        SimServer(org, now=at) as server,
        Runtime(
            Settings(),
            ionq_endpoint=(server.base_url, org.org_id, server.api_key),
            # The simulated projects' keys: every queue is visible, as with all keys configured.
            ionq_project_keys=list(server.project_keys.values()),
            store=Store.memory(),
        ) as runtime,
        friendly_errors(),
    ):
        click.echo(f"Simulated IonQ organization {org.org_id!r} at {server.base_url}")
        click.echo(f"Now: {at:%Y-%m-%d %H:%M} UTC; policies: {path}\n")
        source = runtime.usage_source(cached=False)
        click.echo(render_report(fetch_report(source, "project", "weekly", None, at)))
        notifiers = runtime.notifiers()
        store = runtime.store()
        click.echo("Alerts due (one check cycle):\n")
        result = run_check(rules, source, store, notifiers, at, queue_reader=runtime.queue_reader())
        print_cycle(result, at, dry_run=False)
        for d in rules.digests:
            scheduled = last_time(d.schedule, d.timezone, at)
            click.echo(f"\nDigest {d.name!r} as last scheduled ({scheduled:%Y-%m-%d %H:%M} UTC):\n")
            post_digest(d, rules, source, store, scheduled, at, runtime.queue_reader())
        deliver_pending(store, notifiers, at)
