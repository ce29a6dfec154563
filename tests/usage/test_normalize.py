"""Normalizing IonQ answers: bucket spans, USD extraction, bounds from the top-5 lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgetbot.ionq import GroupBy, Modality, UsageQuery, Usages
from budgetbot.usage import Bound, Measure, UsageDataError, normalize, usd_of

D = Decimal


def body(buckets: list[dict], **top) -> Usages:
    return Usages.model_validate({"usage_data": buckets, "usage_unit": "USD", **top})


def bucket(day: str, amount: str, groups: list[tuple[str, str]], **extra) -> dict:
    return {
        "from": day,
        "amount": D(amount),
        "time_us": D(1000),
        "job_count": 10,
        "group_usages": [
            {
                "group_id": g,
                "group_name": g.upper(),
                "amount": D(a),
                "time_us": D(100),
                "job_count": 1,
            }
            for g, a in groups
        ],
        **extra,
    }


def q(modality: Modality, start: str, end: str) -> UsageQuery:
    return UsageQuery(
        group_by=GroupBy.PROJECT,
        modality=modality,
        start=dt.date.fromisoformat(start),
        end=dt.date.fromisoformat(end),
    )


FIVE = [("a", "50"), ("b", "40"), ("c", "30"), ("d", "20"), ("e", "10")]


def test_unlisted_group_is_capped_by_remainder_and_fifth_amount():
    series = normalize(
        body([bucket("2026-11-02", "200", FIVE)]), q(Modality.DAILY, "2026-11-02", "2026-11-03")
    )
    assert series.figure(["a"], Measure.USD) == Bound(D(50), D(50))
    # Remainder is 50, the fifth listed is 10: an unlisted group spent at most 10.
    assert series.figure(["zzz"], Measure.USD) == Bound(D(0), D(10))
    # Two unlisted groups together can have the whole remainder but no more.
    many = [f"x{i}" for i in range(10)]
    assert series.figure(many, Measure.USD) == Bound(D(0), D(50))
    assert series.total(Measure.USD) == D(200)


def test_fewer_than_five_listed_means_the_rest_spent_nothing():
    series = normalize(
        body([bucket("2026-11-02", "90", FIVE[:2])]), q(Modality.DAILY, "2026-11-02", "2026-11-03")
    )
    assert series.figure(["zzz"], Measure.USD) == Bound(D(0), D(0))


def test_bucket_spans_follow_modality_and_next_bucket():
    answer = body(
        [
            bucket("2026-11-09", "5", []),
            bucket("2026-11-04", "5", []),  # a clipped first ISO week
        ]
    )
    series = normalize(answer, q(Modality.WEEKLY, "2026-11-04", "2026-11-12"))
    spans = [(b.start, b.end) for b in series.buckets]
    assert spans == [
        (dt.date(2026, 11, 4), dt.date(2026, 11, 9)),
        (dt.date(2026, 11, 9), dt.date(2026, 11, 12)),
    ]


def test_an_omitted_empty_day_does_not_stretch_its_neighbour():
    answer = body([bucket("2026-11-03", "5", []), bucket("2026-11-01", "7", [])])
    series = normalize(answer, q(Modality.DAILY, "2026-11-01", "2026-11-04"))
    assert [(b.start, b.end) for b in series.buckets] == [
        (dt.date(2026, 11, 1), dt.date(2026, 11, 2)),
        (dt.date(2026, 11, 3), dt.date(2026, 11, 4)),
    ]
    assert series.total(Measure.USD, dt.date(2026, 11, 2), dt.date(2026, 11, 3)) == 0


def test_windows_must_fall_on_bucket_boundaries():
    series = normalize(
        body([bucket("2026-11-01", "5", [])]), q(Modality.MONTHLY, "2026-11-01", "2026-12-01")
    )
    with pytest.raises(ValueError):
        series.total(Measure.USD, dt.date(2026, 11, 1), dt.date(2026, 11, 15))


def test_bucket_outside_the_query_is_refused():
    with pytest.raises(UsageDataError):
        normalize(
            body([bucket("2026-12-05", "5", [])]), q(Modality.DAILY, "2026-11-01", "2026-11-04")
        )


def test_credits_use_the_usd_part_of_the_breakdown():
    raw = bucket("2026-11-02", "300", [("a", "300")])
    raw["amount_unit"] = "credits"
    raw["amounts"] = [{"amount": D("120.50"), "unit": "USD"}, {"amount": D(180), "unit": "credits"}]
    raw["group_usages"][0]["amount_unit"] = "credits"
    raw["group_usages"][0]["amounts"] = [{"amount": D("120.50"), "unit": "usd"}]
    series = normalize(body([raw]), q(Modality.DAILY, "2026-11-02", "2026-11-03"))
    assert series.total(Measure.USD) == D("120.50")
    assert series.figure(["a"], Measure.USD) == Bound(D("120.50"), D("120.50"))


def test_credits_without_breakdown_give_no_usd_figure():
    raw = bucket("2026-11-02", "300", [("a", "300")])
    raw["amount_unit"] = "credits"
    series = normalize(body([raw]), q(Modality.DAILY, "2026-11-02", "2026-11-03"))
    assert series.total(Measure.USD) is None
    assert series.figure(["a"], Measure.USD) is None
    # QPU time and jobs do not depend on the currency.
    assert series.total(Measure.JOBS) == D(10)


def test_qpu_hours_from_microseconds():
    raw = bucket("2026-11-02", "1", [])
    raw["time_us"] = D(7_200_000_000)
    series = normalize(body([raw]), q(Modality.DAILY, "2026-11-02", "2026-11-03"))
    assert series.total(Measure.QPU_HOURS) == D(2)


def test_empty_answer_is_all_zero():
    series = normalize(body([]), q(Modality.DAILY, "2026-11-01", "2026-11-04"))
    assert series.total(Measure.USD) == 0
    assert series.figure(["a"], Measure.USD) == Bound(D(0), D(0))


def test_a_bucket_wholly_before_the_query_is_refused_not_moved_into_it():
    answer = body([bucket("2026-11-09", "999", [])])  # the week before the one asked for
    with pytest.raises(UsageDataError):
        normalize(answer, q(Modality.WEEKLY, "2026-11-16", "2026-11-23"))


def test_credits_whose_breakdown_has_no_usd_entry_give_no_usd_figure():
    # IonQ lists the per-unit breakdown, and it holds credits only: that is no USD figure (the
    # README's promise), not $0 spent.
    raw = bucket("2026-11-02", "300", [("a", "300")])
    raw["amount_unit"] = "credits"
    raw["amounts"] = [{"amount": D(300), "unit": "credits"}]
    raw["group_usages"][0]["amount_unit"] = "credits"
    raw["group_usages"][0]["amounts"] = [{"amount": D(300), "unit": "credits"}]
    series = normalize(
        Usages.model_validate(
            {
                "usage_data": [raw],
                "usage_unit": "credits",
                "amount_total": D(300),
                "amount_totals": [{"amount": D(300), "unit": "credits"}],
            }
        ),
        q(Modality.DAILY, "2026-11-02", "2026-11-03"),
    )
    assert series.total(Measure.USD) is None
    assert series.figure(["a"], Measure.USD) is None
    assert series.reported_usd_total is None
    assert usd_of(D(300), "credits", [], "USD") is None
