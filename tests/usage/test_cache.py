"""The usage cache, proven by counting requests at the simulator."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import GroupBy, IonQNotFound, IonQRequestError, Modality, UsageQuery
from budgetbot.rules import load_policies
from budgetbot.rules.engine import anomaly_needs, policy_needs
from budgetbot.sim import example_policies
from budgetbot.store import Store
from budgetbot.store.db import usage_buckets
from budgetbot.usage import Measure, UsageSource, normalize
from budgetbot.usage.cache import UsageCache, bucket_spans
from tests.support import NOW

TODAY = NOW.date()


def q(group_by: GroupBy, modality: Modality, start: dt.date, end: dt.date) -> UsageQuery:
    return UsageQuery(group_by=group_by, modality=modality, start=start, end=end)


def test_bucket_spans_follow_calendar_boundaries():
    spans = bucket_spans(
        q(GroupBy.PROJECT, Modality.WEEKLY, dt.date(2025, 12, 24), dt.date(2026, 1, 8))
    )
    assert spans == [
        (dt.date(2025, 12, 24), dt.date(2025, 12, 29)),
        (dt.date(2025, 12, 29), dt.date(2026, 1, 5)),
        (dt.date(2026, 1, 5), dt.date(2026, 1, 8)),
    ]


def test_settled_buckets_are_not_fetched_again(client, sim):
    store = Store.memory()
    cache = UsageCache(client, store)
    query = q(GroupBy.PROJECT, Modality.MONTHLY, dt.date(2026, 8, 1), TODAY + dt.timedelta(days=1))
    first = cache.series(query, TODAY)
    assert len(sim.usage_requests) == 1
    cache.ttl = 0  # open data is fetched again; settled months are not
    second = cache.series(query, TODAY)
    requests = sim.usage_requests
    assert len(requests) == 2 and requests[1].query["start_date"] == "2026-11-01"
    fresh = normalize(client.usage(query), query)
    for series in (first, second):
        assert series.total(Measure.USD) == fresh.total(Measure.USD)
        for key in fresh.groups():
            assert series.figure([key], Measure.USD) == fresh.figure([key], Measure.USD)
    store.close()


def test_recent_days_are_not_treated_as_settled(client, sim):
    cache = UsageCache(client, Store.memory(), ttl=0)
    query = q(GroupBy.PROJECT, Modality.DAILY, TODAY - dt.timedelta(days=10), TODAY)
    cache.series(query, TODAY)
    cache.series(query, TODAY)
    # The last two days may still get late charges: they are asked for again.
    assert sim.usage_requests[1].query["start_date"] == str(TODAY - dt.timedelta(days=2))


def test_fifty_identical_concurrent_requests_share_one_call(client, sim):
    sim.latency = 0.5
    cache = UsageCache(client)
    query = q(GroupBy.PROJECT, Modality.WEEKLY, dt.date(2026, 10, 26), TODAY)
    barrier = threading.Barrier(50)
    answers = []

    def ask() -> None:
        barrier.wait()
        answers.append(cache.series(query, TODAY))

    threads = [threading.Thread(target=ask) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 50 and len({id(a) for a in answers}) == 1
    assert len(sim.usage_requests) == 1 and cache.upstream_calls == 1


def test_ttl_keeps_open_answers_briefly_and_recent_days_for_an_hour(client, sim):
    clock = [0.0]
    cache = UsageCache(client, ttl=60, recent_ttl=3600, clock=lambda: clock[0])
    open_query = q(
        GroupBy.USER, Modality.DAILY, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=1)
    )
    recent = q(GroupBy.USER, Modality.DAILY, TODAY - dt.timedelta(days=3), TODAY)
    cache.series(open_query, TODAY)
    cache.series(recent, TODAY)
    clock[0] = 59
    cache.series(open_query, TODAY)
    assert len(sim.usage_requests) == 2
    clock[0] = 61  # today's data is refreshed after a minute ...
    cache.series(open_query, TODAY)
    cache.series(recent, TODAY)
    assert len(sim.usage_requests) == 3
    clock[0] = 3601  # ... complete days (only late charges can change them) after an hour
    cache.series(recent, TODAY)
    assert len(sim.usage_requests) == 4


def test_a_failed_call_is_not_cached(client, sim):
    cache = UsageCache(client)
    sim.fail(400, times=1)
    query = q(GroupBy.PROJECT, Modality.DAILY, TODAY - dt.timedelta(days=3), TODAY)
    with pytest.raises(IonQRequestError):
        cache.series(query, TODAY)
    assert cache.series(query, TODAY).buckets
    assert len(sim.usage_requests) == 2


def test_check_cycles_share_queries_and_reuse_settled_buckets(client, sim):
    rules = load_policies(example_policies())
    store = Store.memory()
    cache = UsageCache(client, store, ttl=0)
    run_check(rules, UsageSource(client, cache=cache, today=TODAY), store, [], NOW)
    first = len(sim.usage_requests)
    # One request per distinct query, however many policies need it.
    distinct = {
        (r.query["group_by"], r.query["modality"], r.query["start_date"], r.query["end_date"])
        for r in sim.usage_requests
    }
    needs = [policy_needs(p, NOW) for p in rules.policies]
    needs += [anomaly_needs(a, NOW) for a in rules.anomalies]
    asked = [q for n in needs for q in (n.period, n.rate, n.jobs) if q is not None]
    assert first == len(distinct) < len(asked)
    later = NOW + dt.timedelta(minutes=15)
    run_check(rules, UsageSource(client, cache=cache, today=later.date()), store, [], later)
    second = sim.usage_requests[first:]
    assert len(second) <= first
    # What is asked again starts no earlier than the open period or the unsettled days.
    for r in second:
        start = dt.date.fromisoformat(r.query["start_date"])
        assert start >= dt.date(2026, 11, 1) or start >= TODAY - dt.timedelta(days=2)
    store.close()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    group_by=st.sampled_from(list(GroupBy)),
    modality=st.sampled_from(list(Modality)),
    back=st.integers(1, 200),
    length=st.integers(1, 90),
    split=st.integers(0, 90),
    shift=st.integers(0, 10),
)
def test_cached_and_fresh_answers_agree(client, group_by, modality, back, length, split, shift):
    start = TODAY - dt.timedelta(days=back)
    end = min(start + dt.timedelta(days=length), TODAY)
    if end <= start:
        return
    store = Store.memory()
    cache = UsageCache(client, store, ttl=0)
    # Warm the store with an earlier, overlapping question that may start elsewhere (so its
    # first bucket is clipped differently), then ask the real one.
    warm_start = start - dt.timedelta(days=shift)
    warm_end = min(start + dt.timedelta(days=split + 1), end)
    cache.series(q(group_by, modality, warm_start, warm_end), TODAY)
    query = q(group_by, modality, start, end)
    cached = cache.series(query, TODAY)
    fresh = normalize(client.usage(query), query)
    assert [(b.start, b.end) for b in cached.buckets] == [(b.start, b.end) for b in fresh.buckets]
    assert cached.total(Measure.USD) == fresh.total(Measure.USD)
    for key in fresh.groups():
        assert cached.figure([key], Measure.USD) == fresh.figure([key], Measure.USD)
    store.close()


def test_an_answer_fetched_while_a_day_was_open_is_not_kept_as_complete(client, sim):
    clock = [0.0]
    cache = UsageCache(client, ttl=60, recent_ttl=3600, clock=lambda: clock[0])
    query = q(
        GroupBy.PROJECT, Modality.DAILY, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=1)
    )
    cache.series(query, TODAY)  # TODAY is open: kept a minute
    clock[0] = 120
    tomorrow = TODAY + dt.timedelta(days=1)
    cache.series(query, tomorrow)  # after midnight the same days are complete: asked again
    assert len(sim.usage_requests) == 2


def test_stored_buckets_belong_to_one_organization(client, sim, org):
    from budgetbot.ionq import IonQClient
    from tests.support import API_KEY

    store = Store.memory()
    query = q(GroupBy.PROJECT, Modality.MONTHLY, dt.date(2026, 8, 1), dt.date(2026, 10, 1))
    UsageCache(client, store, ttl=0).series(query, TODAY)
    # The same database, another organization: nothing of the first one's figures is reused.
    with (
        IonQClient(sim.base_url, "com.other.org", API_KEY) as other,
        pytest.raises(IonQNotFound),
    ):
        UsageCache(other, store, ttl=0).series(query, TODAY)
    store.close()


def test_a_corrupt_stored_bucket_is_fetched_again_not_used(client, sim):
    # Before answers were checked, a bucket of 1e999999 USD could be stored as settled and then
    # crash every later check with decimal.Overflow. Such a row is now ignored and refetched.
    store = Store.memory()
    cache = UsageCache(client, store)
    query = q(GroupBy.PROJECT, Modality.DAILY, TODAY - dt.timedelta(days=6), TODAY)
    fresh = cache.series(query, TODAY)
    spans = bucket_spans(query)
    stored = store.buckets(cache.source, "project", "daily", spans)
    assert spans[0] in stored
    poisoned = re.sub(r'"usd": "[^"]*"', '"usd": "1E+999999"', stored[spans[0]], count=1)
    assert poisoned != stored[spans[0]]
    with store.engine.begin() as conn:
        conn.execute(
            usage_buckets.update()
            .where(usage_buckets.c.start == spans[0][0])
            .values(payload=poisoned)
        )
    cache.ttl = cache.recent_ttl = 0
    again = UsageCache(client, store).series(query, TODAY)
    assert again.total(Measure.USD) == fresh.total(Measure.USD)
    assert sim.usage_requests[-1].query["start_date"] == spans[0][0].isoformat()
    store.close()


def test_a_fall_is_refused_while_the_mark_is_fresh_and_believed_once_it_lasts(client, sim):
    """Usage only grows: less for the same span is a glitch, unless it lasts past the trust
    window (then it is IonQ's correction, and the mark follows it)."""
    from budgetbot.ionq import IonQInvalidAnswer
    from budgetbot.usage.cache import MARK_TRUST_DAYS

    store = Store.memory()
    cache = UsageCache(client, store, ttl=0, recent_ttl=0)
    query = q(GroupBy.PROJECT, Modality.MONTHLY, dt.date(2026, 11, 1), TODAY + dt.timedelta(days=1))
    real = cache.series(query, TODAY)
    assert real.total(Measure.USD) > 0
    sim.empty(times=10)
    with pytest.raises(IonQInvalidAnswer, match="less usage"):
        cache.series(query, TODAY)
    later = TODAY + dt.timedelta(days=MARK_TRUST_DAYS + 1)
    believed = cache.series(query, later)
    assert believed.total(Measure.USD) == 0
    sim.reset()
    assert cache.series(query, later).total(Measure.USD) == real.total(Measure.USD)
    store.close()
