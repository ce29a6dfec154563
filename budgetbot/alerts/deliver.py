"""Draining the outbox: each row to the notifier of its destination, under a lease, at most once.

Each row is claimed first (a lease in the store), so two processes never send the same row at
once. A lease whose holder is known dead (``budgetbot.store.lease``: a killed process) is taken
over at once; one held by a live process is left to it and reported as waiting. A row that an
earlier attempt may have delivered (a crash after Slack answered, before the store heard) is
handed over as ``resumed``, and the notifier looks for it before sending it again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from budgetbot.store.db import Store, StoredNotification
from budgetbot.store.lease import LeaseHolder, describe, owner_alive, wall_clock

from .notifiers import (
    DeliveryError,
    Note,
    Notifier,
    Outgoing,
    OutgoingActionResult,
    OutgoingDigest,
    OutgoingNotice,
    OutgoingProposal,
    Unreadable,
)
from .outbox import (
    ActionResultPayload,
    AlertPayload,
    DigestPayload,
    NoticePayload,
    PayloadError,
    ProposalPayload,
    decode,
)

__all__ = ["Delivery", "Waiting", "deliver", "deliver_pending", "note_of"]

log = logging.getLogger("budgetbot.cycle")


@dataclass(frozen=True)
class Waiting:
    """A notification another, live process is delivering (its lease has not ended)."""

    dedup_key: str
    #: Who holds it: ``process 4242 on worker-1``.
    holder: str
    #: When its lease ends at the latest (wall clock).
    until: dt.datetime | None

    def __str__(self) -> str:
        until = f" until {self.until:%Y-%m-%d %H:%M:%S} UTC" if self.until else ""
        return f"{self.dedup_key} (held by {self.holder}{until})"


@dataclass
class Delivery:
    """What one pass over the outbox did."""

    sent: list[Note] = field(default_factory=list)
    failed: list[tuple[Note | Unreadable, str]] = field(default_factory=list)
    #: Left to a live process that holds their lease.
    waiting: list[Waiting] = field(default_factory=list)


def note_of(store: Store, row: StoredNotification) -> Note:
    """The note an outbox row holds, with the thread it now belongs to (of its destination)."""
    payload = decode(row.payload)
    if isinstance(payload, DigestPayload):
        return OutgoingDigest(row.id, row.dedup_key, payload.digest, row.channel)
    if isinstance(payload, NoticePayload):
        replying = row.thread_key != row.dedup_key
        thread = store.thread_root(row.thread_key, row.destination) if replying else None
        return OutgoingNotice(
            row.id,
            row.dedup_key,
            payload.text,
            row.channel,
            thread,
            row.thread_key if replying else None,
        )
    if isinstance(payload, ProposalPayload | ActionResultPayload):
        thread = store.thread_root(row.thread_key, row.destination)
        if isinstance(payload, ProposalPayload):
            return OutgoingProposal(
                row.id, row.dedup_key, payload.proposal, row.channel, thread, row.thread_key
            )
        return OutgoingActionResult(
            row.id, row.dedup_key, payload.outcome, row.channel, thread, row.thread_key
        )
    assert isinstance(payload, AlertPayload)
    return Outgoing(
        row.id,
        row.dedup_key,
        payload.finding,
        payload.reason,
        row.channel,
        store.thread_root(row.thread_key, row.destination),
    )


def deliver_pending(
    store: Store,
    notifiers: Sequence[Notifier],
    now: dt.datetime,
    *,
    lease: dt.timedelta | None = None,
    clock: Callable[[], dt.datetime] = wall_clock,
) -> tuple[list[Note], list[tuple[Note | Unreadable, str]]]:
    """:func:`deliver`, as ``(sent, failed)``."""
    done = deliver(store, notifiers, now, lease=lease, clock=clock)
    return done.sent, done.failed


def deliver(
    store: Store,
    notifiers: Sequence[Notifier],
    now: dt.datetime,
    *,
    lease: dt.timedelta | None = None,
    clock: Callable[[], dt.datetime] = wall_clock,
) -> Delivery:
    """Hand every undelivered row to the notifier of its destination, oldest first; failures
    stay for the next cycle, and one destination failing never blocks another.

    Rows of a destination none of ``notifiers`` serves are left to a process that has one.
    ``clock`` is the wall clock leases are measured in (read per row: a slow post must not
    outlive its lease unnoticed); ``now`` is what is recorded.
    """
    done = Delivery()
    by_destination = {n.destination: n for n in notifiers}
    rows = store.pending(destinations=list(by_destination)) if by_destination else []
    if not rows:
        return done
    alive: dict[str, bool] = {}
    with LeaseHolder(store.engine) as holder:
        owner = holder.owner
        for row in rows:
            at = clock()
            dead_owner = None
            if row.claimed_until is not None and row.claimed_until >= at and row.claimed_by:
                holder_id = row.claimed_by
                if holder_id not in alive:
                    alive[holder_id] = owner_alive(store.engine, holder_id)
                if alive[holder_id]:
                    done.waiting.append(
                        Waiting(row.dedup_key, describe(holder_id), row.claimed_until)
                    )
                    continue
                dead_owner = holder_id
                log.info(
                    "notification %s: taking over the lease of %s, which is gone",
                    row.dedup_key,
                    describe(holder_id),
                )
            if not holder.holding():
                break  # others may take our leases now: sending would risk a double post
            earlier = store.claim(
                row.id, owner, at, lease or store.delivery_lease, dead_owner=dead_owner
            )
            if earlier is None:
                continue  # another process is delivering it, or just did
            note: Note | Unreadable = Unreadable(row.id, row.dedup_key, row.channel)
            try:
                note = note_of(store, row)
                notifier = by_destination[row.destination]
                channel, ts = notifier.deliver(note, resumed=earlier > 0)
            except Exception as exc:
                # One bad row (an unreadable payload, a message that fails to render, a
                # notifier bug) must not block the rest, and is a failure like any other.
                said = isinstance(exc, DeliveryError | PayloadError)  # these say what went wrong
                why = str(exc) if said else f"{type(exc).__name__}: {exc}"
                log.warning("notification %s not delivered: %s", row.dedup_key, why)
                store.mark_failed(row.id, why, now, owner=owner)
                done.failed.append((note, why))
                continue
            store.mark_sent(row.id, channel, ts, now, owner=owner)
            done.sent.append(note)
    for waiting in done.waiting:
        log.warning("notification %s: left to the process delivering it", waiting)
    return done
