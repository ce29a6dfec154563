"""Reading IonQ's queue once per cycle: every key's jobs, their estimates, the names known.

Per cycle, for each key (``IONQ_API_KEY`` first, then every project key): one ``GET /whoami``
(only until it has answered once: a key's project does not change while the process runs) and
one ``GET /jobs?status=…`` per queued status, following ``next``. Each job id is asked its cost
(``GET /jobs/{id}/cost``) once: the estimate is kept in the store, so a steady cycle asks only
about jobs it has not seen before.

What is not known is left unknown, never guessed: a key IonQ refuses (401/403) is skipped with a
log line, and its project is not *covered*; a job whose cost call fails carries no estimate this
cycle and is asked again next cycle. IonQ failing as a whole raises ``IonQError``: the cycle
decides what that means.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from budgetbot.ionq import (
    IonQAuthError,
    IonQClient,
    IonQError,
    IonQNotFound,
    IonQResponseError,
    Job,
)
from budgetbot.ionq.keys import KeyRing
from budgetbot.store import JobEstimate, Store

from .model import QUEUED_STATUSES, QueuedJob, QueueSnapshot

__all__ = ["REQUEST_KINDS", "IonQQueueReader"]

log = logging.getLogger("budgetbot.queue")

#: The kinds of IonQ request a snapshot counts (``QueueSnapshot.requests``).
REQUEST_KINDS = ("whoami", "jobs", "cost")


@dataclass
class _Listing:
    """What the keys saw this cycle: each job once, with the key that listed it first."""

    jobs: dict[str, tuple[Job, IonQClient]] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    refused: list[IonQAuthError] = field(default_factory=list)


class IonQQueueReader:
    """Reads the queue with ``clients`` (one per key: the organization's key first, then the
    project keys, e.g. from :meth:`IonQClient.with_key`) and keeps estimates in ``store``.

    Implements :class:`budgetbot.queue.model.QueueReader`. Thread-safe: snapshots are taken one
    at a time, so two callers never ask the cost of the same new job twice.
    """

    def __init__(
        self,
        clients: Sequence[IonQClient],
        store: Store,
        *,
        page_size: int | None = None,
    ) -> None:
        self.keys = KeyRing(clients, log)
        self.clients = self.keys.clients
        self.store = store
        self.page_size = page_size
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"IonQQueueReader(keys={[c.key_label for c in self.clients]!r})"

    def snapshot(self, now: dt.datetime) -> QueueSnapshot:
        """The queue at ``now`` as every key together sees it.

        Raises ``IonQError`` when IonQ cannot be read (an outage, an answer refused, or every
        key refused); a single refused key only leaves its project uncovered.
        """
        with self._lock:
            before = self.keys.requests()
            listing = self._list()
            estimates = self._estimates(listing, now)
            projects = self.store.group_names("project")
            users = self.store.group_names("user")
            jobs = tuple(
                _queued(job, estimates.get(job_id))
                for job_id, (job, _) in sorted(listing.jobs.items())
            )
            seen_projects = {j.project_id for j in jobs if j.project_id is not None}
            spent = self.keys.requests() - before
            return QueueSnapshot(
                at=now,
                jobs=jobs,
                covered=frozenset(listing.covered),
                known=frozenset(listing.covered | projects.keys() | seen_projects),
                names={**users, **projects},
                requests={kind: spent[kind] for kind in REQUEST_KINDS},
            )

    # -- keys and listings ------------------------------------------------------------------------

    def _list(self) -> _Listing:
        listing = _Listing()
        for index, client in enumerate(self.clients):
            try:
                who = self.keys.who(index)
                # Statuses in the order jobs move through them: a job that moves on between two
                # calls is listed twice (kept once), never missed.
                found = [job for status in QUEUED_STATUSES for job in self._jobs(client, status)]
            except IonQAuthError as exc:
                self.keys.refused(index, exc, "the queue of that key's project")
                listing.refused.append(exc)
                continue
            if who.project_id is not None:
                listing.covered.add(who.project_id)
            for job in found:
                listing.jobs[job.id] = (job, listing.jobs.get(job.id, (job, client))[1])
        if len(listing.refused) == len(self.clients):
            raise listing.refused[0]
        return listing

    def _jobs(self, client: IonQClient, status: str) -> list[Job]:
        if self.page_size is None:
            return client.jobs(status)
        return client.jobs(status, limit=self.page_size)

    # -- estimates ---------------------------------------------------------------------------------

    def _estimates(self, listing: _Listing, now: dt.datetime) -> dict[str, JobEstimate]:
        """The stored estimate of every listed job, after asking IonQ about the new ones."""
        stored = self.store.job_estimates(listing.jobs)
        new: dict[str, JobEstimate] = {}
        refused: set[int] = set()
        missing = [job_id for job_id in listing.jobs if job_id not in stored]
        for position, job_id in enumerate(missing):
            client = listing.jobs[job_id][1]
            if id(client) in refused:
                continue
            try:
                cost = client.job_cost(job_id).estimated_cost
            except IonQAuthError as exc:
                log.warning("%s; estimates of that key's jobs wait for the next cycle", exc)
                refused.add(id(client))
                continue
            except (IonQNotFound, IonQResponseError) as exc:
                # This job only (gone since it was listed, or an answer refused): no estimate
                # now, asked again next cycle.
                log.warning("no estimate for job %s this cycle: %s", job_id, exc)
                continue
            except IonQError as exc:
                # IonQ is failing: the remaining jobs are asked next cycle rather than each
                # waiting out its own retries now.
                log.warning(
                    "estimates of %d new jobs wait for the next cycle: %s",
                    len(missing) - position,
                    exc,
                )
                break
            new[job_id] = JobEstimate(cost.unit, cost.value, cost.usd, now)
        if new:
            self.store.put_job_estimates(new)
        return {**stored, **new}


def _queued(job: Job, estimate: JobEstimate | None) -> QueuedJob:
    return QueuedJob(
        id=job.id,
        status=job.status,
        project_id=job.project_id,
        submitter_id=job.submitter_id,
        name=job.name,
        backend=job.backend,
        submitted_at=job.submitted_at,
        estimate_usd=None if estimate is None else estimate.usd,
        estimate_unit=None if estimate is None else estimate.unit,
        predicted_us=job.predicted_us,
    )
