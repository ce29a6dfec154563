"""The jobs endpoints over HTTP: keys and whoami, paging, cost, cancel, clone, aimed faults.

Tests that cancel or clone build their own organization and server (``fresh``): the session's
``sim_org`` is shared with every other test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer
from budgetbot.sim.jobs_api import DEFAULT_PAGE_SIZE, LISTED_DAYS, MAX_PAGE_SIZE

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
ORG_KEY = "sim-org-key"


def parsed(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def client(server: SimServer, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"apiKey {key}"}, timeout=5.0
    )


def every_page(http: httpx.Client, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every job the listing gives, following ``next``; and how many pages that took."""
    jobs: list[dict[str, Any]] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {**params, **({"next": cursor} if cursor else {})}
        r = http.get("/jobs", params=query)
        assert r.status_code == 200, r.text
        body = parsed(r)
        assert set(body) == {"jobs", "next"}
        jobs.extend(body["jobs"])
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return jobs, pages
        assert pages < 500


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    """A read-only server: no test here changes its queue."""
    with SimServer(SimOrg(), api_key=ORG_KEY, now=NOW) as srv:
        yield srv


@pytest.fixture
def fresh() -> Iterator[SimServer]:
    """A server of its own, for tests that cancel, clone or submit."""
    with SimServer(SimOrg(), api_key=ORG_KEY, now=NOW) as srv:
        yield srv


@pytest.fixture
def chem(server: SimServer) -> Iterator[httpx.Client]:
    with client(server, server.project_keys[server.org.project("Quantum Chem").id]) as http:
        yield http


# --- keys ----------------------------------------------------------------------------------------


def test_whoami_names_each_keys_project(server: SimServer) -> None:
    keys = server.project_keys
    assert set(keys) == {p.id for p in server.org.projects}
    assert len(set(keys.values())) == len(keys)
    assert keys == SimServer(SimOrg()).project_keys  # derived from the seed
    assert keys != SimServer(SimOrg(8)).project_keys
    key_ids = set()
    for project_id, key in keys.items():
        with client(server, key) as http:
            body = http.get("/whoami").json()
        assert body["project_id"] == project_id
        assert {"key_id", "key_name"} <= set(body)
        key_ids.add(body["key_id"])
    with client(server, ORG_KEY) as http:
        org_whoami = http.get("/whoami").json()
    assert org_whoami["project_id"] == server.org.projects[0].id
    assert org_whoami["key_id"] not in key_ids and len(key_ids) == len(keys)
    with client(server, "sim-project-nope") as http:
        assert http.get("/whoami").status_code == 401
        assert http.get("/jobs").status_code == 401


def test_keys_can_be_passed_in_and_must_name_real_projects() -> None:
    org = SimOrg()
    chem = org.project("Quantum Chem").id
    with SimServer(org, project_keys={chem: "mine"}, now=NOW) as srv, client(srv, "mine") as http:
        assert srv.project_keys == {chem: "mine"}
        assert http.get("/whoami").json()["project_id"] == chem
    with pytest.raises(KeyError):
        SimServer(org, project_keys={"no-such-project": "k"})
    with pytest.raises(ValueError):
        SimServer(org, cost_unit="eur")


def test_an_organization_key_without_a_project() -> None:
    org = SimOrg()
    chem = org.queued(NOW, "Quantum Chem")[0]
    srv = SimServer(org, api_key=ORG_KEY, now=NOW, api_key_project=False)
    with srv, client(srv.start(), ORG_KEY) as http:
        whoami = http.get("/whoami").json()
        assert "project_id" not in whoami and "project" not in whoami and whoami["key_id"]
        assert every_page(http)[0] == []
        assert http.get(f"/jobs/{chem.id}/cost").status_code == 404
        params = {"start_date": "2026-11-01", "end_date": "2026-11-08"}
        params |= {"group_by": "project", "modality": "daily"}
        assert http.get(f"/organizations/{org.org_id}/usage", params=params).status_code == 200


def test_a_project_key_cannot_read_usage(server: SimServer) -> None:
    key = next(iter(server.project_keys.values()))
    with client(server, key) as http:
        r = http.get(
            f"/organizations/{server.org_id}/usage",
            params={
                "start_date": "2026-11-01",
                "end_date": "2026-11-08",
                "group_by": "project",
                "modality": "daily",
            },
        )
    assert r.status_code == 403 and r.json()["statusCode"] == 403


def test_project_keys_see_only_their_project(server: SimServer) -> None:
    org = server.org
    for project in org.projects:
        with client(server, server.project_keys[project.id]) as http:
            jobs, _ = every_page(http, limit=MAX_PAGE_SIZE)
        assert jobs, project.name
        assert {j["project_id"] for j in jobs} == {project.id}
    with client(server, ORG_KEY) as http:  # the organization's key lists its whoami's project
        jobs, _ = every_page(http, limit=MAX_PAGE_SIZE)
    assert {j["project_id"] for j in jobs} == {org.projects[0].id}


