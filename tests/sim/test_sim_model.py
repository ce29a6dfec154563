"""The seeded organization: determinism, the shape of its spend, and IonQ's answer format."""

from __future__ import annotations

import json
import re
import statistics
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

import budgetbot.sim
from budgetbot.sim import GroupTotals, Job, SimOrg, to_json
from budgetbot.sim.model import bucket_bounds

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
QUARTER = (date(2026, 7, 1), date(2026, 10, 1))


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def top5(truth: dict[str, GroupTotals]) -> list[str]:
    return [g for g, _ in sorted(truth.items(), key=lambda kv: (-kv[1].amount, kv[0]))][:5]


def daily_project_spend(org: SimOrg, start: date, end: date) -> dict[date, dict[str, Decimal]]:
    out: dict[date, dict[str, Decimal]] = {}
    for day in days(start, end):
        truth = org.truth("project", day, day + timedelta(days=1))
        out[day] = {p.id: truth[p.id].amount if p.id in truth else Decimal(0) for p in org.projects}
    return out


# --- the public surface ---------------------------------------------------------------------


def test_exports_are_pinned() -> None:
    assert {
        "GroupTotals",
        "Job",
        "Project",
        "RecordedRequest",
        "SimOrg",
        "SimServer",
        "User",
        "to_json",
    } <= set(budgetbot.sim.__all__)
    for name in budgetbot.sim.__all__:
        assert hasattr(budgetbot.sim, name), name
    # everything public the package exports is listed, and nothing else
    modules = {n for n, v in vars(budgetbot.sim).items() if type(v) is type(budgetbot.sim)}
    public = {n for n in vars(budgetbot.sim) if not n.startswith("_")} - modules
    assert public == set(budgetbot.sim.__all__)


# --- make-up and determinism ------------------------------------------------------------------


def test_organization_make_up(sim_org: SimOrg) -> None:
    assert len(sim_org.projects) >= 10
    assert len(sim_org.users) >= 14
    ids = [p.id for p in sim_org.projects] + [u.id for u in sim_org.users]
    assert len(set(ids)) == len(ids)
    assert all(UUID.fullmatch(i) for i in ids)
    assert len({p.name for p in sim_org.projects}) == len(sim_org.projects)
    assert len(sim_org.quiet_projects) >= 2
    project_ids = {p.id for p in sim_org.projects}
    for user in sim_org.users:
        assert user.project_ids and set(user.project_ids) <= project_ids
    for project in sim_org.projects:
        assert project.user_ids, project.name
        for user_id in project.user_ids:
            assert project.id in next(u for u in sim_org.users if u.id == user_id).project_ids
    assert any(len(u.project_ids) > 1 for u in sim_org.users)
    assert sim_org.project("Quantum Chem") is sim_org.project(sim_org.project("Quantum Chem").id)
    assert sim_org.user("Alice Nakamura").email == "alice.nakamura@example.org"
    with pytest.raises(KeyError):
        sim_org.project("No Such Project")


def test_same_seed_same_answers_other_seed_other_answers() -> None:
    a, b, c = SimOrg(), SimOrg(7), SimOrg(8)
    start, end = date(2026, 3, 1), date(2026, 3, 15)
    # b generates days in another order first: a day's jobs never depend on what came before
    b.jobs(date(2026, 3, 10), date(2026, 3, 12))
    for group_by in ("project", "user", "job"):
        assert to_json(a.usage_body(group_by, "daily", start, end)) == to_json(
            b.usage_body(group_by, "daily", start, end)
        )
    assert [p.id for p in a.projects] == [p.id for p in b.projects]
    assert [p.id for p in a.projects] != [p.id for p in c.projects]
    assert a.jobs(start, end) != c.jobs(start, end)
    assert SimOrg(org_id="org-x").usage_body("project", "daily", start, end)["organization"] == (
        "org-x"
    )


def test_history_is_unbounded(sim_org: SimOrg) -> None:
    for day in (date(2019, 1, 1), date(2025, 12, 31), date(2031, 6, 15)):
        assert sim_org.day_jobs(day), day
    assert sim_org.day_jobs(date(2024, 2, 29)) == SimOrg().day_jobs(date(2024, 2, 29))


