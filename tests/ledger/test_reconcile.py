"""Reconciliation laws: the ledger refines a bucket only when it provably adds up (hypothesis,
over organizations drawn here: per group and day, what its jobs cost)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from budgetbot.ledger import LedgerDay, LedgerView
from budgetbot.ledger.reconcile import refine, span_of
from budgetbot.usage import MEASURES, Bound, Bucket, Figures, UsageSeries

START = dt.date(2026, 11, 2)
AT = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
NO_JOBS = Figures(Decimal(0), Decimal(0), 0)

Truth = dict[dt.date, dict[str, Figures]]


def _add(a: Figures, b: Figures) -> Figures:
    assert a.usd is not None and b.usd is not None and a.time_us is not None
    assert b.time_us is not None and a.jobs is not None and b.jobs is not None
    return Figures(a.usd + b.usd, a.time_us + b.time_us, a.jobs + b.jobs)


def _sum(figures: list[Figures]) -> Figures:
    out = NO_JOBS
    for f in figures:
        out = _add(out, f)
    return out


def series_of(truth: Truth, days: int, size: int, group_by: str = "project") -> UsageSeries:
    """What IonQ answers: buckets of ``size`` days, each with its top 5 groups by USD."""
    buckets = []
    for first in range(0, days, size):
        span = [START + dt.timedelta(days=n) for n in range(first, min(first + size, days))]
        groups: dict[str, Figures] = {}
        for day in span:
            for key, f in truth[day].items():
                groups[key] = _add(groups.get(key, NO_JOBS), f)
        top = sorted(
            ((k, f) for k, f in groups.items() if f.jobs),
            key=lambda item: (-(item[1].usd or 0), item[0]),
        )[:5]
        total = _sum([f for day in span for f in truth[day].values()])
        buckets.append(Bucket(span[0], span[-1] + dt.timedelta(days=1), total, dict(top)))
    end = START + dt.timedelta(days=days)
    return UsageSeries(group_by, "daily", START, end, tuple(buckets))


def view_of(
    truth: Truth, covered: set[str], group_by: str = "project", unbilled: dt.date | None = None
) -> LedgerView:
    """The ledger of a walk that sees every job of ``covered`` (and no other)."""
    days = {}
    for day, groups in truth.items():
        seen = {k: f for k, f in groups.items() if k in covered and f.jobs}
        per = {"projects": seen, "users": {}} if group_by == "project" else {}
        if group_by == "user":
            per = {"projects": {}, "users": seen}
        days[day] = LedgerDay(
            day, per["projects"], per["users"], _sum(list(seen.values())), int(day == unbilled)
        )
    known = frozenset(k for groups in truth.values() for k in groups)
    covers = frozenset(covered) if group_by == "project" else known
    return LedgerView(AT, START, max(truth) + dt.timedelta(days=1), days, covers, known)


@st.composite
def organizations(draw: st.DrawFn) -> tuple[Truth, int]:
    days = draw(st.integers(min_value=1, max_value=9))
    groups = [f"g{n}" for n in range(draw(st.integers(min_value=1, max_value=9)))]
    truth: Truth = {}
    for n in range(days):
        day: dict[str, Figures] = {}
        for key in groups:
            jobs = draw(st.integers(min_value=0, max_value=3))
            cents = draw(st.integers(min_value=1, max_value=90_000)) if jobs else 0
            time_us = draw(st.integers(min_value=1, max_value=10**9)) if jobs else 0
            day[key] = Figures(Decimal(cents).scaleb(-2), Decimal(time_us), jobs)
        truth[START + dt.timedelta(days=n)] = day
    return truth, days


LAWS = settings(max_examples=150, deadline=None)


def _bounds(series: UsageSeries, keys: set[str]) -> list[tuple[str, str, int, Bound | None]]:
    return [
        (key, m.key, i, bucket.figure(key, m))
        for i, bucket in enumerate(series.buckets)
        for key in sorted(keys)
        for m in MEASURES.values()
    ]


@LAWS
@given(organizations(), st.integers(min_value=1, max_value=9), st.data())
def test_refined_figures_lie_within_the_bounds_they_replace_and_totals_stay(org, size, data):
    truth, days = org
    keys = {k for groups in truth.values() for k in groups} | {"never"}
    covered = data.draw(st.sets(st.sampled_from(sorted(keys))))
    group_by = data.draw(st.sampled_from(["project", "user"]))
    series = series_of(truth, days, size, group_by)
    out = refine(series, view_of(truth, covered, group_by))
    for before, after in zip(_bounds(series, keys), _bounds(out.series, keys), strict=True):
        assert before[3] is not None and after[3] is not None
        assert before[3].low <= after[3].low <= after[3].high <= before[3].high, (before, after)
    assert [b.totals for b in out.series.buckets] == [b.totals for b in series.buckets]
    for m in MEASURES.values():
        assert out.series.total(m) == series.total(m)


@LAWS
@given(organizations(), st.integers(min_value=1, max_value=9))
def test_a_ledger_that_sees_every_job_makes_every_figure_exact_and_true(org, size):
    truth, days = org
    keys = {k for groups in truth.values() for k in groups}
    series = series_of(truth, days, size)
    out = refine(series, view_of(truth, keys))
    assert not out.reasons
    for bucket in out.series.buckets:
        span = [bucket.start + dt.timedelta(days=n) for n in range(bucket.days)]
        for key in keys:
            true = _sum([truth[day][key] for day in span])
            for m in MEASURES.values():
                assert bucket.figure(key, m) == Bound.exact_value(m.read(true) or Decimal(0))


@dataclass
class Missing:
    """One job the ledger lacks: a covered group's job on one day, or one not billed yet."""

    day: dt.date
    key: str
    unbilled: bool


