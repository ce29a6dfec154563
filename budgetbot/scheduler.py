"""The clock process: the check cycle and the digests, each on its cron schedule.

Due times are pure functions of (cron, timezone, instant). The loop reads the time through an
injected ``clock`` and waits through an injected ``wait`` (an Event's wait, so SIGTERM ends it at
once). A job with a grace window that was due while the process was down runs once when it comes
back, and one that fails (IonQ down) is tried again every few minutes within that window; the
outbox's unique key makes "once" hold across restarts and across several processes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from croniter import croniter

__all__ = ["DEFAULT_GRACE", "Job", "Scheduler", "last_time", "next_time", "scaled_clock"]

log = logging.getLogger("budgetbot.schedule")

#: How late a missed digest may still be posted after the clock process was down.
DEFAULT_GRACE = dt.timedelta(hours=12)
#: How soon a failed job with a grace window (a digest while IonQ is down) is tried again.
RETRY_EVERY = dt.timedelta(minutes=5)


def next_time(cron: str, tz: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after ``after`` that ``cron`` names in ``tz``, in UTC."""
    local = after.astimezone(ZoneInfo(tz))
    found: dt.datetime = croniter(cron, local).get_next(dt.datetime)
    return found.astimezone(dt.UTC)


def last_time(cron: str, tz: str, at: dt.datetime) -> dt.datetime:
    """The latest time at or before ``at`` that ``cron`` names in ``tz``, in UTC."""
    local = (at + dt.timedelta(microseconds=1)).astimezone(ZoneInfo(tz))
    found: dt.datetime = croniter(cron, local).get_prev(dt.datetime)
    return found.astimezone(dt.UTC)


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def scaled_clock(
    start: dt.datetime | None = None,
    rate: float = 1.0,
    anchor: float | None = None,
    *,
    wall: Callable[[], dt.datetime] = _wall_clock,
) -> Callable[[], dt.datetime]:
    """The clock process's clock: ``wall`` itself by default, or a simulated one for tests and
    rehearsals that reads ``start`` at ``anchor`` and runs ``rate`` times as fast.

    ``anchor`` (a Unix time, default: now) lets several processes share one simulated clock;
    until it comes the clock reads ``start`` (a process that started early must not replay
    schedules from before ``start``).
    """
    started = dt.datetime.fromtimestamp(anchor, dt.UTC) if anchor else wall()
    base = start or started

    def clock() -> dt.datetime:
        return base + max(wall() - started, dt.timedelta(0)) * rate

    return clock


@dataclass(frozen=True)
class Job:
    """A named task run at each time its cron names; ``run`` gets that scheduled time."""

    name: str
    cron: str
    timezone: str
    run: Callable[[dt.datetime], None]
    #: Run a time missed while down if it is at most this old; None: never catch up.
    grace: dt.timedelta | None = None


class Scheduler:
    """Runs jobs at their scheduled times until ``wait`` reports a stop."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        clock: Callable[[], dt.datetime],
        wait: Callable[[float], bool],
    ) -> None:
        self.jobs = list(jobs)
        self.clock = clock
        self.wait = wait
        #: Jobs to try again: name -> (the scheduled time they run for, when to try).
        self.retries: dict[str, tuple[dt.datetime, dt.datetime]] = {}

    def _run(self, job: Job, scheduled: dt.datetime) -> bool:
        log.info("running %s for %s", job.name, scheduled.isoformat())
        try:
            job.run(scheduled)
        except Exception:  # one failing job must not stop the clock process
            log.exception("%s for %s failed", job.name, scheduled.isoformat())
            return False
        return True

    def _attempt(self, job: Job, scheduled: dt.datetime, now: dt.datetime) -> None:
        """Run a job; one with a grace window that fails is tried again until the window ends."""
        if self._run(job, scheduled) or job.grace is None:
            self.retries.pop(job.name, None)
            return
        retry_at = now + RETRY_EVERY
        if retry_at - scheduled <= job.grace:
            self.retries[job.name] = (scheduled, retry_at)
        else:
            log.error(
                "%s for %s given up: still failing at the end of its grace window",
                job.name,
                scheduled.isoformat(),
            )
            self.retries.pop(job.name, None)

    def catch_up(self, now: dt.datetime) -> None:
        """Run, once, each job whose latest due time was missed but is within its grace."""
        for job in self.jobs:
            if job.grace is None:
                continue
            last = last_time(job.cron, job.timezone, now)
            if now - last <= job.grace:
                self._attempt(job, last, now)

    def run(self) -> None:
        """Catch up, then run jobs as they fall due until stopped."""
        now = self.clock()
        self.catch_up(now)
        due = {job.name: next_time(job.cron, job.timezone, now) for job in self.jobs}
        by_name = {job.name: job for job in self.jobs}
        if due:
            first = min(due, key=lambda name: due[name])
            log.info("caught up; next: %s at %s", first, due[first].isoformat())
        while self.jobs:
            soonest = min([*due.values(), *(at for _, at in self.retries.values())])
            delay = (soonest - self.clock()).total_seconds()
            if delay > 0 and self.wait(delay):
                return
            now = self.clock()
            for name, (scheduled, at) in list(self.retries.items()):
                if at <= now and due[name] > now:
                    self._attempt(by_name[name], scheduled, now)
            for job in self.jobs:
                if due[job.name] <= now:
                    self._attempt(job, due[job.name], now)
                    due[job.name] = next_time(job.cron, job.timezone, max(now, due[job.name]))