def test_another_projects_job_is_not_found(fresh: SimServer) -> None:
    org = fresh.org
    job = next(j for j in org.queued(NOW) if j.project_id != org.projects[0].id)
    with client(fresh, ORG_KEY) as http:
        for r in (
            http.get(f"/jobs/{job.id}"),
            http.get(f"/jobs/{job.id}/cost"),
            http.put(f"/jobs/{job.id}/status/cancel"),
            http.post(f"/jobs/{job.id}/clone", json={}),
        ):
            assert r.status_code == 404, r.request.url
            assert r.json()["message"] == "Job not found"
        r = http.put("/jobs/status/cancel", json={"ids": [job.id]})
    assert r.json() == {"ids": [], "status": "canceled"}
    assert org.status(job, NOW) in ("submitted", "ready", "started")
    with client(fresh, fresh.project_keys[job.project_id]) as http:
        assert http.get(f"/jobs/{job.id}").json()["id"] == job.id


# --- the listing ---------------------------------------------------------------------------------


def test_paging_returns_every_job_once_newest_first(server: SimServer, chem: httpx.Client) -> None:
    org = server.org
    project = org.project("Quantum Chem")
    expected = [
        j
        for j in org.jobs(NOW.date() - timedelta(days=LISTED_DAYS - 1), NOW.date() + timedelta(1))
        if j.project_id == project.id and j.submitted_at <= NOW
    ]
    expected.reverse()
    jobs, pages = every_page(chem, limit=17)
    assert [j["id"] for j in jobs] == [j.id for j in expected]
    assert pages == -(-len(expected) // 17)
    default = parsed(chem.get("/jobs"))
    assert [j["id"] for j in default["jobs"]] == [j.id for j in expected[:DEFAULT_PAGE_SIZE]]
    completed, _ = every_page(chem, status="completed", limit=MAX_PAGE_SIZE)
    assert [j["id"] for j in completed] == [
        j.id for j in expected if org.status(j, NOW) == "completed"
    ]


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 11, 17, 0, 30, tzinfo=UTC), datetime(2026, 11, 17, 21, tzinfo=UTC)],
    ids=lambda m: m.isoformat(),
)
def test_the_listing_and_usage_agree(now: datetime) -> None:
    """What the jobs endpoints say completed today costs exactly what usage bills for today."""
    org = SimOrg()
    chem = org.project("Quantum Chem")
    with SimServer(org, api_key=ORG_KEY, now=now) as srv, client(srv, ORG_KEY) as http:
        completed, _ = every_page(http, status="completed", limit=MAX_PAGE_SIZE)
        today = [j for j in completed if j["completed_at"].startswith(now.date().isoformat())]
        costs = [parsed(http.get(f"/jobs/{j['id']}/cost"))["cost"]["value"] for j in today]
        queued = [
            j["id"]
            for s in ("submitted", "ready", "started")
            for j in every_page(http, status=s)[0]
        ]
        usage = parsed(
            http.get(
                f"/organizations/{org.org_id}/usage",
                params={
                    "start_date": now.date().isoformat(),
                    "end_date": (now.date() + timedelta(days=1)).isoformat(),
                    "group_by": "project",
                    "modality": "daily",
                },
            )
        )
    (bucket,) = usage["usage_data"]
    listed = {g["group_id"]: g["amount"] for g in bucket["group_usages"]}
    assert sum(costs, Decimal(0)) == listed.get(chem.id, Decimal(0))
    assert sorted(queued) == sorted(j.id for j in org.queued(now, chem.id))


@pytest.mark.parametrize("status", ["submitted", "ready", "started"])
def test_a_status_lists_the_queued_jobs_in_it(server: SimServer, status: str) -> None:
    org = server.org
    seen = 0
    for project in org.projects:
        with client(server, server.project_keys[project.id]) as http:
            jobs, _ = every_page(http, status=status, limit=5)
        expected = [j.id for j in org.queued(NOW, project.id) if org.status(j, NOW) == status]
        assert sorted(j["id"] for j in jobs) == sorted(expected)
        assert all(j["status"] == status for j in jobs)
        seen += len(jobs)
    if status == "ready":
        assert seen > 5  # a Wednesday afternoon has a queue