@LAWS
@given(organizations(), st.integers(min_value=1, max_value=9), st.data())
def test_a_ledger_missing_any_job_changes_nothing_where_it_is_missing(org, size, data):
    truth, days = org
    spent = [(d, k) for d, groups in truth.items() for k, f in groups.items() if f.jobs]
    if not spent:
        return
    day, key = data.draw(st.sampled_from(spent))
    missing = Missing(day, key, data.draw(st.booleans()))
    group_by = data.draw(st.sampled_from(["project", "user"]))
    keys = {k for groups in truth.values() for k in groups}
    series = series_of(truth, days, size, group_by)
    seen = {d: dict(groups) for d, groups in truth.items()}
    if missing.unbilled:
        view = view_of(seen, keys, group_by, unbilled=missing.day)
    else:
        f = seen[missing.day][missing.key]
        assert f.usd is not None and f.time_us is not None and f.jobs is not None
        share = Decimal(1) / f.jobs  # one of its jobs, at an even share
        seen[missing.day][missing.key] = Figures(
            f.usd - (f.usd * share).quantize(Decimal("0.01")) or f.usd,
            f.time_us * (1 - share),
            f.jobs - 1,
        )
        view = view_of(seen, keys, group_by)
    out = refine(series, view)
    for before, after in zip(series.buckets, out.series.buckets, strict=True):
        if before.start <= missing.day < before.end:
            assert after is before
            remainder = before.remainder(MEASURES["usd"])
            if remainder:
                assert any(r.start == before.start for r in out.reasons)


def test_a_missing_project_leaves_its_days_bounded_and_says_how_much_is_missing():
    day = START
    truth: Truth = {
        day: {
            **{f"big{n}": Figures(Decimal(1000 + n), Decimal(10), 2) for n in range(5)},
            "quiet": Figures(Decimal("12.25"), Decimal(3), 1),
            "hidden": Figures(Decimal("412.50"), Decimal(4), 1),
        }
    }
    series = series_of(truth, 1, 1)
    out = refine(series, view_of(truth, set(truth[day]) - {"hidden"}))
    assert out.series == series and out.refined == 0
    (reason,) = out.reasons
    assert reason.kind == "mismatch" and reason.days == "2026-11-02"
    assert "$412.50 of the remainder is not in the ledger" in str(reason)
    quiet = out.series.figure(["quiet"], MEASURES["usd"])
    assert quiet is not None and not quiet.exact