def test_jobs_are_well_formed(sim_org: SimOrg) -> None:
    start, end = date(2026, 5, 1), date(2026, 6, 1)
    jobs = sim_org.jobs(start, end)
    users = {u.id: u for u in sim_org.users}
    assert len({j.id for j in jobs}) == len(jobs)
    for job in jobs:
        assert isinstance(job, Job)
        assert UUID.fullmatch(job.id)
        assert job.name
        assert job.amount.as_tuple().exponent == -2 and job.amount >= Decimal("1.00")
        exponent = job.time_us.as_tuple().exponent
        assert isinstance(exponent, int) and exponent >= -6
        assert job.time_us > 0
        # roughly proportional to the amount: a dollar buys ~2,000-15,000 µs
        assert 2_000 <= job.time_us / job.amount <= 15_000
        assert job.submitted_at.tzinfo is UTC
        assert start <= job.submitted_at.date() < end
        assert job.project_id in users[job.user_id].project_ids
    assert jobs == sorted(jobs, key=lambda j: (j.submitted_at, j.id))
    amounts = sorted(j.amount for j in jobs)
    assert Decimal(5) <= statistics.median(amounts) <= Decimal(600)
    assert amounts[-1] < Decimal(3000)


# --- the shape of the spend -----------------------------------------------------------------


def test_daily_totals_and_job_counts_are_in_range(sim_org: SimOrg) -> None:
    totals = [sim_org.total(d, d + timedelta(days=1)) for d in days(*QUARTER)]
    amounts = [t.amount for t in totals]
    counts = [t.job_count for t in totals]
    assert Decimal(3000) <= statistics.median(amounts) <= Decimal(15000)
    assert min(amounts) >= Decimal(1500)
    assert max(amounts) <= Decimal(18000)
    assert 20 <= statistics.median(counts) <= 120
    assert min(counts) >= 5 and max(counts) <= 150


def test_weekly_rhythm(sim_org: SimOrg) -> None:
    weekday: list[Decimal] = []
    weekend: list[Decimal] = []
    for day in days(*QUARTER):
        amount = sim_org.total(day, day + timedelta(days=1)).amount
        (weekend if day.weekday() >= 5 else weekday).append(amount)
    assert statistics.mean(weekday) > Decimal("1.5") * statistics.mean(weekend)


def test_project_levels_differ_a_lot(sim_org: SimOrg) -> None:
    truth = sim_org.truth("project", *QUARTER)
    amounts = sorted(t.amount for t in truth.values())
    assert amounts[-1] > 20 * amounts[0]
    biggest = max(truth.values(), key=lambda t: t.amount)
    assert biggest.name == "Quantum Chem"


def test_quiet_projects_hide_outside_the_top_5_but_spend(sim_org: SimOrg) -> None:
    start, end = QUARTER
    body = sim_org.usage_body("project", "daily", start, end)
    n_days = len(body["usage_data"])
    listed = [{g["group_id"] for g in b["group_usages"]} for b in body["usage_data"]]
    quiet_total = Decimal(0)
    truth = sim_org.truth("project", start, end)
    for project in sim_org.quiet_projects:
        in_top = sum(project.id in ids for ids in listed)
        active = sum(
            1
            for day in days(start, end)
            if project.id in sim_org.truth("project", day, day + timedelta(days=1))
        )
        assert in_top <= n_days // 10, project.name
        assert active >= n_days // 4, project.name
        quiet_total += truth[project.id].amount
    # together they matter: thousands of dollars a quarter that the top 5 never shows
    assert quiet_total >= Decimal(5000)
    assert quiet_total >= Decimal("0.01") * sum((t.amount for t in truth.values()), Decimal(0))


def test_spikes_happen_once_or_twice_a_month(sim_org: SimOrg) -> None:
    spend = daily_project_spend(sim_org, date(2025, 11, 1), date(2026, 11, 1))
    spikes = 0
    for project in sim_org.projects:
        if project.quiet:
            continue  # their medians are tiny and noisy; spikes are checked on the others
        series = [spend[d][project.id] for d in sorted(spend)]
        median = statistics.median(series)
        spikes += sum(1 for amount in series if amount >= 3 * median)
    assert 6 <= spikes <= 40


