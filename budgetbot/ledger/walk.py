"""Walking IonQ's completed jobs into the ledger, and the ledger as a :class:`LedgerView`.

Per call, for each key (``IONQ_API_KEY`` first, then every project key): ``GET /whoami`` once per
process (:class:`~budgetbot.ionq.keys.KeyRing`), then ``GET /jobs?status=completed`` page by page,
newest first, until the jobs submitted before the key's mark; each job not in the ledger yet is
asked its billed cost (``GET /jobs/{id}/cost``) once.

IonQ lists jobs by *submission* time, and a job is listed as completed only once it ran: a job
submitted before the last walk may complete after it. So a walk goes back :data:`QUEUE_WINDOW`
(longer than any job waits and runs) before the previous walk's start; the first walk of a key goes
back to ``start`` less that window, so every job *billed* from ``start`` on is seen. A job
completes — and is billed, as the usage API counts it — on the UTC day of ``completed_at``.

A completed job whose ``cost`` IonQ does not give yet is asked again on later calls, for
:data:`SETTLE_WINDOW` after it completed; after that it stays unbilled and its day is never
complete. A key IonQ refuses (401/403) is logged by its setting's label and its project is not
covered; IonQ failing otherwise raises ``IonQError``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from budgetbot.ionq import (
    IonQAuthError,
    IonQClient,
    IonQError,
    IonQNotFound,
    IonQResponseError,
    Job,
    JobCostAmount,
    Whoami,
)
from budgetbot.ionq.keys import KeyRing
from budgetbot.store import LedgerEntry, LedgerMark, Store
from budgetbot.usage.measures import Figures

from .model import LedgerDay, LedgerView

__all__ = ["MIN_INTERVAL", "QUEUE_WINDOW", "REQUEST_KINDS", "SETTLE_WINDOW", "LedgerReader"]

log = logging.getLogger("budgetbot.ledger")

#: The kinds of IonQ request a view counts (``LedgerView.requests``).
REQUEST_KINDS: Final = ("whoami", "jobs", "cost")
#: How long after completing a job may still have no billed ``cost``: asked again until then.
SETTLE_WINDOW: Final = dt.timedelta(days=2)
#: Longer than any job takes from submission to completion (the simulator: at most 32 hours):
#: how far before the previous walk a walk looks for jobs that completed since.
QUEUE_WINDOW: Final = dt.timedelta(days=2)
#: Jobs per listing page (IonQ's most).
PAGE_SIZE: Final = 100

_ZERO = Decimal(0)
_ONE_DAY = dt.timedelta(days=1)
#: Views asked within this long of a walk read the ledger as that walk left it.
MIN_INTERVAL: Final = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class _Walked:
    """One walk of every key: when, from which day, the projects covered, the first full day."""

    at: dt.datetime
    start: dt.date
    covered: frozenset[str]
    first: dt.date


class LedgerReader:
    """Walks the completed jobs of ``clients`` (one per key, the organization's first, e.g. from
    :meth:`IonQClient.with_key`) into ``store`` and reads the ledger back as a view.

    Thread-safe: views are taken one at a time, so a job's cost is never asked twice at once.
    """

    def __init__(
        self,
        clients: Sequence[IonQClient],
        store: Store,
        *,
        page_size: int = PAGE_SIZE,
        settle_window: dt.timedelta = SETTLE_WINDOW,
        queue_window: dt.timedelta = QUEUE_WINDOW,
        min_interval: dt.timedelta = MIN_INTERVAL,
    ) -> None:
        self.keys = KeyRing(clients, log)
        self.store = store
        self.page_size = page_size
        self.settle_window = settle_window
        self.queue_window = queue_window
        self.min_interval = min_interval
        self._last: _Walked | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LedgerReader(keys={[c.key_label for c in self.keys.clients]!r})"

    def view(self, start: dt.date, end: dt.date, now: dt.datetime) -> LedgerView:
        """The ledger over ``[start, end)`` at ``now``, after walking what completed since the
        last call. ``start`` is how far back the caller needs figures (the longest open period):
        a first walk back-fills only that far. Within ``min_interval`` of a walk that reached
        back to ``start``, no walk: the view is the ledger as that walk left it (its ``at``).

        Raises ``IonQError`` when IonQ cannot be read (an outage, an answer refused, or every key
        refused); a single refused key only leaves its project uncovered.
        """
        with self._lock:
            before = self.keys.requests()
            last = self._last
            if (
                last is None
                or start < last.start
                or not dt.timedelta(0) <= now - last.at < self.min_interval
            ):
                last = self._last = self._walk_all(start, now)
            # else: walked a moment ago (many views of one run, or several slash commands at
            # once): the ledger as that walk left it
            entries = self.store.ledger_days(start, end)
            days = {
                day: _day(day, [e for e in entries if e.day == day])
                for day in _days(max(last.first, start), min(end, last.at.date() + _ONE_DAY))
            }
            covered = set(last.covered)
            projects = self.store.group_names("project")
            seen = {e.project_id for e in entries if e.project_id is not None}
            spent = self.keys.requests() - before
            return LedgerView(
                at=last.at,
                start=start,
                end=end,
                days=days,
                covered=frozenset(covered),
                known=frozenset(covered | projects.keys() | seen),
                names={**self.store.group_names("user"), **projects},
                requests={kind: spent[kind] for kind in REQUEST_KINDS},
            )

    # -- the walk ---------------------------------------------------------------------------------

    def _walk_all(self, start: dt.date, now: dt.datetime) -> _Walked:
        """Walk every key (each project once), then ask again the costs not billed yet."""
        covered: set[str] = set()
        walked: list[dt.date] = []
        refused: list[IonQAuthError] = []
        usable: set[int] = set()
        listed: set[str | None] = set()
        for index, client in enumerate(self.keys.clients):
            try:
                who = self.keys.who(index)
                # Two keys of one project (the organization's key names one) list the same
                # jobs: the first one walks them.
                if who.project_id not in listed:
                    walked.append(self._walk(who, client, start, now))
                    listed.add(who.project_id)
            except IonQAuthError as exc:
                self.keys.refused(index, exc, "the ledger of that key's project")
                refused.append(exc)
                continue
            usable.add(index)
            if who.project_id is not None:
                covered.add(who.project_id)
        if len(refused) == len(self.keys.clients):
            raise refused[0]
        self._settle(now, usable)
        return _Walked(now, start, frozenset(covered), max(walked))

    def _walk(self, who: Whoami, client: IonQClient, start: dt.date, now: dt.datetime) -> dt.date:
        """Walk one key's completed jobs into the store; returns the first day it has walked."""
        wanted = dt.datetime.combine(start, dt.time(), dt.UTC) - self.queue_window
        mark = self.store.ledger_mark(who.key_id)
        if mark is not None and mark.since <= wanted:
            since, stop = mark.since, mark.walked_at - self.queue_window
        else:
            since = stop = wanted  # a first walk, or one that must reach further back
        first = dt.datetime.combine(start, dt.time(), dt.UTC)
        new: list[Job] = []
        for page in client.job_pages("completed", limit=self.page_size):
            listed = [j for j in page if j.submitted_at is None or j.submitted_at >= stop]
            known = self.store.ledger_entries(j.id for j in listed)
            # A job billed before ``start`` is not wanted: no cost asked, nothing stored (a
            # walk that must reach further back lists it again).
            new.extend(
                j
                for j in listed
                if j.id not in known and (j.completed_at is None or j.completed_at >= first)
            )
            if len(listed) < len(page):
                break  # newest first: every later job was submitted before the mark
        self._record(new, client, now)
        self.store.set_ledger_mark(who.key_id, LedgerMark(since=since, walked_at=now))
        return _first_full_day(since + self.queue_window)

    def _record(self, jobs: Iterable[Job], client: IonQClient, now: dt.datetime) -> None:
        """Store these new jobs with their billed cost, asked once each."""
        entries: dict[str, LedgerEntry] = {}
        failing = False
        for job in jobs:
            if job.completed_at is None:
                log.warning("job %s is listed completed without completed_at: skipped", job.id)
                continue
            cost = None
            if not failing and job.id not in entries:
                try:
                    cost = _billed(client, job.id)
                except IonQAuthError:
                    raise
                except IonQError as exc:
                    # IonQ is failing: the remaining jobs are stored unbilled and asked again
                    # on a later walk, rather than each waiting out its own retries now.
                    log.warning("billed costs wait for a later walk: %s", exc)
                    failing = True
            entries[job.id] = _entry(job, cost, now)
        self.store.put_ledger_entries(list(entries.values()))

    def _settle(self, now: dt.datetime, usable: set[int]) -> None:
        """Ask again the cost of jobs not billed yet that completed within the settle window."""
        asked: list[LedgerEntry] = []
        for entry in self.store.unbilled_since(now - self.settle_window):
            if entry.asked_at is not None and entry.asked_at >= now:
                continue  # asked during this very walk
            client = self.keys.client_for(entry.project_id)
            if self.keys.clients.index(client) not in usable:
                continue
            try:
                cost = _billed(client, entry.job_id)
            except IonQAuthError as exc:
                usable.discard(self.keys.clients.index(client))
                log.warning("%s; billed costs of that key's jobs wait for a later walk", exc)
                continue
            except IonQError as exc:
                log.warning("billed costs wait for a later walk: %s", exc)
                break
            asked.append(_entry_with(entry, cost, now))
        self.store.update_ledger_costs(asked)