def test_a_job_is_shaped_like_ionqs(server: SimServer, chem: httpx.Client) -> None:
    org = server.org
    body = parsed(chem.get("/jobs", params={"limit": MAX_PAGE_SIZE}))
    by_status = {j["status"]: j for j in body["jobs"]}
    ready, done = by_status["ready"], by_status["completed"]
    model = org.find(done["id"], NOW)
    assert model is not None
    assert done["submitter_id"] == model.user_id and done["name"] == model.name
    assert done["submitted_at"].endswith("Z") and done["completed_at"] is not None
    assert datetime.fromisoformat(done["completed_at"]) == model.completed_at
    assert done["stats"]["billed_quantum_compute_time_us"] == model.time_us
    assert ready["started_at"] is None and ready["completed_at"] is None
    assert ready["predicted_wait_time_ms"] > 0
    assert isinstance(ready["stats"]["predicted_quantum_compute_time_us"], int)
    assert "billed_quantum_compute_time_us" not in ready["stats"]
    assert chem.get(f"/jobs/{ready['id']}").json() == json.loads(json.dumps(ready, default=float))


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "paused"}, "status"),
        ({"next": "not a cursor"}, "next"),
        ({"page": 2}, "page"),
    ],
)
def test_a_bad_listing_query_is_a_400(chem: httpx.Client, params: dict[str, Any], key: str) -> None:
    r = chem.get("/jobs", params=params)
    assert r.status_code == 400
    assert r.json()["validation"] == {"source": "query", "keys": [key]}


# --- cost ----------------------------------------------------------------------------------------


def test_cost_is_an_estimate_then_the_billed_amount(server: SimServer, chem: httpx.Client) -> None:
    org = server.org
    jobs = parsed(chem.get("/jobs", params={"limit": MAX_PAGE_SIZE}))["jobs"]
    for listed in jobs:
        job = org.find(listed["id"], NOW)
        assert job is not None
        body = parsed(chem.get(f"/jobs/{job.id}/cost"))
        assert body == parsed(chem.get(f"/jobs/{job.id}/cost"))  # deterministic
        estimate = body["estimated_cost"]
        assert estimate["unit"] == "usd" and body["dry_run"] is False
        assert abs(estimate["value"] - job.amount) <= job.amount * Decimal("0.15") + Decimal("0.01")
        if listed["status"] == "completed":
            assert body["cost"] == {"value": job.amount, "unit": "usd"}  # exactly
        else:
            assert "cost" not in body


def test_an_organization_billed_in_credits() -> None:
    org = SimOrg()
    chem = org.project("Quantum Chem").id
    srv = SimServer(org, now=NOW, cost_unit="credit")
    with srv, client(srv.start(), srv.project_keys[chem]) as http:
        job = parsed(http.get("/jobs", params={"status": "completed"}))["jobs"][0]
        body = parsed(http.get(f"/jobs/{job['id']}/cost"))
    assert body["estimated_cost"]["unit"] == body["cost"]["unit"] == "credit"


# --- cancel and clone ----------------------------------------------------------------------------


def test_cancel_over_http_and_usage_forgets_the_job(fresh: SimServer) -> None:
    org = fresh.org
    chem = org.project("Quantum Chem")
    mine = org.queued(NOW, chem.id)
    waiting = [j for j in mine if org.status(j, NOW) in ("submitted", "ready")]
    done = org.billed(NOW.date(), NOW.date() + timedelta(1), until=NOW)
    done_chem = next(j for j in done if j.project_id == chem.id)
    day = waiting[0].completed_at.date()
    before = org.truth("project", day, day + timedelta(1))[chem.id].amount
    with client(fresh, fresh.project_keys[chem.id]) as http:
        r = http.put("/jobs/status/cancel", json={"ids": [waiting[0].id, done_chem.id, "nope"]})
        assert r.status_code == 200
        assert r.json() == {"ids": [waiting[0].id], "status": "canceled"}
        again = http.put(f"/jobs/{waiting[0].id}/status/cancel")
        assert again.status_code == 200
        assert again.json() == {"id": waiting[0].id, "status": "canceled"}
        refused = http.put(f"/jobs/{done_chem.id}/status/cancel")
        assert refused.status_code == 400 and "completed" in refused.json()["message"]
        listed, _ = every_page(http, status="canceled")
        assert [j["id"] for j in listed] == [waiting[0].id]
        bad = http.put("/jobs/status/cancel", content=b"{not json")
        assert bad.status_code == 400
        assert http.put("/jobs/status/cancel", json={"ids": "x"}).status_code == 400
    after = org.truth("project", day, day + timedelta(1))[chem.id].amount
    assert before - after == waiting[0].amount
    put = fresh.route_requests("cancel")[0]
    assert put.method == "PUT" and json.loads(put.body)["ids"][0] == waiting[0].id