def test_unbilled_jobs_keep_the_bucket_and_are_counted_in_the_reason():
    truth: Truth = {START: {f"g{n}": Figures(Decimal(10 + n), Decimal(1), 1) for n in range(7)}}
    base = view_of(truth, set(truth[START]))
    day = base.days[START]
    view = LedgerView(
        AT,
        base.start,
        base.end,
        {START: LedgerDay(START, day.projects, day.users, day.total, unbilled=3)},
        base.covered,
        base.known,
    )
    out = refine(series_of(truth, 1, 1), view)
    assert out.refined == 0
    assert [str(r) for r in out.reasons] == [
        "2026-11-02 (by project): 3 jobs completed then are not billed yet"
    ]


def test_days_the_ledger_has_not_read_stay_bounds():
    truth: Truth = {
        START + dt.timedelta(days=n): {
            f"g{k}": Figures(Decimal(5 + k), Decimal(1), 1) for k in range(7)
        }
        for n in range(3)
    }
    view = view_of(truth, set(truth[START]))
    partial = LedgerView(AT, START, view.end, {START: view.days[START]}, view.covered, view.known)
    out = refine(series_of(truth, 3, 1), partial)
    assert out.refined == 1
    assert [r.kind for r in out.reasons] == ["unread", "unread"]


def test_by_user_every_known_project_must_be_covered():
    truth: Truth = {START: {f"u{n}": Figures(Decimal(10 + n), Decimal(1), 1) for n in range(7)}}
    series = series_of(truth, 1, 1, "user")
    view = view_of(truth, set(truth[START]), "user")
    short = LedgerView(
        AT,
        view.start,
        view.end,
        view.days,
        frozenset({"p1"}),
        frozenset({"p1", "p2"}),
        names={"p2": "Chemistry"},
    )
    out = refine(series, short)
    assert out.refined == 0
    assert "no key sees every job of Chemistry" in out.reasons[0].text
    assert refine(series, view).refined == 1


def test_the_job_grouping_is_left_alone_and_spans_cover_refinable_series():
    truth: Truth = {START: {f"g{n}": Figures(Decimal(10 + n), Decimal(1), 1) for n in range(7)}}
    jobs = series_of(truth, 1, 1, "job")
    assert refine(jobs, view_of(truth, set(truth[START]))).series is jobs
    assert span_of([jobs]) is None
    assert span_of([jobs, series_of(truth, 1, 1)]) == (START, START + dt.timedelta(days=1))


class CountingLedger:
    def __init__(self) -> None:
        self.calls = 0

    def view(self, start: dt.date, end: dt.date, now: dt.datetime) -> LedgerView:
        self.calls += 1
        return LedgerView(now, start, end, {}, frozenset(), requests={"jobs": 2})


def test_a_recent_view_is_used_again_for_the_days_it_covers():
    from budgetbot.ledger.figures import RECENT_LEDGER, RecentLedger

    inner = CountingLedger()
    recent = RecentLedger(inner)
    end = START + dt.timedelta(days=7)
    assert recent.view(START, end, AT).requests == {"jobs": 2}
    again = recent.view(START + dt.timedelta(days=1), end, AT + RECENT_LEDGER / 2)
    assert inner.calls == 1 and again.requests == {}  # counted once, when it was walked
    recent.view(START - dt.timedelta(days=1), end, AT + RECENT_LEDGER / 2)  # further back
    assert inner.calls == 2
    recent.view(START, end, AT + 2 * RECENT_LEDGER)  # too old by then
    assert inner.calls == 3
