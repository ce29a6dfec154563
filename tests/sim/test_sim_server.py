"""The simulator over real loopback HTTP: answers, errors, whoami, the request log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from budgetbot.sim import RecordedRequest, SimOrg, SimServer, to_json

Get = Callable[..., httpx.Response]
WEEK = {
    "start_date": "2026-11-09",
    "end_date": "2026-11-16",
    "group_by": "project",
    "modality": "daily",
}


def parsed(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def test_base_url_and_life_cycle(sim_org: SimOrg) -> None:
    server = SimServer(sim_org)
    with pytest.raises(RuntimeError):
        _ = server.base_url
    with server as running:
        assert running is server
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v0\.4", server.base_url)
        url = server.base_url
        assert httpx.get(f"{url}/whoami", headers={"Authorization": "apiKey sim-key"}).is_success
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/whoami", timeout=1)
    server.stop()  # stopping twice is harmless
    other = SimServer(sim_org, base_path="/")
    with other:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", other.base_url)
        assert (
            httpx.get(
                f"{other.base_url}/whoami", headers={"Authorization": "apiKey sim-key"}
            ).status_code
            == 200
        )


def test_usage_answers_the_models_body(sim_usage: Get, sim_org: SimOrg, sim_now: datetime) -> None:
    response = sim_usage(**WEEK)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = sim_org.usage_body(
        "project", "daily", date(2026, 11, 9), date(2026, 11, 16), until=sim_now
    )
    assert response.text == to_json(expected)
    assert parsed(response) == expected
    assert isinstance(parsed(response)["amount_total"], Decimal)


def test_same_seed_same_bytes_over_http(sim_now: datetime) -> None:
    bodies = []
    for _ in range(2):
        with SimServer(SimOrg(), now=sim_now) as server:
            bodies.append(
                httpx.get(
                    f"{server.base_url}/organizations/{server.org_id}/usage",
                    params={**WEEK, "group_by": "user", "modality": "weekly"},
                    headers={"Authorization": "apiKey sim-key"},
                ).content
            )
    assert bodies[0] == bodies[1]


def test_now_hides_jobs_not_submitted_yet(
    sim_usage: Get, sim_org: SimOrg, sim_now: datetime
) -> None:
    body = parsed(
        sim_usage(
            start_date="2026-11-16", end_date="2026-11-21", group_by="project", modality="daily"
        )
    )
    by_day = {b["from"]: b for b in body["usage_data"]}
    assert list(by_day) == ["2026-11-20", "2026-11-19", "2026-11-18", "2026-11-17", "2026-11-16"]
    assert by_day["2026-11-19"]["job_count"] == 0 and by_day["2026-11-19"]["group_usages"] == []
    today = date(2026, 11, 18)
    partial = sim_org.total(today, today + timedelta(days=1), until=sim_now)
    assert by_day["2026-11-18"]["amount"] == partial.amount
    assert partial.amount < sim_org.total(today, today + timedelta(days=1)).amount
    assert body["amount_total"] == sim_org.total(date(2026, 11, 16), sim_now.date()).amount + (
        partial.amount
    )


def test_now_can_be_a_function_and_can_move(sim_org: SimOrg) -> None:
    moments = [datetime(2026, 3, 2, 0, 0, tzinfo=UTC)]
    with SimServer(sim_org, now=lambda: moments[-1]) as server:

        def day_count() -> int:
            r = httpx.get(
                f"{server.base_url}/organizations/{server.org_id}/usage",
                params={
                    "start_date": "2026-03-02",
                    "end_date": "2026-03-03",
                    "group_by": "job",
                    "modality": "daily",
                },
                headers={"Authorization": "apiKey sim-key"},
            )
            return int(r.json()["job_count"])

        day = date(2026, 3, 2)
        assert day_count() == 0
        moments.append(datetime(2026, 3, 3, tzinfo=UTC))
        # a day's usage counts the jobs that completed that day (billed), all known by midnight
        assert day_count() == len(sim_org.billed(day, date(2026, 3, 3))) > 0
        server.now = datetime(2026, 3, 2, 12, tzinfo=UTC)
        assert 0 < day_count() < len(sim_org.billed(day, date(2026, 3, 3)))
        assert day_count() == len(sim_org.billed(day, date(2026, 3, 3), until=server.now))
    with pytest.raises(ValueError):
        SimServer(sim_org, now=datetime(2026, 3, 2))


def test_new_fields_over_http(sim_server: SimServer, sim_usage: Get) -> None:
    assert "amount_totals" not in sim_usage(**WEEK).json()
    sim_server.new_fields = True
    body = parsed(sim_usage(**WEEK))
    assert body["amount_totals"] == [{"amount": body["amount_total"], "unit": "USD"}]
    assert body["usage_data"][0]["amounts"][0]["unit"] == "USD"


def test_org_id_is_url_decoded(sim_now: datetime) -> None:
    org = SimOrg(org_id="lab/quantum group")
    with SimServer(org, now=sim_now) as server:
        r = httpx.get(
            f"{server.base_url}/organizations/lab%2Fquantum%20group/usage",
            params=WEEK,
            headers={"Authorization": "apiKey sim-key"},
        )
    assert r.status_code == 200
    assert r.json()["organization"] == "lab/quantum group"


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "apiKey wrong"},
        {"Authorization": "Bearer sim-test-key"},
        {"Authorization": "apiKey"},
        {"Authorization": "apikey sim-test-key"},
    ],
)
def test_401_without_the_right_key(
    sim_server: SimServer, sim_org: SimOrg, headers: dict[str, str]
) -> None:
    for path in (f"/organizations/{sim_org.org_id}/usage", "/whoami"):
        r = httpx.get(sim_server.base_url + path, params=WEEK, headers=headers)
        assert r.status_code == 401
        body = r.json()
        assert set(body) == {"statusCode", "error", "message"}
        assert body["statusCode"] == 401 and body["error"] == "Unauthorized"
        assert body["message"]
        assert "sim-test-key" not in r.text


def test_404_for_an_unknown_organization(sim_usage: Get) -> None:
    r = sim_usage(org_id="com.my.org", **WEEK)
    assert r.status_code == 404
    assert r.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "Organization not found",
    }


def test_404_for_an_unknown_path(sim_http: httpx.Client) -> None:
    r = sim_http.get("/organizations/x/costs")
    assert r.status_code == 404
    assert r.json()["statusCode"] == 404


def test_405_for_other_methods(sim_http: httpx.Client, sim_org: SimOrg) -> None:
    r = sim_http.post(f"/organizations/{sim_org.org_id}/usage", json={})
    assert r.status_code == 405
    assert r.json()["error"] == "Method Not Allowed"


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"start_date": None}, "start_date", '"start_date" is required'),
        ({"end_date": None}, "end_date", '"end_date" is required'),
        ({"group_by": None}, "group_by", '"group_by" is required'),
        ({"modality": None}, "modality", '"modality" is required'),
        ({"group_by": ""}, "group_by", '"group_by" is required'),
        ({"start_date": "2026-13-01"}, "start_date", "valid date"),
        ({"start_date": "20261101"}, "start_date", "valid date"),
        ({"end_date": "yesterday"}, "end_date", "valid date"),
        ({"group_by": "team"}, "group_by", "must be one of [job, project, user]"),
        ({"group_by": "Project"}, "group_by", "must be one of"),
        ({"modality": "hourly"}, "modality", "must be one of [daily, weekly, monthly]"),
        ({"end_date": "2026-11-09"}, "end_date", "must be greater than"),
        ({"end_date": "2026-11-01"}, "end_date", "must be greater than"),
        ({"page": "2"}, "page", '"page" is not allowed'),
    ],
)
def test_400_for_bad_parameters(
    sim_usage: Get, change: dict[str, str | None], key: str, message: str
) -> None:
    params = {k: v for k, v in {**WEEK, **change}.items() if v is not None}
    r = sim_usage(**params)
    assert r.status_code == 400
    body = r.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert message in body["message"]
    assert body["validation"] == {"source": "query", "keys": [key]}


def test_checks_run_in_ionq_order(sim_server: SimServer, sim_usage: Get) -> None:
    # bad key beats bad parameters, bad parameters beat an unknown organization
    r = httpx.get(f"{sim_server.base_url}/organizations/nope/usage", params={"x": "1"})
    assert r.status_code == 401
    assert sim_usage(org_id="nope", modality="daily").status_code == 400
    assert sim_usage(org_id="nope", **WEEK).status_code == 404


# --- whoami -----------------------------------------------------------------------------------


def test_whoami(sim_http: httpx.Client, sim_org: SimOrg) -> None:
    r = sim_http.get("/whoami")
    assert r.status_code == 200
    body = r.json()
    assert {"id", "name", "project"} <= set(body)
    assert {"key_id", "key_name", "project_id"} <= set(body)  # IonQ's OpenAPI names
    assert body["project"] in {p.id for p in sim_org.projects}
    assert sim_org.org_id not in r.text  # whoami never tells the organization


# --- the request log --------------------------------------------------------------------------


def test_requests_are_recorded_and_reset(
    sim_server: SimServer, sim_http: httpx.Client, sim_usage: Get, sim_org: SimOrg
) -> None:
    assert sim_server.requests == []
    sim_usage(**WEEK)
    sim_http.get("/whoami")
    sim_usage(**{**WEEK, "group_by": "user"})
    log = sim_server.requests
    assert [r.path for r in log] == [
        f"/v0.4/organizations/{sim_org.org_id}/usage",
        "/v0.4/whoami",
        f"/v0.4/organizations/{sim_org.org_id}/usage",
    ]
    first = log[0]
    assert isinstance(first, RecordedRequest)
    assert first.method == "GET"
    assert first.query == WEEK
    assert first.headers["authorization"] == "apiKey sim-test-key"
    assert len(sim_server.usage_requests) == 2
    assert sim_server.usage_requests[1].query["group_by"] == "user"
    log.clear()  # a copy: the server's log is untouched
    assert len(sim_server.requests) == 3
    sim_server.reset()
    assert sim_server.requests == []


def test_quiet_on_stderr(
    sim_usage: Get, sim_http: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    sim_usage(**WEEK)
    sim_usage(start_date="bad")
    sim_http.get("/nowhere")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
