"""The jobs endpoints of the IonQ client against the simulator over real HTTP: paging, costs,
retries, answers refused whole, project keys, cancel and clone."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from budgetbot.ionq import (
    IonQAuthError,
    IonQClient,
    IonQInvalidAnswer,
    IonQNotFound,
    IonQResponseError,
    IonQServerError,
    JobStatus,
)
from budgetbot.sim import SimOrg, SimServer
from tests.support import API_KEY, QUEUE_NOW, RecordedSleep

QUEUED = ("submitted", "ready", "started")


@pytest.fixture(autouse=True)
def _busy(sim: SimServer) -> None:
    sim.now = QUEUE_NOW  # a moment with a queue


def route(sim: SimServer, name: str) -> int:
    return len(sim.route_requests(name))


def queued_ids(client: IonQClient) -> set[str]:
    return {job.id for status in QUEUED for job in client.jobs(status)}


@pytest.fixture
def project_client(client: IonQClient, sim: SimServer, org: SimOrg) -> Iterator[IonQClient]:
    """A project key's client (the busiest project but the organization key's own)."""
    key = sim.project_keys[org.projects[1].id]
    yield client.with_key(key, key_label="IONQ_PROJECT_KEYS key 1")


def test_whoami_names_the_keys_project(client, project_client, org):
    assert client.whoami().project_id == org.projects[0].id
    who = project_client.whoami()
    assert who.project_id == org.projects[1].id and who.key_id and who.key_name


def test_every_page_is_followed_and_the_listing_is_whole(client, sim):
    whole = {status: [j.id for j in client.jobs(status)] for status in QUEUED}
    assert sum(map(len, whole.values())) >= 3, "the simulator should have a queue at QUEUE_NOW"
    before = route(sim, "jobs")
    for status, ids in whole.items():
        paged = client.jobs(status, limit=2)
        assert [j.id for j in paged] == ids
        assert all(j.status == status for j in paged)
    pages = sum(max(1, math.ceil(len(ids) / 2)) for ids in whole.values())
    # One request per page, plus at most one empty last page per status.
    assert pages <= route(sim, "jobs") - before <= pages + len(QUEUED)
    assert client.requests["jobs"] == route(sim, "jobs")


def test_jobs_carry_what_the_queue_needs(client, org):
    jobs = [j for status in QUEUED for j in client.jobs(status)]
    assert {j.project_id for j in jobs} == {org.projects[0].id}
    assert all(j.submitter_id and j.submitted_at and j.submitted_at <= QUEUE_NOW for j in jobs)
    assert any(j.predicted_us is not None for j in jobs)


def test_a_looping_cursor_is_stopped(client, sim):
    sim.corrupt("next_loop", times=1, route="jobs")
    status = next(s for s in QUEUED if client.jobs(s))
    sim.corrupt("next_loop", times=5, route="jobs")
    with pytest.raises(IonQResponseError, match="cursor"):
        client.jobs(status, limit=1, max_pages=50)


def test_the_page_cap_refuses_a_listing_that_does_not_end(client):
    status = next(s for s in QUEUED if len(client.jobs(s)) >= 2)
    with pytest.raises(IonQResponseError, match="did not end within 1 pages"):
        client.jobs(status, limit=1, max_pages=1)


def test_rate_limits_and_server_errors_are_retried(client, sim, sleep: RecordedSleep):
    status = next(s for s in QUEUED if client.jobs(s))
    expected = [j.id for j in client.jobs(status)]
    sim.fail(429, times=1, retry_after="2", route="jobs")
    sim.fail(502, times=1, route="jobs")
    assert [j.id for j in client.jobs(status)] == expected
    assert sleep.waits[0] == 2.0 and len(sleep.waits) == 2
    sim.fail(500, times=2, route="cost")
    assert client.job_cost(expected[0]).estimated_cost.usd is not None
    assert len(sleep.waits) == 4


@pytest.mark.parametrize(
    ("corruption", "error"),
    [
        ("unknown_status", IonQInvalidAnswer),
        ("null_status", IonQResponseError),
        ("negative_predicted_time", IonQInvalidAnswer),
        ("string_predicted_time", IonQInvalidAnswer),
        ("jobs_not_a_list", IonQResponseError),
    ],
)
def test_a_broken_listing_is_refused_whole(client, sim, corruption, error):
    status = next(s for s in QUEUED if client.jobs(s))
    # Invalid answers are retried like an outage: break every attempt.
    sim.corrupt(corruption, times=10, route="jobs")
    with pytest.raises(error) as caught:
        client.jobs(status)
    assert caught.value.field.startswith("jobs")


def test_a_job_without_a_submitter_refuses_the_listing(client, sim):
    status = next(s for s in QUEUED if client.jobs(s))
    sim.drop_field("jobs.0.submitter_id", route="jobs")
    with pytest.raises(IonQResponseError, match=r"jobs\[0\]\.submitter_id"):
        client.jobs(status)


def test_optional_oddities_are_read(client, sim):
    status = next(s for s in QUEUED if client.jobs(s))
    expected = [j.id for j in client.jobs(status)]
    sim.corrupt("null_project", route="jobs")
    jobs = client.jobs(status)
    assert jobs[0].project_id is None and [j.id for j in jobs] == expected
    sim.corrupt("bad_timestamp", route="jobs")
    assert client.jobs(status)[0].submitted_at is None
    sim.extra_fields(route="jobs")
    assert [j.id for j in client.jobs(status)] == expected


@pytest.mark.parametrize(
    "corruption", ["negative_estimate", "string_estimate", "nan_estimate", "huge_estimate"]
)
def test_a_broken_estimate_is_refused(client, sim, corruption):
    job_id = next(iter(queued_ids(client)))
    sim.corrupt(corruption, times=10, route="cost")
    with pytest.raises(IonQInvalidAnswer, match="estimated_cost"):
        client.job_cost(job_id)


def test_a_missing_estimate_is_refused(client, sim):
    job_id = next(iter(queued_ids(client)))
    sim.corrupt("null_estimate", route="cost")
    with pytest.raises(IonQResponseError, match="estimated_cost"):
        client.job_cost(job_id)


def test_usd_estimates_are_exact_and_credits_have_no_usd(org, sleep):
    for unit in ("usd", "credit"):
        with (
            SimServer(org, api_key=API_KEY, now=QUEUE_NOW, cost_unit=unit) as sim,
            IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, timeout=5.0) as c,
        ):
            cost = c.job_cost(next(iter(queued_ids(c)))).estimated_cost
            assert cost.unit.lower() == unit and cost.value > 0
            assert cost.usd == (cost.value if unit == "usd" else None)


def test_another_projects_job_is_not_found(client, project_client):
    job_id = next(iter(queued_ids(client)))
    with pytest.raises(IonQNotFound):
        project_client.job_cost(job_id)


def test_a_bad_project_key_is_named_by_position_never_by_value(client):
    secret = "wrong-project-key-d00d"
    bad = client.with_key(secret, key_label="IONQ_PROJECT_KEYS key 2")
    with pytest.raises(IonQAuthError) as caught:
        bad.jobs(JobStatus.SUBMITTED)
    text = f"{caught.value} {caught.value!r} {bad!r}"
    assert "IONQ_PROJECT_KEYS key 2" in str(caught.value)
    assert secret not in text
    assert client.has_key(API_KEY) and not client.has_key(secret)


def test_with_key_shares_the_connections(client, project_client):
    project_client.close()  # not its connections to close
    assert client.whoami().key_id


def test_a_client_counted_apart_shares_the_key_and_connections_not_the_counts(client):
    apart = client.counted_apart()
    assert apart.whoami().key_id == client.whoami().key_id
    assert apart.requests == {"whoami": 1} and client.requests == {"whoami": 1}
    apart.close()  # not its connections to close
    assert client.whoami().key_id and client.requests == {"whoami": 2}


@pytest.fixture
def own(sleep: RecordedSleep) -> Iterator[tuple[SimServer, IonQClient]]:
    """A simulator of its own (cancel and clone change the organization) and a project key's
    client."""
    org = SimOrg()
    with (
        SimServer(org, api_key=API_KEY, now=QUEUE_NOW) as sim,
        IonQClient(sim.base_url, org.org_id, API_KEY, sleep=sleep, timeout=5.0) as client,
    ):
        key = sim.project_keys[org.projects[1].id]
        yield sim, client.with_key(key, key_label="IONQ_PROJECT_KEYS key 1")


def waiting(client: IonQClient) -> list[str]:
    """Jobs that have not started (those can be cancelled)."""
    return sorted(j.id for status in ("submitted", "ready") for j in client.jobs(status))


def test_cancel_and_clone(own):
    sim, client = own
    ids = waiting(client)
    assert len(ids) >= 3
    one = client.cancel_job(ids[0])
    assert one.canceled == (ids[0],) and one.status == "canceled"
    many = client.cancel_jobs(ids[1:3])
    assert set(many.canceled) == set(ids[1:3]) and many.status == "canceled"
    assert not set(ids[:3]) & queued_ids(client)
    assert sim.route_requests("cancel")[-1].method == "PUT"
    clone = client.clone_job(ids[0], {"name": "again"})
    assert clone.id not in ids and clone.id in queued_ids(client)
    assert sim.route_requests("clone")[-1].method == "POST"


def test_clone_is_not_retried_after_a_server_error(own, sleep):
    sim, client = own
    job_id = waiting(client)[0]
    sim.fail(500, times=1, route="clone")
    with pytest.raises(IonQServerError):
        client.clone_job(job_id)
    assert route(sim, "clone") == 1 and sleep.waits == []
    sim.fail(429, times=1, route="clone")
    assert client.clone_job(job_id).id
    assert route(sim, "clone") == 3