def test_there_is_a_slow_trend(sim_org: SimOrg) -> None:
    monthly = sim_org.usage_body("project", "monthly", date(2025, 1, 1), date(2027, 1, 1))
    amounts = [b["amount"] for b in monthly["usage_data"]]
    assert max(amounts) > Decimal("1.15") * min(amounts)


# --- jobs, truth and `until` --------------------------------------------------------------------


def test_until_drops_jobs_submitted_at_or_after_it(sim_org: SimOrg) -> None:
    day = date(2026, 11, 18)
    all_jobs = sim_org.jobs(day, day + timedelta(days=1))
    cut = all_jobs[len(all_jobs) // 2].submitted_at
    before = sim_org.jobs(day, day + timedelta(days=1), until=cut)
    assert before == [j for j in all_jobs if j.submitted_at < cut]
    assert 0 < len(before) < len(all_jobs)
    # usage counts a job once it completed (billed), so `until` cuts by completion
    billed = sim_org.billed(day, day + timedelta(days=1), until=cut)
    whole_day = sim_org.billed(day, day + timedelta(days=1))
    assert billed == [j for j in whole_day if j.completed_at < cut]
    assert 0 < len(billed) < len(whole_day)
    assert all(j.completed_at.date() == day for j in whole_day)
    truth = sim_org.truth("project", day, day + timedelta(days=1), until=cut)
    assert sum(t.job_count for t in truth.values()) == len(billed)
    body = sim_org.usage_body("project", "daily", day, day + timedelta(days=1), until=cut)
    assert body["job_count"] == len(billed)
    assert body["amount_total"] == sum((j.amount for j in billed), Decimal(0))
    with pytest.raises(ValueError, match="timezone"):
        sim_org.jobs(day, day + timedelta(days=1), until=datetime(2026, 11, 18, 12))


def test_truth_matches_jobs(sim_org: SimOrg) -> None:
    start, end = date(2026, 2, 1), date(2026, 2, 8)
    jobs = sim_org.billed(start, end)  # usage counts the jobs billed (completed) in the range
    for group_by, key in (("project", "project_id"), ("user", "user_id"), ("job", "id")):
        truth = sim_org.truth(group_by, start, end)  # type: ignore[arg-type]
        assert sum(t.job_count for t in truth.values()) == len(jobs)
        for group_id, totals in truth.items():
            mine = [j for j in jobs if getattr(j, key) == group_id]
            assert totals.amount == sum((j.amount for j in mine), Decimal(0))
            assert totals.time_us == sum((j.time_us for j in mine), Decimal(0))
            assert totals.job_count == len(mine)
    assert {t.name for t in sim_org.truth("user", start, end).values()} <= {
        u.name for u in sim_org.users
    }


# --- usage_body: IonQ's answer ------------------------------------------------------------------


def test_top_level_fields(sim_org: SimOrg) -> None:
    body = sim_org.usage_body("project", "daily", date(2026, 11, 1), date(2026, 11, 8))
    assert body["usage_unit"] == "USD"
    assert body["group_type"] == "project"
    assert body["modality"] == "daily"
    assert body["organization"] == sim_org.org_id
    assert body["usage_from"] == "2026-11-01T00:00:00Z"
    assert body["usage_to"] == "2026-11-08T00:00:00Z"
    assert "amount_totals" not in body
    assert body["amount_total"] == sum((b["amount"] for b in body["usage_data"]), Decimal(0))
    assert body["time_us_total"] == sum((b["time_us"] for b in body["usage_data"]), Decimal(0))
    assert body["job_count"] == sum(b["job_count"] for b in body["usage_data"])


def test_daily_buckets_most_recent_first_end_exclusive(sim_org: SimOrg) -> None:
    start, end = date(2026, 10, 26), date(2026, 11, 2)
    body = sim_org.usage_body("project", "daily", start, end)
    froms = [b["from"] for b in body["usage_data"]]
    assert froms == [(end - timedelta(days=i)).isoformat() for i in range(1, 8)]
    total = sim_org.total(start, end)
    assert body["amount_total"] == total.amount
    assert body["job_count"] == total.job_count
    # the end date's own jobs are not in it
    with_end = sim_org.total(start, end + timedelta(days=1))
    assert with_end.amount > total.amount


@pytest.mark.parametrize("group_by", ["project", "user", "job"])
def test_group_usages_are_the_true_top_5(sim_org: SimOrg, group_by: Any) -> None:
    start, end = date(2026, 9, 1), date(2026, 9, 15)
    body = sim_org.usage_body(group_by, "daily", start, end)
    for bucket in body["usage_data"]:
        day = date.fromisoformat(bucket["from"])
        truth = sim_org.truth(group_by, day, day + timedelta(days=1))
        groups = bucket["group_usages"]
        assert len(groups) == min(5, len(truth))
        assert [g["group_id"] for g in groups] == top5(truth)
        amounts = [g["amount"] for g in groups]
        assert amounts == sorted(amounts, reverse=True)
        for g in groups:
            t = truth[g["group_id"]]
            assert (g["group_name"], g["amount"], g["time_us"], g["job_count"]) == (
                t.name,
                t.amount,
                t.time_us,
                t.job_count,
            )
        # the bucket's totals cover every group, listed or not
        assert bucket["amount"] == sum((t.amount for t in truth.values()), Decimal(0))
        assert bucket["time_us"] == sum((t.time_us for t in truth.values()), Decimal(0))
        assert bucket["job_count"] == sum(t.job_count for t in truth.values())
        if len(truth) > 5:
            assert bucket["amount"] > sum(amounts, Decimal(0))


def test_job_grouping_names_the_job(sim_org: SimOrg) -> None:
    day = date(2026, 4, 7)
    jobs = {j.id: j for j in sim_org.day_jobs(day)}
    body = sim_org.usage_body("job", "daily", day, day + timedelta(days=1))
    for g in body["usage_data"][0]["group_usages"]:
        job = jobs[g["group_id"]]
        assert (g["group_name"], g["amount"], g["job_count"]) == (job.name, job.amount, 1)


def test_weekly_buckets_follow_iso_weeks_across_new_year(sim_org: SimOrg) -> None:
    start, end = date(2025, 12, 24), date(2026, 1, 10)  # a Wednesday to a Saturday
    body = sim_org.usage_body("project", "weekly", start, end)
    froms = [b["from"] for b in body["usage_data"]]
    # ISO week 1 of 2026 starts on Monday 2025-12-29 and holds New Year's Day
    assert froms == ["2026-01-05", "2025-12-29", "2025-12-24"]
    bounds = [
        (date(2026, 1, 5), end),
        (date(2025, 12, 29), date(2026, 1, 5)),
        (start, date(2025, 12, 29)),
    ]
    for bucket, (lo, hi) in zip(body["usage_data"], bounds, strict=True):
        total = sim_org.total(lo, hi)
        assert (bucket["amount"], bucket["job_count"]) == (total.amount, total.job_count)
        assert [g["group_id"] for g in bucket["group_usages"]] == top5(
            sim_org.truth("project", lo, hi)
        )


def test_monthly_buckets_are_calendar_months_clipped(sim_org: SimOrg) -> None:
    start, end = date(2026, 1, 15), date(2026, 4, 10)
    body = sim_org.usage_body("user", "monthly", start, end)
    assert [b["from"] for b in body["usage_data"]] == [
        "2026-04-01",
        "2026-03-01",
        "2026-02-01",
        "2026-01-15",
    ]
    feb = body["usage_data"][2]
    assert feb["amount"] == sim_org.total(date(2026, 2, 1), date(2026, 3, 1)).amount
    december = sim_org.usage_body("project", "monthly", date(2025, 12, 1), date(2026, 1, 1))
    assert [b["from"] for b in december["usage_data"]] == ["2025-12-01"]


def test_bucket_bounds() -> None:
    assert bucket_bounds("daily", date(2026, 1, 1), date(2026, 1, 3)) == [
        (date(2026, 1, 1), date(2026, 1, 2)),
        (date(2026, 1, 2), date(2026, 1, 3)),
    ]
    assert bucket_bounds("weekly", date(2026, 1, 5), date(2026, 1, 12)) == [
        (date(2026, 1, 5), date(2026, 1, 12)),
    ]
    assert bucket_bounds("monthly", date(2025, 12, 31), date(2026, 1, 2)) == [
        (date(2025, 12, 31), date(2026, 1, 1)),
        (date(2026, 1, 1), date(2026, 1, 2)),
    ]
    with pytest.raises(ValueError):
        bucket_bounds("daily", date(2026, 1, 2), date(2026, 1, 2))
    with pytest.raises(ValueError):
        bucket_bounds("hourly", date(2026, 1, 1), date(2026, 1, 2))  # type: ignore[arg-type]


def test_every_bucket_is_listed_even_without_usage(sim_org: SimOrg) -> None:
    now = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    body = sim_org.usage_body("project", "daily", date(2026, 11, 17), date(2026, 11, 21), until=now)
    by_day = {b["from"]: b for b in body["usage_data"]}
    assert list(by_day) == ["2026-11-20", "2026-11-19", "2026-11-18", "2026-11-17"]
    for future in ("2026-11-20", "2026-11-19"):
        assert by_day[future]["amount"] == 0
        assert by_day[future]["time_us"] == 0
        assert by_day[future]["job_count"] == 0
        assert by_day[future]["group_usages"] == []
    today = sim_org.total(date(2026, 11, 18), date(2026, 11, 19))
    assert 0 < by_day["2026-11-18"]["amount"] < today.amount
    assert (
        by_day["2026-11-18"]["amount"]
        == sim_org.total(date(2026, 11, 18), date(2026, 11, 19), until=now).amount
    )


def test_new_fields(sim_org: SimOrg) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 15)
    old = sim_org.usage_body("project", "weekly", start, end)
    new = sim_org.usage_body("project", "weekly", start, end, new_fields=True)
    assert new["amount_totals"] == [{"amount": new["amount_total"], "unit": "USD"}]
    for bucket in new["usage_data"]:
        assert bucket["amount_unit"] == "USD"
        assert bucket["amounts"] == [{"amount": bucket["amount"], "unit": "USD"}]
        for g in bucket["group_usages"]:
            assert g["amount_unit"] == "USD"
            assert g["amounts"] == [{"amount": g["amount"], "unit": "USD"}]
    stripped = json.loads(to_json(new), parse_float=Decimal)
    stripped.pop("amount_totals")
    for bucket in stripped["usage_data"]:
        bucket.pop("amount_unit"), bucket.pop("amounts")
        for g in bucket["group_usages"]:
            g.pop("amount_unit"), g.pop("amounts")
    assert stripped == json.loads(to_json(old), parse_float=Decimal)


