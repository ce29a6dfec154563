"""``budgetbot schedule``: the clock process running the check cycle and the digests."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import click

from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.digests import post_digest
from budgetbot.alerts.pipeline import run_check
from budgetbot.rules.models import Digest
from budgetbot.scheduler import DEFAULT_GRACE, Job, Scheduler, scaled_clock
from budgetbot.settings import Settings

from .group import main
from .options import NOW, _load, friendly_errors, policies_option
from .runtime import Runtime, notice_channel

__all__ = ["schedule"]

log = logging.getLogger("budgetbot")


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
    # --clock-start/--clock-rate run a simulated clock (tests, rehearsals); 1.0 is real time.
    clock = scaled_clock(clock_start, clock_rate, clock_anchor)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with friendly_errors(), Runtime(settings, now=clock) as runtime:
        runtime.ionq()  # missing IonQ settings stop the process before it creates a database
        store = runtime.store()
        notifiers = runtime.notifiers()
        home = runtime.home_hook()
        queue_reader = runtime.queue_reader()  # asks IonQ only when a policy has committed_at
        actions = runtime.action_runtime()

        def check_job(when: dt.datetime) -> None:
            now = clock()
            run_check(
                rules,
                runtime.usage_source(at=now),
                store,
                notifiers,
                now,
                notice_channel=notice_channel(settings, rules),
                home=home,
                queue_reader=queue_reader,
                actions=actions,
            )

        def digest_job(d: Digest) -> Callable[[dt.datetime], None]:
            def run(when: dt.datetime) -> None:
                now = clock()
                source = runtime.usage_source(at=now)
                if post_digest(d, rules, source, store, when, now, queue_reader):
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
