"""The simulated queue: timelines, billing by completion, cancel, clone and submit (no HTTP).

Every test that changes the queue builds its own ``SimOrg``: the session's ``sim_org`` is shared.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from budgetbot.sim import Job, SimOrg
from budgetbot.sim.queue import BILLING_LAG_DAYS, QUEUED

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
ONE_DAY = timedelta(days=1)
MOMENTS = (
    NOW,
    datetime(2026, 11, 17, 3, 0, tzinfo=UTC),  # the small hours after a busy Monday
    datetime(2026, 11, 16, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 11, 15, 0, 0, tzinfo=UTC),  # a Sunday's first instant
)


def completed_by_hand(org: SimOrg, day: date, now: datetime | None) -> list[Job]:
    """The jobs that completed on ``day`` (before ``now``), read from each job's own timeline."""
    return [
        job
        for job in org.jobs(day - timedelta(days=BILLING_LAG_DAYS + 1), day + ONE_DAY)
        if job.completed_at.date() == day
        and (now is None or job.completed_at < now)
        and org.cancelled_at(job.id) is None
    ]


def by_project(jobs: list[Job]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for job in jobs:
        out[job.project_id] = out.get(job.project_id, Decimal(0)) + job.amount
    return out


# --- the timeline ---------------------------------------------------------------------------


def test_the_queue_stream_leaves_amounts_names_and_ids_as_they_were(sim_org: SimOrg) -> None:
    digest = hashlib.sha256()
    day = date(2026, 11, 1)
    while day < date(2026, 11, 22):
        for j in sim_org.day_jobs(day):
            line = (
                f"{j.id}|{j.name}|{j.project_id}|{j.user_id}|{j.submitted_at.isoformat()}"
                f"|{j.amount}|{j.time_us}\n"
            )
            digest.update(line.encode())
        day += ONE_DAY
    # the fingerprint of these three weeks before the queue existed
    assert digest.hexdigest() == "af5ff8a293446379485d3c9fb9a3983b60b0afeb9a34c5b3e77a632c27bee062"


def test_every_job_is_submitted_then_ready_then_started_then_completed(sim_org: SimOrg) -> None:
    for job in sim_org.jobs(date(2026, 11, 1), date(2026, 11, 19)):
        t = job.timeline
        assert job.submitted_at <= t.ready_at <= t.started_at < t.completed_at
        assert t.ready_at - job.submitted_at <= timedelta(minutes=1)  # "submitted" is brief
        assert (job.completed_at.date() - job.submitted_at.date()).days <= BILLING_LAG_DAYS
        assert t.completed_at.microsecond % 1000 == 0  # whole milliseconds, as IonQ writes them
        assert t.predicted_wait_ms > 0 and t.predicted_run_ms > 0 and t.predicted_us > 0
        assert abs(t.estimate - job.amount) <= job.amount * Decimal("0.15") + Decimal("0.01")
        assert t.estimate.as_tuple().exponent == -2
        assert sim_org.status(job, job.submitted_at) == "submitted"
        assert sim_org.status(job, t.started_at) == "started"
        assert sim_org.status(job, t.completed_at) == "started"  # billed strictly after
        assert sim_org.status(job, t.completed_at + timedelta(microseconds=1)) == "completed"
        assert sim_org.status(job, job.submitted_at - timedelta(microseconds=1)) is None


def test_waits_are_minutes_on_a_quiet_day_and_hours_on_a_busy_one(sim_org: SimOrg) -> None:
    def median_wait_minutes(day: date) -> float:
        jobs = sim_org.day_jobs(day)
        return statistics.median((j.started_at - j.submitted_at).total_seconds() / 60 for j in jobs)

    quiet = date(2026, 11, 15)  # a Sunday
    busy = date(2026, 11, 17)  # a Tuesday
    assert sim_org.total(quiet, quiet + ONE_DAY).amount < sim_org.total(busy, busy + ONE_DAY).amount
    assert median_wait_minutes(quiet) < 30
    assert median_wait_minutes(busy) > 60


# --- billing by completion ------------------------------------------------------------------------


@pytest.mark.parametrize("now", MOMENTS, ids=lambda m: m.isoformat())
def test_a_days_usage_is_the_jobs_completed_that_day(sim_org: SimOrg, now: datetime) -> None:
    start = now.date() - timedelta(days=3)
    body = sim_org.usage_body("project", "daily", start, now.date() + ONE_DAY, until=now)
    buckets = {b["from"]: b for b in body["usage_data"]}
    for offset in range(4):
        day = start + timedelta(days=offset)
        jobs = completed_by_hand(sim_org, day, now)
        bucket = buckets[day.isoformat()]
        assert bucket["amount"] == sum((j.amount for j in jobs), Decimal(0))
        assert bucket["job_count"] == len(jobs)
        truth = sim_org.truth("project", day, day + ONE_DAY, until=now)
        assert {p: t.amount for p, t in truth.items()} == by_project(jobs)  # to the cent
        for group in bucket["group_usages"]:
            assert group["amount"] == by_project(jobs)[group["group_id"]]


def test_a_job_submitted_late_is_billed_on_the_day_it_completes(sim_org: SimOrg) -> None:
    late = [
        j
        for j in sim_org.jobs(date(2026, 11, 2), date(2026, 11, 19))
        if j.completed_at.date() > j.submitted_at.date()
    ]
    assert late  # a job submitted in the evening of a busy day completes after midnight
    job = late[0]
    submitted_day, completed_day = job.submitted_at.date(), job.completed_at.date()
    in_submitted = sim_org.truth("job", submitted_day, submitted_day + ONE_DAY)
    in_completed = sim_org.truth("job", completed_day, completed_day + ONE_DAY)
    assert job.id not in in_submitted
    assert in_completed[job.id].amount == job.amount
    just_before = sim_org.truth(
        "job", completed_day, completed_day + ONE_DAY, until=job.completed_at
    )
    assert job.id not in just_before


@pytest.mark.parametrize("now", MOMENTS, ids=lambda m: m.isoformat())
def test_queued_jobs_are_those_submitted_and_not_completed(sim_org: SimOrg, now: datetime) -> None:
    candidates = sim_org.jobs(now.date() - timedelta(days=5), now.date() + ONE_DAY)
    expected = [j for j in candidates if j.submitted_at <= now <= j.completed_at]
    queued = sim_org.queued(now)
    assert queued == expected
    assert all(sim_org.status(j, now) in QUEUED for j in queued)
    chem = sim_org.project("Quantum Chem")
    assert sim_org.queued(now, "Quantum Chem") == [j for j in expected if j.project_id == chem.id]
    # and none of them is in usage yet
    billed = {j.id for j in sim_org.billed(now.date() - timedelta(days=3), now.date(), until=now)}
    assert not billed & {j.id for j in queued}


def test_a_busy_afternoon_has_jobs_in_every_queued_status(sim_org: SimOrg) -> None:
    seen: set[str | None] = set()
    moment = datetime(2026, 11, 17, 12, tzinfo=UTC)
    while moment < datetime(2026, 11, 17, 20, tzinfo=UTC):
        seen |= {sim_org.status(j, moment) for j in sim_org.queued(moment)}
        moment += timedelta(minutes=7)
    assert {"ready", "started"} <= seen
    # "submitted" lasts seconds: a job is in it at the moment it is submitted
    job = sim_org.day_jobs(date(2026, 11, 17))[30]
    assert job in sim_org.queued(job.submitted_at)
    assert sim_org.status(job, job.submitted_at + timedelta(seconds=1)) == "submitted"


# --- cancel, clone, submit ------------------------------------------------------------------------


def test_cancel_removes_a_job_from_usage_forever_and_twice_is_harmless() -> None:
    org, fresh = SimOrg(), SimOrg()
    waiting = [j for j in org.queued(NOW) if org.status(j, NOW) == "ready"]
    job = waiting[0]
    day = job.completed_at.date()
    assert org.cancel([job.id], NOW) == [job.id]
    assert org.cancel([job.id], NOW + timedelta(minutes=1)) == [job.id]  # harmless
    assert org.cancelled_at(job.id) == NOW
    assert org.status(job, NOW - timedelta(seconds=1)) == "ready"
    assert org.status(job, NOW) == org.status(job, job.completed_at + ONE_DAY) == "canceled"
    assert job not in org.queued(NOW)
    for until in (None, job.completed_at + timedelta(seconds=1), NOW + timedelta(days=30)):
        assert job.id not in org.truth("job", day, day + ONE_DAY, until=until)
        assert (
            fresh.total(day, day + ONE_DAY, until=until).amount
            - org.total(day, day + ONE_DAY, until=until).amount
            == job.amount
        )
    assert job.id in fresh.truth("job", day, day + ONE_DAY)


def test_a_started_or_completed_job_cannot_be_cancelled() -> None:
    org = SimOrg()
    started = org.day_jobs(date(2026, 11, 17))[40]
    moment = started.started_at + timedelta(seconds=1)
    assert org.status(started, moment) == "started"
    completed = org.billed(date(2026, 11, 17), date(2026, 11, 18), until=moment)[0]
    ready = next(j for j in org.queued(moment) if org.status(j, moment) == "ready")
    ids = [started.id, completed.id, "00000000-0000-4000-8000-000000000000", ready.id]
    assert org.cancel(ids, moment) == [ready.id]
    assert org.status(started, moment) == "started"
    day = started.completed_at.date()
    assert started.id in org.truth("job", day, day + ONE_DAY)


def test_a_clone_is_a_new_job_billed_once_when_it_completes() -> None:
    org, fresh = SimOrg(), SimOrg()
    original = org.billed(date(2026, 11, 17), date(2026, 11, 18))[0]
    copy = org.clone(original.id, NOW, name="again")
    assert copy.id != original.id and copy.parent_job_id == original.id
    assert (copy.project_id, copy.user_id, copy.amount, copy.time_us) == (
        original.project_id,
        original.user_id,
        original.amount,
        original.time_us,
    )
    assert copy.name == "again" and copy.submitted_at == NOW
    assert org.status(copy, NOW) == "submitted" and copy in org.queued(NOW)
    assert org.find(copy.id, NOW) == copy
    day = copy.completed_at.date()
    assert day - NOW.date() <= timedelta(days=BILLING_LAG_DAYS)
    assert copy.id not in org.truth("job", day, day + ONE_DAY, until=copy.completed_at)
    billed_days = [
        d
        for d in (NOW.date() + timedelta(days=i) for i in range(4))
        if copy.id in org.truth("job", d, d + ONE_DAY)
    ]
    assert billed_days == [day]  # once
    window = (NOW.date() - ONE_DAY, NOW.date() + timedelta(days=4))
    assert org.total(*window).amount - fresh.total(*window).amount == original.amount
    with pytest.raises(KeyError):
        org.clone("00000000-0000-4000-8000-000000000000", NOW)


def test_submitted_jobs_queue_now_and_are_billed_later_like_the_others() -> None:
    org, fresh = SimOrg(), SimOrg()
    chem = org.project("Quantum Chem")
    jobs = org.submit("Quantum Chem", "Alice Nakamura", ["1000"] * 4 + [Decimal("1000.00")], NOW)
    assert len(jobs) == 5 and len({j.id for j in jobs}) == 5
    assert all(j.project_id == chem.id and j.submitted_at == NOW for j in jobs)
    assert all(j.user_id == org.user("Alice Nakamura").id for j in jobs)
    assert sum((j.amount for j in jobs), Decimal(0)) == Decimal(5000)
    queued = org.queued(NOW, chem.id)
    assert set(jobs) <= set(queued)
    month = (date(2026, 11, 1), date(2026, 12, 1))
    assert org.total(*month, until=NOW) == fresh.total(*month, until=NOW)  # not billed yet
    later = max(j.completed_at for j in jobs) + timedelta(seconds=1)
    assert org.total(*month, until=later).amount - fresh.total(*month, until=later).amount == (
        Decimal(5000)
    )
    assert set(org.day_jobs(NOW.date())) >= set(jobs)
    assert (
        org.submit("Teaching Lab", None, [5], NOW)[0].user_id
        in org.project("Teaching Lab").user_ids
    )
    for bad in (["0"], ["-3"], ["1.001"]):
        with pytest.raises(ValueError):
            org.submit("Quantum Chem", None, bad, NOW)
    with pytest.raises(KeyError):
        org.submit("No Such Project", None, [5], NOW)


def test_the_same_changes_give_the_same_jobs() -> None:
    a, b = SimOrg(), SimOrg()
    for org in (a, b):
        org.submit("Lattice QCD", None, [10, 20], NOW)
        org.clone(org.queued(NOW)[0].id, NOW)
    assert a.queued(NOW) == b.queued(NOW)


def test_changes_are_thread_safe() -> None:
    org = SimOrg()
    jobs: list[Job] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        made = org.submit("Portfolio Opt", None, [index + 1] * 10, NOW)
        org.cancel([j.id for j in made[:5]], NOW)
        with lock:
            jobs.extend(made)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({j.id for j in jobs}) == 80
    assert sum(org.status(j, NOW) == "canceled" for j in jobs) == 40


def test_extra_projects_hold_only_the_jobs_submitted_into_them() -> None:
    plain, org = SimOrg(), SimOrg(extra_projects=38)
    assert len(org.projects) == 50 and org.projects[:12] == plain.projects
    extra = org.projects[12:]
    assert len({p.id for p in extra}) == 38 and extra[0].name == "Load Project 01"
    for project in extra:
        (member,) = project.user_ids
        assert project.id in org.user(member).project_ids
    month = (date(2026, 11, 1), date(2026, 12, 1))
    assert org.usage_body("project", "daily", *month) == plain.usage_body(
        "project", "daily", *month
    )
    assert all(j.project_id not in {p.id for p in extra} for j in org.queued(NOW))
    for project in extra:
        org.submit(project.name, None, ["25.00"] * 40, NOW)
    queued = org.queued(NOW + timedelta(seconds=1))
    assert sum(j.project_id in {p.id for p in extra} for j in queued) == 38 * 40