def test_usage_body_rejects_bad_arguments(sim_org: SimOrg) -> None:
    with pytest.raises(ValueError):
        sim_org.usage_body("project", "daily", date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(ValueError):
        sim_org.usage_body("team", "daily", date(2026, 1, 1), date(2026, 1, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sim_org.usage_body(
            "project",
            "daily",
            date(2026, 1, 1),
            date(2026, 1, 2),
            until=datetime.combine(date(2026, 1, 1), time(12)),
        )


# --- exact JSON numbers ---------------------------------------------------------------------


def test_to_json_writes_exact_decimals(sim_org: SimOrg) -> None:
    text = to_json(
        {
            "a": Decimal("1614.23"),
            "b": Decimal("1614.20"),
            "c": Decimal("1614.00"),
            "d": Decimal("1566154.312523"),
            "e": Decimal(0),
            "f": Decimal("0.000001"),
            "g": Decimal("1E+3"),
            "h": [1, True, None, 'x"\n\u00e9'],
            "i": -Decimal(0),
        }
    )
    assert text == (
        '{"a": 1614.23, "b": 1614.2, "c": 1614, "d": 1566154.312523, "e": 0, "f": 0.000001, '
        '"g": 1000, "h": [1, true, null, "x\\"\\n\\u00e9"], "i": 0}'
    )
    parsed = json.loads(text, parse_float=Decimal)
    assert parsed["d"] == Decimal("1566154.312523") and parsed["b"] == Decimal("1614.20")
    body = sim_org.usage_body("job", "monthly", date(2026, 1, 1), date(2026, 3, 1))
    assert json.loads(to_json(body), parse_float=Decimal) == body
    assert json.loads(to_json(body)) is not None  # plain json reads it too
    for bad in (Decimal("NaN"), float("inf"), object(), {1: 2}):
        with pytest.raises((TypeError, ValueError)):
            to_json(bad)
