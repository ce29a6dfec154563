"""The ledger walk against the simulator over HTTP: its per-day sums are the simulator's truth to
the cent, a steady walk lists only new pages and asks only new jobs' costs, a project without a
key is not covered, unbilled jobs are asked again within the settle window only, and no key is
logged."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from budgetbot.cli.runtime import Runtime
from budgetbot.ionq import (
    GroupBy,
    IonQAuthError,
    IonQClient,
    IonQError,
    Modality,
    UsageQuery,
)
from budgetbot.ledger import LedgerView
from budgetbot.ledger.walk import MIN_INTERVAL, QUEUE_WINDOW, SETTLE_WINDOW, LedgerReader
from budgetbot.settings import Settings
from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.support import API_KEY, QUEUE_NOW

NOW = QUEUE_NOW
LATER = NOW + dt.timedelta(hours=1)
MONTH = NOW.date().replace(day=1)
END = NOW.date() + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _now(sim: SimServer) -> None:
    sim.now = NOW


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.memory()
    yield s
    s.close()


def reader_for(
    client: IonQClient, sim: SimServer, org: SimOrg, store: Store, projects: range | list[int]
) -> LedgerReader:
    """The organization's key and the keys of these projects (by index)."""
    keys = [sim.project_keys[org.projects[i].id] for i in projects]
    clients = [client] + [
        client.with_key(key, key_label=f"IONQ_PROJECT_KEYS key {n}")
        for n, key in enumerate(keys, start=1)
    ]
    return LedgerReader(clients, store)


def every_key(client: IonQClient, sim: SimServer, org: SimOrg, store: Store) -> LedgerReader:
    return reader_for(client, sim, org, store, range(1, len(org.projects)))


def cost_ids(sim: SimServer) -> list[str]:
    return [r.path.split("/")[-2] for r in sim.route_requests("cost")]


def assert_truth(view: LedgerView, org: SimOrg, at: dt.datetime) -> None:
    """Every walked day's sums per project, per user and in total are the simulator's."""
    for day, ledger in view.days.items():
        nxt = day + dt.timedelta(days=1)
        for group_by, sums in (("project", ledger.projects), ("user", ledger.users)):
            truth = org.truth(group_by, day, nxt, until=at)  # type: ignore[arg-type]
            assert set(sums) == set(truth), (day, group_by)
            for group_id, figures in sums.items():
                assert figures.usd == truth[group_id].amount, (day, group_id)
                assert figures.time_us == truth[group_id].time_us
                assert figures.jobs == truth[group_id].job_count
        total = org.total(day, nxt, until=at)
        assert ledger.total.usd == total.amount and ledger.total.jobs == total.job_count
        assert ledger.unbilled == 0


def test_a_month_walked_with_every_key_is_the_truth_to_the_cent(client, sim, org, store):
    view = every_key(client, sim, org, store).view(MONTH, END, NOW)
    assert set(view.days) == {MONTH + dt.timedelta(days=n) for n in range((END - MONTH).days)}
    assert view.covered == {p.id for p in org.projects}
    assert_truth(view, org, NOW)
    # Quiet projects, which IonQ's top 5 rarely names, have exact sums too.
    quiet = {p.id for p in org.quiet_projects}
    assert any(quiet & set(d.projects) for d in view.days.values())
    month = sum((d.total.usd or Decimal(0) for d in view.days.values()), Decimal(0))
    assert month == org.total(MONTH, END, until=NOW).amount
    assert view.requests["cost"] == len(sim.route_requests("cost"))
    assert view.requests["whoami"] == len(org.projects)


def test_each_day_adds_up_to_the_usage_endpoints_daily_bucket(client, sim, org, store):
    # What the usage endpoint itself answers (not only the simulator's truth): per UTC day the
    # ledger's total is the bucket's, and each project the bucket lists has the ledger's sum.
    view = every_key(client, sim, org, store).view(MONTH, END, NOW)
    for group_by in (GroupBy.PROJECT, GroupBy.USER):
        query = UsageQuery(group_by=group_by, modality=Modality.DAILY, start=MONTH, end=END)
        buckets = UsageSource(client).series(query).buckets
        assert {b.start for b in buckets} == set(view.days)
        for bucket in buckets:
            day = view.days[bucket.start]
            assert day.total.usd == bucket.totals.usd and day.total.jobs == bucket.totals.jobs
            sums = day.projects if group_by is GroupBy.PROJECT else day.users
            assert bucket.listed
            for group_id, figures in bucket.listed.items():
                assert sums[group_id].usd == figures.usd
                assert sums[group_id].time_us == figures.time_us


