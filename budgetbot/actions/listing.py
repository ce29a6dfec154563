"""A group's jobs as IonQ lists them now, each with a key that sees it; and cancelling them.

IonQ lists a key's own project's jobs, so every key is asked (the organization's first, then the
project keys) and a job is cancelled with the key that listed it. A project no key's ``/whoami``
names cannot be seen whole: an action on it says so rather than cancelling part of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from budgetbot.ionq import (
    IonQAuthError,
    IonQClient,
    IonQError,
    IonQNotFound,
    IonQRequestError,
    Job,
)

from .model import Proposal
from .plan import CANCELLABLE

__all__ = ["ActionFailed", "Cancelled", "Listing", "cancel", "canceled_ids", "list_group"]

log = logging.getLogger("budgetbot.actions")

#: The statuses an action lists: those it cancels, and ``started`` (reported, not cancelled).
LISTED = (*CANCELLABLE, "started")


class ActionFailed(Exception):
    """IonQ could not be asked, or refused: the action stops where it is and may be retried.
    ``done`` is what the cancel calls did before it stopped."""

    def __init__(self, message: str, done: Cancelled | None = None) -> None:
        super().__init__(message)
        self.done = done


@dataclass
class Listing:
    """The group's jobs now (each with the client that listed it), and what could not be seen."""

    jobs: dict[str, tuple[Job, IonQClient]] = field(default_factory=dict)
    #: Projects of the group no key sees (scope ``project``).
    unseen: list[str] = field(default_factory=list)


def _key_of(job: Job, scope: str) -> str | None:
    return job.project_id if scope == "project" else job.submitter_id


def list_group(clients: Sequence[IonQClient], proposal: Proposal) -> Listing:
    """The proposal's group's ``submitted``, ``ready`` and ``started`` jobs, as IonQ lists them.

    Raises :class:`ActionFailed` when IonQ cannot be read (every key refused, 429, 5xx, an
    outage).
    """
    groups = set(proposal.groups)
    listing = Listing()
    covered: set[str] = set()
    refused: list[IonQAuthError] = []
    for client in clients:
        try:
            who = client.whoami()
            found = [job for status in LISTED for job in client.jobs(status)]
        except IonQAuthError as exc:
            log.warning("%s; that key's jobs are not listed for the action", exc)
            refused.append(exc)
            continue
        except IonQError as exc:
            raise ActionFailed(f"IonQ could not list the jobs ({exc})") from exc
        if who.project_id is not None:
            covered.add(who.project_id)
        for job in found:
            if _key_of(job, proposal.scope) in groups:
                listing.jobs.setdefault(job.id, (job, client))
    if refused and len(refused) == len(clients):
        raise ActionFailed(
            f"IonQ refused every key budgetbot has ({refused[0]}): the keys need the right to"
            " list and cancel jobs"
        )
    if proposal.scope == "project":
        listing.unseen = sorted(groups - covered)
    return listing


def canceled_ids(clients: Sequence[IonQClient], wanted: Iterable[str]) -> set[str]:
    """Which of ``wanted`` IonQ lists as ``canceled`` (after a restart: was the earlier cancel
    done?). Raises :class:`ActionFailed` when IonQ cannot be read."""
    wanted = set(wanted)
    found: set[str] = set()
    for client in clients:
        try:
            found |= {job.id for job in client.jobs("canceled")} & wanted
        except IonQAuthError:
            continue
        except IonQError as exc:
            raise ActionFailed(f"IonQ could not list the cancelled jobs ({exc})") from exc
        if found == wanted:
            break
    return found


@dataclass
class Cancelled:
    """What one key's cancel calls did: the ids IonQ cancelled, and those it refused, why."""

    ok: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)


def cancel(client: IonQClient, ids: Sequence[str]) -> Cancelled:
    """Cancel ``ids`` with ``client``: ``PUT /jobs/status/cancel`` with all of them, then
    ``PUT /jobs/{id}/status/cancel`` for each the bulk call did not cancel (or all of them,
    where IonQ refuses the bulk call: any 4xx but 429).

    A job IonQ will not cancel (400/404/409: it started, or it is gone) is ``refused`` with
    IonQ's reason. Raises :class:`ActionFailed` when a key lacks the right (403 on a job) or
    IonQ is unavailable (429, 5xx, timeouts): the caller records what was done so far.
    """
    done = Cancelled()
    try:
        answer = client.cancel_jobs(ids)
        done.ok = set(answer.canceled) & set(ids)
    except IonQError as exc:
        if not _refused(exc):
            raise ActionFailed(_unavailable(client, exc), done) from exc
        log.info("IonQ refused the bulk cancel (%s); cancelling job by job", exc)
    for job_id in ids:
        if job_id in done.ok:
            continue
        try:
            client.cancel_job(job_id)
        except IonQAuthError as exc:
            raise ActionFailed(
                f"IonQ refused to cancel with {client.key_label} ({exc}): that key needs the right"
                " to cancel the project's jobs (an organization key, or the project's own key)",
                done,
            ) from exc
        except (IonQRequestError, IonQNotFound) as exc:
            done.refused[job_id] = str(exc)
            continue
        except IonQError as exc:
            raise ActionFailed(_unavailable(client, exc), done) from exc
        done.ok.add(job_id)
    return done


def _refused(exc: IonQError) -> bool:
    """IonQ refused the request itself (a 4xx other than 429): asking otherwise may work."""
    return exc.status is not None and 400 <= exc.status < 500 and exc.status != 429


def _unavailable(client: IonQClient, exc: IonQError) -> str:
    return f"IonQ did not answer the cancel with {client.key_label} ({exc})"