def _billed(client: IonQClient, job_id: str) -> JobCostAmount | None:
    """The job's billed cost; None when IonQ gives none (yet, or refuses this one answer).
    Raises ``IonQError`` when IonQ is failing or refuses the key."""
    try:
        return client.job_cost(job_id).cost
    except (IonQNotFound, IonQResponseError) as exc:
        log.warning("no billed cost for job %s this time: %s", job_id, exc)
        return None


def _entry(job: Job, cost: JobCostAmount | None, now: dt.datetime) -> LedgerEntry:
    assert job.completed_at is not None
    completed = job.completed_at.astimezone(dt.UTC)
    base = LedgerEntry(
        job_id=job.id,
        project_id=job.project_id,
        submitter_id=job.submitter_id,
        completed_at=completed,
        day=completed.date(),
        billed_us=job.billed_us,
    )
    return _entry_with(base, cost, now)


def _entry_with(entry: LedgerEntry, cost: JobCostAmount | None, now: dt.datetime) -> LedgerEntry:
    return LedgerEntry(
        job_id=entry.job_id,
        project_id=entry.project_id,
        submitter_id=entry.submitter_id,
        completed_at=entry.completed_at,
        day=entry.day,
        unit=None if cost is None else cost.unit,
        value=None if cost is None else cost.value,
        usd=None if cost is None else cost.usd,
        billed_us=entry.billed_us,
        asked_at=now,
    )