def test_clone_over_http_is_queued_then_billed_once(fresh: SimServer) -> None:
    org = fresh.org
    chem = org.project("Quantum Chem")
    done = next(
        j
        for j in org.billed(NOW.date(), NOW.date() + timedelta(1), until=NOW)
        if j.project_id == chem.id
    )
    with client(fresh, fresh.project_keys[chem.id]) as http:
        r = http.post(f"/jobs/{done.id}/clone", json={"name": "second try"})
        assert r.status_code == 201
        created = r.json()
        assert set(created) == {"id", "status", "session_id"} and created["status"] == "submitted"
        listed = http.get("/jobs", params={"status": "submitted"}).json()["jobs"]
        assert created["id"] in [j["id"] for j in listed]
        job = http.get(f"/jobs/{created['id']}").json()
        assert job["parent_job_id"] == done.id and job["name"] == "second try"
        assert "cost" not in http.get(f"/jobs/{created['id']}/cost").json()
        copy = org.find(created["id"], NOW)
        assert copy is not None
        fresh.now = copy.completed_at + timedelta(seconds=1)
        cost = parsed(http.get(f"/jobs/{created['id']}/cost"))
        assert cost["cost"] == {"value": done.amount, "unit": "usd"}
    day = copy.completed_at.date()
    fresh_org = SimOrg()
    window = (NOW.date(), NOW.date() + timedelta(days=4))
    assert org.total(*window).amount - fresh_org.total(*window).amount == done.amount
    assert copy.id in org.truth("job", day, day + timedelta(1))


# --- faults aimed at the jobs routes -------------------------------------------------------------


def test_faults_hit_only_the_route_they_aim_at(fresh: SimServer) -> None:
    chem = fresh.org.project("Quantum Chem").id
    fresh.fail(429, retry_after="2", route="jobs")
    fresh.fail(503, route="cost")
    fresh.fail(500)  # usage, as before
    with client(fresh, fresh.project_keys[chem]) as http:
        assert http.get("/whoami").status_code == 200
        job_id = http.get(f"/jobs/{fresh.org.queued(NOW, chem)[0].id}").json()["id"]
        r = http.get("/jobs")
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert http.get("/jobs").status_code == 200
        assert http.get(f"/jobs/{job_id}/cost").status_code == 503
        assert http.get(f"/jobs/{job_id}/cost").status_code == 200
    assert fresh.pending_faults == 1  # the usage fault still waits
    assert [r.route for r in fresh.job_requests] == ["job", "jobs", "jobs", "cost", "cost"]
    assert len(fresh.route_requests("jobs", "cost")) == 4
    with pytest.raises(ValueError):
        fresh.fail(500, route="nowhere")
    with pytest.raises(ValueError):
        fresh.route_requests("nowhere")


def test_body_faults_on_the_listing(server: SimServer, chem: httpx.Client) -> None:
    server.reset()
    server.drop_field("jobs.0.status", route="jobs")
    assert "status" not in chem.get("/jobs").json()["jobs"][0]
    server.corrupt("unknown_status", route="jobs")
    assert chem.get("/jobs").json()["jobs"][0]["status"] == "paused"
    server.corrupt("null_project", route="jobs")
    assert chem.get("/jobs").json()["jobs"][0]["project_id"] is None
    server.empty(route="jobs")
    assert chem.get("/jobs").json() == {"jobs": [], "next": None}
    server.extra_fields(route="jobs")
    assert "x_sim_meta" in chem.get("/jobs").json()["jobs"][0]
    server.corrupt("next_loop", route="jobs")
    looped = chem.get("/jobs", params={"limit": 3}).json()
    again = chem.get("/jobs", params={"limit": 3, "next": looped["next"]}).json()
    assert [j["id"] for j in again["jobs"]] == [j["id"] for j in looped["jobs"]]
    server.malformed(route="jobs")
    with pytest.raises(ValueError):
        chem.get("/jobs").json()
    assert server.pending_faults == 0
    with pytest.raises(ValueError):
        server.corrupt("unknown_status")  # a usage answer has no job status
    with pytest.raises(ValueError):
        server.corrupt("duplicate_bucket", route="jobs")


def test_body_faults_on_cost_and_whoami(server: SimServer, chem: httpx.Client) -> None:
    server.reset()
    job_id = chem.get("/jobs").json()["jobs"][0]["id"]
    server.corrupt("unknown_unit", route="cost")
    assert chem.get(f"/jobs/{job_id}/cost").json()["estimated_cost"]["unit"] == "eur"
    server.corrupt("nan_estimate", route="cost")
    assert '"value": NaN' in chem.get(f"/jobs/{job_id}/cost").text
    server.drop_field("estimated_cost", route="cost")
    assert "estimated_cost" not in chem.get(f"/jobs/{job_id}/cost").json()
    server.corrupt("null_project", route="whoami")
    assert chem.get("/whoami").json()["project_id"] is None
    server.reset()
