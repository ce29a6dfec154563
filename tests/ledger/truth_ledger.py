"""A ledger double built from the simulator's truth: what a walk at ``now`` would sum from the
completed jobs of the ``covered`` projects (the real walk is ``budgetbot.ledger.walk``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from budgetbot.ledger import LedgerDay, LedgerView
from budgetbot.sim import SimOrg
from budgetbot.sim.model import Job
from budgetbot.usage import Figures

ONE_DAY = dt.timedelta(days=1)


def _sums(jobs: Iterable[Job], key: str | None) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for job in jobs:
        group = "" if key is None else getattr(job, key)
        f = out.get(group, Figures(Decimal(0), Decimal(0), 0))
        assert f.usd is not None and f.time_us is not None and f.jobs is not None
        out[group] = Figures(f.usd + job.amount, f.time_us + job.time_us, f.jobs + 1)
    return out


class TruthLedger:
    """``LedgerSource`` over ``org``: ``unbilled`` jobs per day are left out, as not billed yet."""

    def __init__(
        self, org: SimOrg, covered: Iterable[str], unbilled: Mapping[dt.date, int] | None = None
    ) -> None:
        self.org = org
        self.covered = frozenset(covered)
        self.unbilled = dict(unbilled or {})
        self.calls: list[tuple[dt.date, dt.date, dt.datetime]] = []

    def view(self, start: dt.date, end: dt.date, now: dt.datetime) -> LedgerView:
        self.calls.append((start, end, now))
        days = {}
        day = start
        while day < min(end, now.date() + ONE_DAY):
            billed = self.org.billed(day, day + ONE_DAY, until=now)
            jobs = [j for j in billed if j.project_id in self.covered]
            jobs = jobs[self.unbilled.get(day, 0) :]
            projects, users = _sums(jobs, "project_id"), _sums(jobs, "user_id")
            total = _sums(jobs, None).get("", Figures(Decimal(0), Decimal(0), 0))
            days[day] = LedgerDay(day, projects, users, total, self.unbilled.get(day, 0))
            day += ONE_DAY
        return LedgerView(
            at=now,
            start=start,
            end=end,
            days=days,
            covered=self.covered,
            known=frozenset(p.id for p in self.org.projects),
            names={u.id: u.name for u in self.org.users},
            requests={"jobs": 1, "cost": 0},
        )