# -- the view -------------------------------------------------------------------------------------


def _day(day: dt.date, entries: Sequence[LedgerEntry]) -> LedgerDay:
    billed = [e for e in entries if e.billed]
    projects: dict[str, list[LedgerEntry]] = {}
    users: dict[str, list[LedgerEntry]] = {}
    for e in billed:
        if e.project_id is not None:
            projects.setdefault(e.project_id, []).append(e)
        users.setdefault(e.submitter_id, []).append(e)
    return LedgerDay(
        day=day,
        projects={p: _figures(es) for p, es in sorted(projects.items())},
        users={u: _figures(es) for u, es in sorted(users.items())},
        total=_figures(billed),
        unbilled=len(entries) - len(billed),
    )


def _figures(entries: Sequence[LedgerEntry]) -> Figures:
    """The sums of billed entries: USD only if every cost is in USD, QPU time only if IonQ gave
    every job's (an exact figure or none)."""
    usd = [e.usd for e in entries]
    time = [e.billed_us for e in entries]
    return Figures(
        usd=None if None in usd else sum((u for u in usd if u is not None), _ZERO),
        time_us=None if None in time else sum((t for t in time if t is not None), _ZERO),
        jobs=len(entries),
    )


def _first_full_day(moment: dt.datetime) -> dt.date:
    """The first UTC day that starts at or after ``moment``."""
    day = moment.astimezone(dt.UTC).date()
    return day if moment == dt.datetime.combine(day, dt.time(), dt.UTC) else day + dt.timedelta(1)


def _days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day < end:
        yield day
        day += dt.timedelta(days=1)
