"""Laws of the ledger's day sums: every billed job counts once in the total, once for its
submitter and once for its project (if it has one); a figure is exact or absent, never partial."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from budgetbot.ledger.walk import _day
from budgetbot.store import LedgerEntry

DAY = dt.date(2026, 11, 20)
AT = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)

cents = st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))
entries = st.lists(
    st.builds(
        lambda i, project, user, usd, unit, us: LedgerEntry(
            job_id=f"j{i}",
            project_id=project,
            submitter_id=user,
            completed_at=AT,
            day=DAY,
            unit=None if usd is None else unit,
            value=usd,
            usd=usd if unit == "usd" else None,
            billed_us=us,
        ),
        st.integers(),
        st.sampled_from([None, "p1", "p2", "p3"]),
        st.sampled_from(["u1", "u2"]),
        st.one_of(st.none(), cents),
        st.sampled_from(["usd", "usd", "usd", "credit"]),
        st.one_of(st.none(), st.integers(min_value=0, max_value=10**9).map(Decimal)),
    ),
    max_size=30,
)


@given(entries)
def test_every_billed_job_counts_once_per_grouping(found: list[LedgerEntry]) -> None:
    day = _day(DAY, found)
    billed = [e for e in found if e.value is not None]
    assert day.unbilled == len(found) - len(billed)
    assert day.total.jobs == len(billed) == sum(f.jobs or 0 for f in day.users.values())
    with_project = [e for e in billed if e.project_id is not None]
    assert sum(f.jobs or 0 for f in day.projects.values()) == len(with_project)
    if all(e.usd is not None for e in billed):
        assert day.total.usd == sum((e.usd or Decimal(0) for e in billed), Decimal(0))
        assert day.total.usd == sum((f.usd or Decimal(0) for f in day.users.values()), Decimal(0))
    else:
        assert day.total.usd is None  # a cost in credits: no exact USD figure for the day
    for project, figures in day.projects.items():
        mine = [e for e in with_project if e.project_id == project]
        assert figures.jobs == len(mine)
        times = [e.billed_us for e in mine]
        assert figures.time_us == (None if None in times else sum(times, Decimal(0)))
