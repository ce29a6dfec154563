"""IonQ's answers are checked before use: broken invariants are refused whole (and retried like an
outage), absent optional data stays absent, and a request has an overall deadline."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from budgetbot.ionq import (
    MAX_AMOUNT,
    GroupBy,
    IonQClient,
    IonQInvalidAnswer,
    IonQResponseError,
    IonQUnavailable,
    Modality,
    UsageQuery,
    parse_usages,
)
from budgetbot.sim import SimOrg
from budgetbot.sim.model import to_json
from budgetbot.sim.server import CORRUPTIONS
from budgetbot.usage import Measure, UsageDataError, normalize
from tests.support import API_KEY, NOW, RecordedSleep

Q = UsageQuery(
    group_by=GroupBy.PROJECT,
    modality=Modality.WEEKLY,
    start=dt.date(2026, 10, 5),
    end=dt.date(2026, 11, 2),
)
D = Decimal


# -- item 4: broken invariants are refused whole -------------------------------------------------


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_broken_answer_is_refused_whole_and_retried(client, sim, sleep, corruption):
    good = client.usage(Q)
    sim.corrupt(corruption, times=1)
    assert client.usage(Q) == good  # refused, retried once, then IonQ's next answer is used
    assert len(sleep.waits) == 1

    sim.corrupt(corruption, times=10_000)
    with pytest.raises(IonQInvalidAnswer) as info:
        client.usage(Q)
    error = info.value
    assert isinstance(error, IonQResponseError) and error.retryable
    assert error.field, "the error names where the answer is wrong"
    assert error.field.split(".")[0].split("[")[0] in str(error)
    assert "/usage" in str(error) and API_KEY not in str(error)


def test_huge_numbers_never_reach_decimal_arithmetic():
    for literal in ("1e999999", "-1e999999", "1e-999999", "9" * 5000, "Infinity", "NaN"):
        text = f'{{"usage_data": [{{"from": "2026-10-05", "amount": {literal}, "time_us": 0,'
        text += ' "job_count": 0, "group_usages": []}]}'
        with pytest.raises(IonQResponseError):
            parse_usages(text, Q)


def test_a_cap_just_below_is_accepted_and_at_it_refused():
    def answer(amount: Decimal) -> str:
        bucket = {
            "from": "2026-10-05",
            "amount": amount,
            "time_us": 1,
            "job_count": 1,
            "group_usages": [],
        }
        return to_json({"usage_data": [bucket], "amount_total": amount})

    assert parse_usages(answer(MAX_AMOUNT - D("0.01")), Q).usage_data[0].amount < MAX_AMOUNT
    with pytest.raises(IonQInvalidAnswer):
        parse_usages(answer(MAX_AMOUNT), Q)


# The law: any mutation of a valid answer that breaks an invariant is refused; valid answers pass.

ORG = SimOrg()
QUERIES = st.builds(
    lambda group_by, modality, start, days: UsageQuery(
        group_by=group_by,
        modality=modality,
        start=start,
        end=start + dt.timedelta(days=days),
    ),
    st.sampled_from(list(GroupBy)),
    st.sampled_from(list(Modality)),
    st.dates(dt.date(2026, 8, 1), dt.date(2026, 11, 1)),
    st.integers(1, 70),
)
MUTATIONS = (
    "negative",
    "over_cap",
    "group_over_bucket",
    "duplicate_date",
    "outside",
    "unaligned",
    "total_off",
    "jobs_negative",
    "group_jobs_over",
    "no_identity",
)


def _body(query: UsageQuery) -> dict[str, Any]:
    return ORG.usage_body(
        query.group_by.value, query.modality.value, query.start, query.end, until=NOW
    )


def _mutate(body: dict[str, Any], query: UsageQuery, kind: str, pick: int, delta: Decimal) -> bool:
    """Break one invariant of ``body`` in place; False when this answer has nothing to break."""
    data = body["usage_data"]
    buckets = [u for u in data if u["job_count"] > 0]
    listed = [u for u in buckets if u["group_usages"]]
    if kind in {"group_over_bucket", "group_jobs_over", "no_identity", "negative"} and not listed:
        return False
    if kind in {"duplicate_date", "over_cap", "jobs_negative", "total_off"} and not buckets:
        return False
    if kind == "unaligned" and (query.modality is Modality.DAILY or len(data) < 2):
        return False
    bucket = (listed or buckets or data or [{}])[pick % max(1, len(listed or buckets or data))]
    if kind == "negative":
        group = bucket["group_usages"][pick % len(bucket["group_usages"])]
        group[("amount", "time_us")[pick % 2]] = -delta
    elif kind == "over_cap":
        bucket["amount"] = MAX_AMOUNT + delta
    elif kind == "group_over_bucket":
        group = bucket["group_usages"][0]
        group["amount"] = bucket["amount"] + delta + D(1)
    elif kind == "duplicate_date":
        data.append(copy.deepcopy(bucket))
    elif kind == "outside":
        shift = int(delta) % 400 + 1
        when = query.end + dt.timedelta(days=shift - 1) if pick % 2 else query.start
        if not pick % 2:
            when = query.start - dt.timedelta(days=shift + 31)
        data.append(dict(_empty_bucket(), **{"from": when.isoformat()}))
    elif kind == "unaligned":
        later = data[0]  # most recent first: this one starts on a natural boundary
        start = dt.date.fromisoformat(later["from"])
        later["from"] = (start + dt.timedelta(days=1)).isoformat()
        if dt.date.fromisoformat(later["from"]) >= query.end:
            return False
    elif kind == "total_off":
        body["amount_total"] = body["amount_total"] + D(1) + delta
    elif kind == "jobs_negative":
        bucket["job_count"] = -1 - pick
    elif kind == "group_jobs_over":
        bucket["group_usages"][0]["job_count"] = bucket["job_count"] + 1 + pick
    elif kind == "no_identity":
        group = bucket["group_usages"][pick % len(bucket["group_usages"])]
        group.pop("group_id")
        group["group_name"] = None
    return True


def _empty_bucket() -> dict[str, Any]:
    return {"amount": 0, "time_us": 0, "job_count": 0, "group_usages": []}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    query=QUERIES,
    kind=st.sampled_from(MUTATIONS),
    pick=st.integers(0, 50),
    delta=st.decimals(D("0.02"), D(10**6), places=2),
)
def test_law_broken_invariants_are_refused_valid_answers_accepted(query, kind, pick, delta):
    body = _body(query)
    accepted = parse_usages(to_json(body), query)
    assert len(accepted.usage_data) == len(body["usage_data"])
    if not _mutate(body, query, kind, pick, delta):
        return
    with pytest.raises(IonQInvalidAnswer):
        parse_usages(to_json(body), query)


# -- item 8: leniency where IonQ's schema is lenient ---------------------------------------------


def test_absent_usage_data_is_absent_not_zero(client, sim):
    sim.drop_field("usage_data")
    answer = client.usage(Q)
    assert answer.usage_data is None
    # No per-bucket figures: budgetbot says so rather than report $0.
    with pytest.raises(UsageDataError, match="usage_data"):
        normalize(answer, Q)


def test_absent_usage_data_with_zero_totals_is_no_usage():
    answer = parse_usages('{"amount_total": 0, "job_count": 0, "time_us_total": 0}', Q)
    series = normalize(answer, Q)
    assert series.total(Measure.USD) == 0 and series.buckets == ()


def test_a_group_without_amount_is_bounded_not_zero(client, sim, org):
    full = normalize(client.usage(Q), Q)
    sim.drop_field("usage_data.0.group_usages.0.amount")
    answer = client.usage(Q)
    assert answer.usage_data is not None
    dropped = answer.usage_data[0].group_usages[0]
    assert dropped.amount is None
    series = normalize(answer, Q)
    bucket = max(series.buckets, key=lambda b: b.start)
    key = dropped.key
    truth = full.figure([key], Measure.USD, bucket.start, bucket.end)
    assert truth is not None and truth.exact and truth.low > 0
    bound = series.figure([key], Measure.USD, bucket.start, bucket.end)
    assert bound is not None and not bound.exact
    assert bound.contains(truth.low)  # an absent amount is unknown: [0, remainder], never $0
    # The same through the several-groups path.
    joint = series.figure([key, "nobody"], Measure.USD, bucket.start, bucket.end)
    assert joint is not None and joint.contains(truth.low)
    # Every other group's bound still holds the truth.
    for other in full.groups():
        exact = full.figure([other], Measure.USD)
        got = series.figure([other], Measure.USD)
        assert exact is not None and got is not None and got.contains(exact.low)
    # Totals stay exact.
    assert series.total(Measure.USD) == full.total(Measure.USD)


def test_usage_amount_entries_may_miss_amount_or_unit():
    bucket = {
        "from": "2026-10-05",
        "amount": 300,
        "amount_unit": "credits",
        "amounts": [{"amount": D("120.5"), "unit": "USD"}, {"amount": 180}, {"unit": "credits"}],
        "time_us": 1,
        "job_count": 1,
        "group_usages": [
            {"group_id": "a", "amount": 200, "amount_unit": "credits", "amounts": [{"unit": "USD"}]}
        ],
    }
    answer = parse_usages(to_json({"usage_data": [bucket], "usage_unit": "credits"}), Q)
    series = normalize(answer, Q)
    assert series.total(Measure.USD) == D("120.5")  # the unit-less entry is skipped
    # A USD entry without its amount is no USD figure for the group: bounded, not $0.
    figure = series.figure(["a"], Measure.USD)
    assert figure is not None and figure.low == 0 and figure.high == D("120.5")


def test_unknown_group_type_and_modality_are_logged_and_skipped(caplog):
    text = to_json(
        {"usage_data": [], "group_type": "team", "modality": "hourly", "usage_unit": "USD"}
    )
    with caplog.at_level(logging.WARNING, logger="budgetbot.ionq"):
        answer = parse_usages(text, Q)
    assert answer.group_type is None and answer.modality is None
    assert "team" in caplog.text and "hourly" in caplog.text


def test_a_known_but_different_group_type_is_refused():
    text = to_json({"usage_data": [], "group_type": "user", "modality": "weekly"})
    with pytest.raises(IonQInvalidAnswer, match="group_type"):
        parse_usages(text, Q)


# -- item 6: an overall deadline per request ---------------------------------------------------


def test_a_dripping_answer_hits_the_request_deadline(sim, org):
    sim.drip(times=10, seconds=0.2)
    sleep = RecordedSleep()
    with (
        IonQClient(
            sim.base_url, org.org_id, API_KEY, sleep=sleep, request_deadline=1.0, max_attempts=2
        ) as client,
        pytest.raises(IonQUnavailable) as info,
    ):
        client.usage(Q)
    assert info.value.retryable and "1s" in str(info.value)
    assert len(sleep.waits) == 1  # retried like any timeout


def test_the_request_deadline_reads_the_injected_clock(sim, org):
    sim.drip(times=1, seconds=0.01)
    ticks = iter(range(1_000_000))
    with (
        IonQClient(
            sim.base_url,
            org.org_id,
            API_KEY,
            sleep=RecordedSleep(),
            clock=lambda: float(next(ticks)),  # each read of the clock is a second later
            request_deadline=5.0,
            max_attempts=1,
        ) as client,
        pytest.raises(IonQUnavailable),
    ):
        client.usage(Q)
