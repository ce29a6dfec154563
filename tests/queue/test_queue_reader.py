"""The queue reader against the simulator over HTTP: which projects are covered, estimates asked
once per job, keys that fail, IonQ failing, and what each snapshot cost."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from budgetbot.cli.runtime import Runtime
from budgetbot.ionq import IonQAuthError, IonQClient, IonQError
from budgetbot.queue import QueueReader, QueueSnapshot
from budgetbot.queue.reader import IonQQueueReader
from budgetbot.settings import Settings
from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from tests.support import API_KEY, QUEUE_NOW, RecordedSleep

LATER = QUEUE_NOW + dt.timedelta(hours=2)
QUEUED = ("submitted", "ready", "started")


@pytest.fixture(autouse=True)
def _busy(sim: SimServer) -> None:
    sim.now = QUEUE_NOW  # a moment with a queue


def project_key(sim: SimServer, org: SimOrg, index: int) -> str:
    return sim.project_keys[org.projects[index].id]


def reader_for(client: IonQClient, keys: list[str], store: Store, **kwargs: int) -> IonQQueueReader:
    clients = [client] + [
        client.with_key(key, key_label=f"IONQ_PROJECT_KEYS key {n}")
        for n, key in enumerate(keys, start=1)
    ]
    return IonQQueueReader(clients, store, **kwargs)


def truth(sim: SimServer, org: SimOrg, project_ids: set[str]) -> set[str]:
    """The queued job ids of these projects, read straight from the simulator's keys."""
    ids: set[str] = set()
    for project_id in project_ids:
        with IonQClient(sim.base_url, org.org_id, sim.project_keys[project_id]) as c:
            ids |= {j.id for status in QUEUED for j in c.jobs(status)}
    return ids


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.memory()
    yield s
    s.close()


def test_the_org_key_and_project_keys_cover_their_projects_only(client, sim, org, store):
    reader: QueueReader = reader_for(
        client, [project_key(sim, org, 1), project_key(sim, org, 2)], store
    )
    snap = reader.snapshot(QUEUE_NOW)
    mine = {p.id for p in org.projects[:3]}
    assert snap.covered == mine
    assert {j.id for j in snap.jobs} == truth(sim, org, mine)
    assert {j.project_id for j in snap.jobs} <= mine
    assert snap.covers([org.projects[1].id])
    assert not snap.covers([org.projects[5].id])
    assert snap.at == QUEUE_NOW


def test_known_projects_include_names_from_usage_answers(client, sim, org, store):
    store.remember_group_names("project", {org.projects[7].id: org.projects[7].name}, QUEUE_NOW)
    store.remember_group_names("user", {org.users[0].id: org.users[0].name}, QUEUE_NOW)
    snap = reader_for(client, [], store).snapshot(QUEUE_NOW)
    assert snap.known == {org.projects[0].id, org.projects[7].id}
    # The organization is not covered: a project budgetbot knows of has no key.
    assert not snap.covers(None)
    assert snap.names[org.projects[7].id] == org.projects[7].name
    assert snap.names[org.users[0].id] == org.users[0].name


def test_estimates_are_asked_once_per_job(client, sim, org, store):
    reader = reader_for(client, [project_key(sim, org, 1)], store, page_size=3)
    first = reader.snapshot(QUEUE_NOW)
    n = len(first.jobs)
    assert n >= 3
    assert first.requests["cost"] == n == len(sim.route_requests("cost"))
    assert first.requests["whoami"] == 2
    assert first.requests["jobs"] == len(sim.route_requests("jobs")) >= 2 * len(QUEUED)
    usd = [j for j in first.jobs if j.estimate_usd is not None]
    assert usd and all(j.estimate_unit == "usd" for j in first.jobs)
    assert all(isinstance(j.estimate_usd, Decimal) and j.estimate_usd > 0 for j in usd)

    again = reader.snapshot(QUEUE_NOW)
    assert again.requests["cost"] == 0 and again.requests["whoami"] == 0
    assert again.requests["jobs"] == first.requests["jobs"]
    assert again.jobs == first.jobs

    # Two hours on: only jobs submitted since are asked about.
    sim.now = LATER
    later = reader.snapshot(LATER)
    new = {j.id for j in later.jobs} - {j.id for j in first.jobs}
    assert later.requests["cost"] == len(new)
    # A second process (the same store) asks nothing either.
    other = reader_for(client, [project_key(sim, org, 1)], store)
    assert other.snapshot(LATER).requests["cost"] == 0


def test_credits_give_no_usd_figure(org, store, sleep):
    with (
        SimServer(org, api_key=API_KEY, now=QUEUE_NOW, cost_unit="credit") as sim,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, timeout=5.0) as c,
    ):
        snap = reader_for(c, [], store).snapshot(QUEUE_NOW)
    assert snap.jobs
    assert all(j.estimate_usd is None and j.estimate_unit == "credit" for j in snap.jobs)