def test_the_billing_day_is_the_utc_day_of_completion(client, sim, org, store):
    # Jobs submitted before midnight and completed after it land on the next day, as in usage.
    view = every_key(client, sim, org, store).view(MONTH, END, NOW)
    late = [
        j
        for j in org.billed(MONTH, NOW.date(), until=NOW)
        if j.submitted_at.date() != j.completed_at.date()
    ]
    assert late
    for job in late[:5]:
        assert view.days[job.completed_at.date()].projects[job.project_id].jobs


def test_a_steady_walk_lists_new_pages_and_asks_only_new_jobs(client, sim, org, store):
    reader = every_key(client, sim, org, store)
    first = reader.view(MONTH, END, NOW)
    first_costs = set(cost_ids(sim))
    assert first.requests["cost"] == len(first_costs)
    again = reader.view(MONTH, END, NOW)
    assert again.requests["cost"] == 0 and again.requests["whoami"] == 0
    assert again.days == first.days

    sim.now = LATER
    sim.reset()
    steady = reader.view(MONTH, END, LATER)
    new = {j.id for j in org.billed(MONTH, END, until=LATER)} - {
        j.id for j in org.billed(MONTH, END, until=NOW)
    }
    assert new
    assert set(cost_ids(sim)) == new and steady.requests["cost"] == len(new)
    assert not new & first_costs
    # One listing page per key here: each key's new jobs since its mark fit in one.
    assert steady.requests["jobs"] == len(org.projects) < first.requests["jobs"]
    assert_truth(steady, org, LATER)


def test_the_steady_walk_stops_at_the_mark(client, sim, org, store):
    reader = LedgerReader([client], store, page_size=5)
    reader.view(MONTH, END, NOW)
    sim.reset()
    sim.now = LATER
    reader.view(MONTH, END, LATER)
    # The listing stops at the first job submitted before the previous walk less the queue
    # window: never a page wholly older than that.
    pages = sim.route_requests("jobs")
    first = org.projects[0].id
    fresh = [
        j
        for j in org.jobs(MONTH, END, until=LATER)
        if j.project_id == first
        and org.status(j, LATER) == "completed"
        and j.submitted_at >= NOW - QUEUE_WINDOW
    ]
    assert len(pages) == len(fresh) // 5 + 1


def test_a_project_without_a_key_is_not_covered(client, sim, org, store):
    missing = org.projects[-1]
    view = reader_for(client, sim, org, store, range(1, len(org.projects) - 1)).view(
        MONTH, END, NOW
    )
    assert missing.id not in view.covered
    assert view.covered == {p.id for p in org.projects[:-1]}
    # Its jobs are nowhere in the ledger: no key lists them.
    assert not any(missing.id in d.projects for d in view.days.values())
    assert all(d.total.usd is not None for d in view.days.values())
    assert (
        sum(d.total.jobs or 0 for d in view.days.values())
        < org.total(MONTH, END, until=NOW).job_count
    )


def test_a_refused_key_is_logged_by_label_and_its_project_not_covered(
    client, sim, org, store, caplog
):
    bad = "sim-project-000000000000000000refused"
    clients = [client, client.with_key(bad, key_label="IONQ_PROJECT_KEYS key 1")]
    for index in (1, 2):
        clients.append(
            client.with_key(
                sim.project_keys[org.projects[index].id],
                key_label=f"IONQ_PROJECT_KEYS key {index + 1}",
            )
        )
    with caplog.at_level(logging.DEBUG):
        view = LedgerReader(clients, store).view(MONTH, END, NOW)
    assert view.covered == {p.id for p in org.projects[:3]}
    assert "IONQ_PROJECT_KEYS key 1" in caplog.text
    secrets = [bad, API_KEY, *sim.project_keys.values()]
    for record in caplog.records:
        assert not any(secret in record.getMessage() for secret in secrets)
    assert not any(secret in repr(view) for secret in secrets)


def test_every_key_refused_raises(client, store):
    bad = client.with_key("sim-wrong", key_label="IONQ_API_KEY")
    with pytest.raises(IonQAuthError):
        LedgerReader([bad], store).view(MONTH, END, NOW)


def test_ionq_down_raises(client, sim, store):
    sim.fail(503, times=50, route="jobs")
    with pytest.raises(IonQError):
        LedgerReader([client], store).view(MONTH, END, NOW)


def unbilled_first(
    client: IonQClient, sim: SimServer, org: SimOrg, store: Store
) -> tuple[LedgerReader, str, LedgerView]:
    """A walk of one quiet project whose first cost answer has no ``cost`` (not billed yet)."""
    quiet = org.projects.index(org.quiet_projects[0])
    reader = reader_for(client, sim, org, store, [quiet])
    sim.drop_field("cost", route="cost")
    view = reader.view(MONTH, END, NOW)
    job_id = cost_ids(sim)[0]
    return reader, job_id, view


