"""Fault injection: each fault, their order, their scope, and thread safety."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer
from tests.support import wait_for

Get = Callable[..., httpx.Response]
WEEK = {
    "start_date": "2026-11-09",
    "end_date": "2026-11-16",
    "group_by": "project",
    "modality": "daily",
}


def parsed(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def without_extras(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_extras(v) for k, v in node.items() if not k.startswith("x_sim_")}
    if isinstance(node, list):
        return [without_extras(v) for v in node]
    return node


def test_429_with_retry_after(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.fail(429, retry_after="1")
    r = sim_usage(**WEEK)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "1"
    assert r.json()["statusCode"] == 429 and r.json()["error"] == "Too Many Requests"
    again = sim_usage(**WEEK)
    assert again.status_code == 200
    assert "retry-after" not in again.headers


def test_429_without_retry_after(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.fail(429)
    r = sim_usage(**WEEK)
    assert r.status_code == 429 and "retry-after" not in r.headers


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable")],
)
def test_server_errors_have_ionq_style_bodies(
    sim_server: SimServer, sim_usage: Get, status: int, error: str
) -> None:
    sim_server.fail(status, times=2)
    for _ in range(2):
        r = sim_usage(**WEEK)
        assert r.status_code == status
        body = r.json()
        assert set(body) == {"statusCode", "error", "message"}
        assert (body["statusCode"], body["error"]) == (status, error)
        assert "status.ionq.co" in body["message"]
    assert sim_usage(**WEEK).status_code == 200


def test_custom_error_body(sim_server: SimServer, sim_usage: Get) -> None:
    when = "Wed, 21 Oct 2026 07:28:00 GMT"
    sim_server.fail(502, body="<html>bad gateway</html>", retry_after=when)
    r = sim_usage(**WEEK)
    assert (r.status_code, r.text) == (502, "<html>bad gateway</html>")
    assert r.headers["retry-after"] == when


def test_faults_apply_in_order_of_injection(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.fail(503, times=2)
    sim_server.malformed()
    sim_server.empty()
    sim_server.fail(429, retry_after="0")
    assert sim_server.pending_faults == 5
    answers = [sim_usage(**WEEK) for _ in range(6)]
    assert [r.status_code for r in answers] == [503, 503, 200, 200, 429, 200]
    with pytest.raises(json.JSONDecodeError):
        answers[2].json()
    assert answers[3].json()["usage_data"] == []
    assert answers[5].json()["usage_data"]
    assert sim_server.pending_faults == 0


def test_faults_only_hit_usage_requests(
    sim_server: SimServer, sim_usage: Get, sim_http: httpx.Client
) -> None:
    sim_server.fail(500)
    assert sim_http.get("/whoami").status_code == 200
    assert sim_http.get("/nowhere").status_code == 404
    assert sim_server.pending_faults == 1
    assert sim_usage(**WEEK).status_code == 500


def test_fail_comes_before_authentication(sim_server: SimServer, sim_org: SimOrg) -> None:
    # a rate limit or an outage answers before the key is looked at
    sim_server.fail(503)
    r = httpx.get(f"{sim_server.base_url}/organizations/{sim_org.org_id}/usage", params=WEEK)
    assert r.status_code == 503


def test_body_faults_leave_error_answers_alone(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.empty()
    r = sim_usage(org_id="com.my.org", **WEEK)
    assert r.status_code == 404  # the fault is used up by this request, unchanged
    assert sim_server.pending_faults == 0
    assert sim_usage(**WEEK).json()["usage_data"]


def test_malformed(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.malformed()
    r = sim_usage(**WEEK)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.text == '{"amount_total": 12.3, "usage_data": ['
    sim_server.malformed(body="")
    assert sim_usage(**WEEK).text == ""
    sim_server.malformed(times=2, body="not json")
    assert [sim_usage(**WEEK).text for _ in range(2)] == ["not json", "not json"]


@pytest.mark.parametrize(
    "path",
    [
        "usage_data.0.amount",
        "usage_data.1.group_usages.0.group_id",
        "amount_total",
        "usage_data.0.group_usages",
        "usage_data.6.from",
        "usage_data",
    ],
)
def test_drop_field(sim_server: SimServer, sim_usage: Get, path: str) -> None:
    full = parsed(sim_usage(**WEEK))
    sim_server.drop_field(path)
    dropped = parsed(sim_usage(**WEEK))
    *parents, last = path.split(".")
    node, full_node = dropped, full
    for part in parents:
        key: Any = int(part) if part.isdigit() else part
        node, full_node = node[key], full_node[key]
    assert last in full_node and last not in node
    del full_node[last]
    assert dropped == full
    assert parsed(sim_usage(**WEEK))["usage_data"][0]["amount"]  # one request only


def test_drop_field_of_a_missing_path_says_so(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.drop_field("usage_data.99.amount")
    r = sim_usage(**WEEK)
    assert r.status_code == 500
    assert "usage_data.99.amount" in r.json()["message"]


def test_extra_fields_at_every_level(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.new_fields = True
    plain = parsed(sim_usage(**WEEK))
    sim_server.extra_fields()
    extra = parsed(sim_usage(**WEEK))
    assert set(extra) - set(plain)
    for bucket, plain_bucket in zip(extra["usage_data"], plain["usage_data"], strict=True):
        assert set(bucket) - set(plain_bucket)
        for g, plain_g in zip(bucket["group_usages"], plain_bucket["group_usages"], strict=True):
            assert set(g) - set(plain_g)
        assert set(bucket["amounts"][0]) - {"amount", "unit"}
    assert set(extra["amount_totals"][0]) - {"amount", "unit"}
    assert without_extras(extra) == plain


def test_empty(sim_server: SimServer, sim_usage: Get) -> None:
    plain = parsed(sim_usage(**WEEK))
    sim_server.empty()
    body = parsed(sim_usage(**WEEK))
    assert body["usage_data"] == []
    assert (body["amount_total"], body["time_us_total"], body["job_count"]) == (0, 0, 0)
    for key in ("usage_unit", "group_type", "modality", "organization", "usage_from", "usage_to"):
        assert body[key] == plain[key]


def test_latency_delays_every_request(
    sim_server: SimServer, sim_usage: Get, sim_http: httpx.Client
) -> None:
    sim_server.latency = 0.15
    calls: list[Callable[[], httpx.Response]] = [
        lambda: sim_usage(**WEEK),
        lambda: sim_http.get("/whoami"),
    ]
    for call in calls:
        started = time.monotonic()
        assert call().status_code == 200
        assert time.monotonic() - started >= 0.15
    with pytest.raises(ValueError):
        sim_server.latency = -1
    sim_server.reset()
    assert sim_server.latency == 0


def test_hang_times_the_client_out(sim_server: SimServer, sim_org: SimOrg, sim_key: str) -> None:
    sim_server.hang(seconds=3)
    url = f"{sim_server.base_url}/organizations/{sim_org.org_id}/usage"
    headers = {"Authorization": f"apiKey {sim_key}"}
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, params=WEEK, headers=headers, timeout=0.2)
    assert time.monotonic() - started < 2
    r = httpx.get(url, params=WEEK, headers=headers, timeout=2)  # the next one is prompt
    assert r.status_code == 200


def test_stop_wakes_a_hanging_request(sim_org: SimOrg, sim_key: str) -> None:
    server = SimServer(sim_org, api_key=sim_key).start()
    server.hang(seconds=60)
    url = f"{server.base_url}/organizations/{sim_org.org_id}/usage"
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            httpx.get, url, params=WEEK, headers={"Authorization": f"apiKey {sim_key}"}, timeout=30
        )
        wait_for(lambda: server.pending_faults == 0, 5)  # the request is hanging now
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.TransportError):
            pending.result(timeout=5)


def test_faults_are_thread_safe(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.fail(503, times=7)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: sim_usage(**WEEK).status_code, range(20)))
    assert sorted(statuses).count(503) == 7
    assert statuses.count(200) == 13
    assert len(sim_server.usage_requests) == 20


def test_reset_clears_faults(sim_server: SimServer, sim_usage: Get) -> None:
    sim_server.fail(500, times=3)
    sim_server.latency = 0.5
    sim_server.reset()
    assert sim_server.pending_faults == 0
    assert sim_usage(**WEEK).status_code == 200


def test_fault_arguments_are_checked(sim_server: SimServer) -> None:
    with pytest.raises(ValueError):
        sim_server.fail(200)
    with pytest.raises(ValueError):
        sim_server.fail(503, times=0)
    with pytest.raises(ValueError):
        sim_server.drop_field("")
    with pytest.raises(ValueError):
        sim_server.drop_field("usage_data..amount")
    with pytest.raises(ValueError):
        sim_server.hang(seconds=-1)
    assert sim_server.pending_faults == 0


def test_corrupt_and_drip_arguments_are_checked(sim_server: SimServer) -> None:
    with pytest.raises(ValueError):
        sim_server.corrupt("gremlins")
    with pytest.raises(ValueError):
        sim_server.drip(seconds=-1)
    assert sim_server.pending_faults == 0


def test_drip_sends_the_same_answer_slowly(sim_server: SimServer, sim_usage: Get) -> None:
    plain = sim_usage(**WEEK)
    sim_server.drip(seconds=0.0001)
    dripped = sim_usage(**WEEK)
    assert dripped.status_code == 200 and dripped.text == plain.text


def test_corrupt_serves_literal_numbers_json_cannot_hold(
    sim_server: SimServer, sim_usage: Get
) -> None:
    sim_server.corrupt("overflow_amount")
    assert '"amount": 1e999999' in sim_usage(**WEEK).text
    sim_server.corrupt("nan_amount")
    assert '"amount": NaN' in sim_usage(**WEEK).text