def test_a_refused_project_key_is_skipped_and_named_never_shown(client, sim, org, store, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "not-a-real-project-key-4a4a"
    reader = reader_for(client, [secret, project_key(sim, org, 2)], store)
    snap = reader.snapshot(QUEUE_NOW)
    assert snap.covered == {org.projects[0].id, org.projects[2].id}
    assert [r.getMessage() for r in caplog.records if "IONQ_PROJECT_KEYS key 1" in r.getMessage()]
    assert secret not in caplog.text and secret not in repr(reader)
    assert project_key(sim, org, 2) not in caplog.text


def test_a_key_refused_for_jobs_leaves_its_project_uncovered(client, sim, org, store, caplog):
    reader = reader_for(client, [project_key(sim, org, 1)], store)
    reader.snapshot(QUEUE_NOW)  # whoami known for both keys
    sim.fail(403, times=1, route="jobs")  # the organization key's first listing
    snap = reader.snapshot(QUEUE_NOW)
    assert "check that IONQ_API_KEY may read" in caplog.text
    assert "IonQ names it 'budgetbot simulator key'" in caplog.text
    assert snap.covered == {org.projects[1].id}
    assert {j.project_id for j in snap.jobs} == {org.projects[1].id}


def test_every_key_refused_is_an_error(client, sim, org, store):
    bad = IonQClient(sim.base_url, org.org_id, "wrong-key", timeout=5.0)
    reader = IonQQueueReader([bad, bad.with_key("also-wrong", key_label="k2")], store)
    with pytest.raises(IonQAuthError):
        reader.snapshot(QUEUE_NOW)
    bad.close()


def test_ionq_down_is_an_error_for_the_cycle(client, sim, org, store):
    reader = reader_for(client, [], store)
    sim.fail(503, times=20, route="jobs")
    with pytest.raises(IonQError):
        reader.snapshot(QUEUE_NOW)


def test_a_failing_cost_call_leaves_that_job_for_the_next_cycle(client, sim, org, store):
    reader = reader_for(client, [], store)
    sim.fail(500, times=20, route="cost")  # more than one job's retries: IonQ is failing
    first = reader.snapshot(QUEUE_NOW)
    assert first.jobs and all(j.estimate_unit is None for j in first.jobs)
    # The reader stopped asking after the first job's retries, instead of waiting out each.
    assert first.requests["cost"] == client.max_attempts
    sim.reset()
    second = reader.snapshot(QUEUE_NOW)
    assert all(j.estimate_unit == "usd" for j in second.jobs)
    assert second.requests["cost"] == len(second.jobs)


def test_a_refused_estimate_skips_that_job_only(client, sim, org, store):
    reader = reader_for(client, [], store)
    sim.corrupt("negative_estimate", times=client.max_attempts, route="cost")
    snap = reader.snapshot(QUEUE_NOW)
    without = [j for j in snap.jobs if j.estimate_unit is None]
    assert len(without) == 1 and len(snap.jobs) > 1
    assert reader.snapshot(QUEUE_NOW).requests["cost"] == 1


def test_duplicates_across_keys_and_pages_are_one_job(client, sim, org, store):
    # The organization key and project 0's own key see the same jobs.
    reader = reader_for(client, [project_key(sim, org, 0)], store)
    sim.corrupt("duplicate_job", route="jobs")
    snap = reader.snapshot(QUEUE_NOW)
    ids = [j.id for j in snap.jobs]
    assert len(ids) == len(set(ids)) == len(truth(sim, org, {org.projects[0].id}))
    assert snap.requests["cost"] == len(ids)


def test_runtime_builds_the_reader_from_settings(sim, org, tmp_path, monkeypatch):
    keys = [project_key(sim, org, 1), API_KEY, project_key(sim, org, 1), project_key(sim, org, 3)]
    monkeypatch.setenv("IONQ_PROJECT_KEYS", " , ".join(keys))
    settings = Settings(
        _env_file=None,
        ionq_base_url=sim.base_url,
        ionq_org_id=org.org_id,
        ionq_api_key=API_KEY,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
    )
    assert not any(key in repr(settings) for key in keys)
    with Runtime(settings, now=lambda: QUEUE_NOW) as runtime:
        reader = runtime.queue_reader()
        assert runtime.queue_reader() is reader
        # The organization key and a repeated key are not read twice.
        assert [c.key_label for c in reader.clients] == [
            "IONQ_API_KEY",
            "IONQ_PROJECT_KEYS key 1",
            "IONQ_PROJECT_KEYS key 4",
        ]
        snap: QueueSnapshot = reader.snapshot(QUEUE_NOW)
        assert snap.covered == {org.projects[i].id for i in (0, 1, 3)}
        assert not any(key in repr(reader) for key in keys)


def test_runtime_takes_the_simulators_keys(sim, org, tmp_path):
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 's.db'}")
    with Runtime(
        settings,
        ionq_endpoint=(sim.base_url, org.org_id, API_KEY),
        ionq_project_keys=list(sim.project_keys.values()),
        store=Store.memory(),
    ) as runtime:
        snap = runtime.queue_reader().snapshot(QUEUE_NOW)
    assert snap.covered == {p.id for p in org.projects}
    assert snap.covers(None)


def test_recorded_sleep_is_used(client, sim, store, sleep: RecordedSleep):
    sim.fail(429, times=1, retry_after="3", route="whoami")
    reader_for(client, [], store).snapshot(QUEUE_NOW)
    assert sleep.waits == [3.0]


def test_an_organization_key_without_a_project_covers_nothing(org, store, sleep):
    with (
        SimServer(org, api_key=API_KEY, now=QUEUE_NOW, api_key_project=False) as sim,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, timeout=5.0) as c,
    ):
        alone = reader_for(c, [], Store.memory()).snapshot(QUEUE_NOW)
        assert alone.covered == frozenset() and alone.jobs == ()
        assert not alone.covers(None) and not alone.covers([org.projects[0].id])
        snap = reader_for(c, [project_key(sim, org, 2)], store).snapshot(QUEUE_NOW)
    assert snap.covered == {org.projects[2].id}
    assert snap.jobs and {j.project_id for j in snap.jobs} == {org.projects[2].id}