def test_an_unbilled_job_is_asked_again_within_the_settle_window(client, sim, org, store):
    reader, job_id, view = unbilled_first(client, sim, org, store)
    [entry] = store.ledger_entries([job_id]).values()
    assert not entry.billed
    assert view.days[entry.day].unbilled == 1
    assert LATER - entry.completed_at < SETTLE_WINDOW
    sim.reset()
    sim.now = LATER
    later = reader.view(MONTH, END, LATER)
    assert job_id in cost_ids(sim)
    assert later.days[entry.day].unbilled == 0
    job = next(j for j in org.billed(entry.day, entry.day + dt.timedelta(1)) if j.id == job_id)
    assert store.ledger_entries([job_id])[job_id].usd == job.amount


def test_an_unbilled_job_is_not_asked_after_the_settle_window(client, sim, org, store):
    reader, job_id, _ = unbilled_first(client, sim, org, store)
    [entry] = store.ledger_entries([job_id]).values()
    past = entry.completed_at + SETTLE_WINDOW + dt.timedelta(hours=1)
    sim.reset()
    sim.now = past
    view = reader.view(MONTH, past.date() + dt.timedelta(1), past)
    assert job_id not in cost_ids(sim)
    assert view.days[entry.day].unbilled == 1
    assert not store.ledger_entries([job_id])[job_id].billed


def test_a_longer_period_back_fills_further_and_asks_only_older_jobs(client, sim, org, store):
    reader = LedgerReader([client], store)
    reader.view(MONTH, END, NOW)
    asked = set(cost_ids(sim))
    quarter = dt.date(2026, 10, 1)
    sim.reset()
    view = reader.view(quarter, END, NOW)
    assert min(view.days) == quarter
    assert not asked & set(cost_ids(sim))
    older = {
        j.id
        for j in org.billed(quarter, MONTH, until=NOW)
        if j.project_id == org.projects[0].id
        and j.submitted_at < dt.datetime.combine(MONTH, dt.time(), dt.UTC) - QUEUE_WINDOW
    }
    assert older
    assert older <= set(cost_ids(sim))


def test_the_runtime_builds_the_walk_with_every_distinct_key(sim, org, tmp_path, monkeypatch):
    keys = [sim.project_keys[org.projects[1].id], API_KEY, sim.project_keys[org.projects[1].id]]
    monkeypatch.setenv("IONQ_PROJECT_KEYS", ",".join(keys))
    settings = Settings(
        _env_file=None,
        ionq_base_url=sim.base_url,
        ionq_org_id=org.org_id,
        ionq_api_key=API_KEY,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
    )
    with Runtime(settings, now=lambda: NOW) as runtime:
        reader = runtime.ledger_reader()
        assert runtime.ledger_reader() is reader
        assert [c.key_label for c in reader.keys.clients] == [
            "IONQ_API_KEY",
            "IONQ_PROJECT_KEYS key 1",
        ]
        view = reader.view(MONTH, END, NOW)
    assert view.covered == {org.projects[0].id, org.projects[1].id}
    assert not any(key in repr(reader) for key in keys)


def test_two_keys_of_one_project_walk_it_once(client, sim, org, store):
    # The organization's key names project 0, as project 0's own key does.
    view = reader_for(client, sim, org, store, [0, 1]).view(MONTH, END, NOW)
    assert view.covered == {org.projects[0].id, org.projects[1].id}
    assert view.requests["whoami"] == 3
    alone = reader_for(client, sim, org, Store.memory(), [1]).view(MONTH, END, NOW)
    assert view.requests["jobs"] == alone.requests["jobs"]
    assert view.days == alone.days


def test_views_within_a_minute_of_a_walk_read_it_without_asking_ionq(client, sim, org, store):
    reader = reader_for(client, sim, org, store, [1])
    first = reader.view(MONTH, END, NOW)
    sim.reset()
    soon = NOW + MIN_INTERVAL / 2
    sim.now = soon
    again = reader.view(MONTH + dt.timedelta(days=3), END, soon)
    assert sim.requests == [] and sum(again.requests.values()) == 0
    assert again.at == NOW and again.covered == first.covered
    assert again.days == {d: v for d, v in first.days.items() if d >= again.start}
    # Further back than that walk reached, or a minute on: a walk.
    assert reader.view(MONTH - dt.timedelta(days=3), END, soon).requests["jobs"] >= 2
    sim.reset()
    later = NOW + MIN_INTERVAL * 2
    sim.now = later
    assert reader.view(MONTH, END, later).at == later
    assert sim.route_requests("jobs")
