"""The ledger as the figures see it: per UTC billing day, what the visible completed jobs cost,
per project and per user (pure data).

IonQ's usage API lists only each bucket's top 5 groups; ``GET /jobs?status=completed`` and
``GET /jobs/{id}/cost`` give every visible job's billed cost. Summed per group and day they are an
exact figure *if* every job of the group that day is visible (its project is covered by a key) and
billed. Whether a day's sums agree with IonQ's own bucket totals is decided elsewhere
(reconciliation); this module only holds the sums and says what they cover.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from budgetbot.usage.measures import Figures

__all__ = ["LedgerDay", "LedgerView"]


@dataclass(frozen=True, slots=True)
class LedgerDay:
    """One UTC billing day of the ledger.

    ``projects`` / ``users``: the summed figures (USD cost, billed QPU µs, job count) of the
    visible billed jobs per project id / submitter id. ``total``: of every visible billed job that
    day (jobs without a project included). ``unbilled``: visible jobs completed that day whose
    cost IonQ does not give yet (the day is not complete while any remain).
    """

    day: dt.date
    projects: Mapping[str, Figures]
    users: Mapping[str, Figures]
    total: Figures
    unbilled: int = 0


@dataclass(frozen=True)
class LedgerView:
    """The ledger over ``[start, end)`` as read at ``at``.

    ``covered``: project ids whose every job some key sees (a key's ``/whoami`` names the
    project), as the queue defines it. ``days`` holds every walked day in the range, also days
    with no job (an empty :class:`LedgerDay`); a day missing from ``days`` was not walked and is
    not known.
    """

    at: dt.datetime
    start: dt.date
    end: dt.date
    days: Mapping[dt.date, LedgerDay]
    covered: frozenset[str]
    known: frozenset[str] = frozenset()
    """Every project id budgetbot has seen (usage answers, jobs, keys)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """Project and user ids to names learned from usage answers."""
    requests: Mapping[str, int] = field(default_factory=dict)
    """IonQ requests the walk that produced this view cost, by kind (``jobs``, ``cost``, …)."""
