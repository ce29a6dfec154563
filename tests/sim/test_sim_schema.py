"""Simulator answers against IonQ's own schemas (copies kept in ionq_usage_schemas.json and
ionq_jobs_schemas.json).

The checker is small and hand-written (no jsonschema dependency): ``$ref``, ``allOf``, ``type``,
``nullable``, ``properties``, ``required``, ``additionalProperties: false``, ``items``, ``enum``
and the ``date``/``date-time`` formats.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer, to_json

SCHEMAS: dict[str, Any] = {
    name: schema
    for copy in ("ionq_usage_schemas.json", "ionq_jobs_schemas.json")
    for name, schema in json.loads((Path(__file__).parent / copy).read_text(encoding="utf-8"))[
        "components"
    ]["schemas"].items()
}

# IonQ's Usages lists start_date and end_date as required, but its properties define neither
# (the answer carries usage_from/usage_to instead; start_date/end_date are query parameters).
# Requiring them would fail every real answer too, so the checker skips those two.
NOT_REALLY_REQUIRED = {("Usages", "start_date"), ("Usages", "end_date")}

REF = re.compile(r"#/components/schemas/(.+)")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def check(value: Any, schema: dict[str, Any], where: str = "$", name: str = "") -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``path: problem`` strings."""
    if "$ref" in schema:
        match = REF.fullmatch(schema["$ref"])
        assert match, schema["$ref"]
        target = match.group(1)
        return check(value, SCHEMAS[target], where, target)
    if value is None and schema.get("nullable"):
        return []
    problems: list[str] = []
    for part in schema.get("allOf", []):
        problems.extend(check(value, part, where))
    kind = schema.get("type")
    if kind is not None and not _is(value, kind):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    fmt = schema.get("format")
    if isinstance(value, str) and fmt == "date":
        try:
            date.fromisoformat(value)
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
        except (ValueError, AssertionError):
            problems.append(f"{where}: {value!r} is not a date")
    if isinstance(value, str) and fmt == "date-time" and not DATE_TIME.fullmatch(value):
        problems.append(f"{where}: {value!r} is not an RFC 3339 date-time")
    # format "uuid" (organization_id) is not checked: IonQ's own example uses "com.my.org" and
    # DESIGN §2 says to accept any id string.
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if (name, key) not in NOT_REALLY_REQUIRED and key not in value:
                problems.append(f"{where}: missing required {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems.extend(check(value[key], sub, f"{where}.{key}"))
        if schema.get("additionalProperties") is False:
            problems.extend(
                f"{where}: unknown field {key!r}"
                for key in value
                if key not in schema.get("properties", {})
            )
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems.extend(check(item, schema["items"], f"{where}[{index}]"))
    return problems


def _is(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    raise AssertionError(f"the checker does not know type {kind!r}")


def usages_problems(body_text: str) -> list[str]:
    body = json.loads(body_text, parse_float=Decimal)
    return check(body, {"$ref": "#/components/schemas/Usages"})


# --- the checker itself -----------------------------------------------------------------------


def test_fixture_holds_the_four_usage_schemas() -> None:
    assert {"Usages", "Usage", "GroupUsage", "UsageAmount"} <= set(SCHEMAS)
    assert SCHEMAS["Usage"]["required"] == [
        "from",
        "job_count",
        "amount",
        "time_us",
        "group_usages",
    ]


def test_checker_catches_what_it_should(sim_org: SimOrg) -> None:
    body = json.loads(
        to_json(sim_org.usage_body("project", "daily", date(2026, 5, 1), date(2026, 5, 3))),
        parse_float=Decimal,
    )
    assert check(body, {"$ref": "#/components/schemas/Usages"}) == []
    broken = json.loads(json.dumps(body, default=str))  # Decimals became strings
    assert any("expected number" in p for p in check(broken, SCHEMAS["Usages"], name="Usages"))
    del body["usage_data"][1]["time_us"]
    body["usage_data"][0]["job_count"] = 3.5
    body["usage_data"][0]["group_usages"][2]["group_name"] = None
    body["modality"] = "hourly"
    body["usage_data"][0]["from"] = "2026-05-02T00:00:00Z"
    body.pop("group_type")
    problems = check(body, SCHEMAS["Usages"], name="Usages")
    assert "$.usage_data[1]: missing required 'time_us'" in problems
    assert any(p.startswith("$.usage_data[0].job_count: expected integer") for p in problems)
    assert any(
        p.startswith("$.usage_data[0].group_usages[2].group_name: expected string")
        for p in problems
    )
    assert any("'hourly' is not one of" in p for p in problems)
    assert any("is not a date" in p for p in problems)
    assert "$: missing required 'group_type'" in problems
    assert not any("start_date" in p or "end_date" in p for p in problems)
    assert check(True, {"type": "integer"}) and check(True, {"type": "number"})


# --- simulator answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_by", "modality", "start", "end"),
    [
        ("project", "daily", "2026-11-01", "2026-11-19"),
        ("user", "weekly", "2025-12-24", "2026-01-10"),
        ("job", "monthly", "2026-01-15", "2026-04-10"),
        ("project", "monthly", "2026-11-01", "2027-01-01"),  # future buckets: zero, no groups
    ],
)
@pytest.mark.parametrize("new_fields", [False, True])
def test_answers_match_ionq_schemas(
    sim_server: SimServer,
    sim_http: httpx.Client,
    sim_org: SimOrg,
    group_by: str,
    modality: str,
    start: str,
    end: str,
    new_fields: bool,
) -> None:
    sim_server.new_fields = new_fields
    r = sim_http.get(
        f"/organizations/{sim_org.org_id}/usage",
        params={
            "start_date": start,
            "end_date": end,
            "group_by": group_by,
            "modality": modality,
        },
    )
    assert r.status_code == 200
    assert usages_problems(r.text) == []


def test_empty_and_extra_field_answers_match_too(
    sim_server: SimServer, sim_http: httpx.Client, sim_org: SimOrg
) -> None:
    params = {
        "start_date": "2026-11-01",
        "end_date": "2026-11-08",
        "group_by": "user",
        "modality": "daily",
    }
    sim_server.empty()
    sim_server.extra_fields()
    for _ in range(2):
        r = sim_http.get(f"/organizations/{sim_org.org_id}/usage", params=params)
        assert usages_problems(r.text) == []


def test_a_dropped_required_field_is_caught(
    sim_server: SimServer, sim_http: httpx.Client, sim_org: SimOrg
) -> None:
    sim_server.drop_field("usage_data.0.amount")
    r = sim_http.get(
        f"/organizations/{sim_org.org_id}/usage",
        params={
            "start_date": "2026-11-01",
            "end_date": "2026-11-08",
            "group_by": "project",
            "modality": "daily",
        },
    )
    assert usages_problems(r.text) == ["$.usage_data[0]: missing required 'amount'"]


def test_new_fields_answer_uses_every_documented_property(sim_org: SimOrg) -> None:
    body = sim_org.usage_body(
        "project",
        "weekly",
        date(2026, 10, 1),
        date(2026, 10, 20),
        until=datetime.fromisoformat("2026-11-18T15:30:00+00:00"),
        new_fields=True,
    )
    assert set(SCHEMAS["Usages"]["properties"]) == set(body)
    bucket = body["usage_data"][0]
    assert set(SCHEMAS["Usage"]["properties"]) == set(bucket)
    assert set(SCHEMAS["GroupUsage"]["properties"]) == set(bucket["group_usages"][0])
    assert set(SCHEMAS["UsageAmount"]["properties"]) == set(bucket["amounts"][0])


# --- the jobs endpoints -------------------------------------------------------------------------


def problems_of(text: str, schema: str) -> list[str]:
    return check(json.loads(text, parse_float=Decimal), {"$ref": f"#/components/schemas/{schema}"})


def test_the_jobs_copy_holds_the_answers_schemas() -> None:
    assert {"GetJobsResponse", "BaseJob", "GetJobCostResponse", "Whoami", "JobStatus"} <= set(
        SCHEMAS
    )
    job = {"id": "x", "status": "paused", "project_id": None, "surprise": 1}
    problems = check(job, SCHEMAS["BaseJob"], name="BaseJob")
    assert "$: missing required 'submitter_id'" in problems
    assert any("'paused' is not one of" in p for p in problems)
    assert "$: unknown field 'surprise'" in problems
    assert not any("project_id" in p for p in problems)  # nullable


def test_jobs_answers_match_ionq_schemas() -> None:
    org = SimOrg()
    now = datetime.fromisoformat("2026-11-18T15:30:00+00:00")
    chem = org.project("Quantum Chem").id
    with (
        SimServer(org, now=now) as server,
        httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"apiKey {server.project_keys[chem]}"},
            timeout=5.0,
        ) as http,
    ):
        assert problems_of(http.get("/whoami").text, "Whoami") == []
        statuses = set()
        for status in ("", "ready", "completed"):
            r = http.get("/jobs", params={"status": status, "limit": 100} if status else {})
            assert problems_of(r.text, "GetJobsResponse") == []
            for job in r.json()["jobs"]:
                statuses.add(job["status"])
                assert problems_of(http.get(f"/jobs/{job['id']}").text, "BaseJob") == []
                cost = http.get(f"/jobs/{job['id']}/cost").text
                assert problems_of(cost, "GetJobCostResponse") == []
        assert {"ready", "completed"} <= statuses
        ready = http.get("/jobs", params={"status": "ready"}).json()["jobs"]
        clone = http.post(f"/jobs/{ready[0]['id']}/clone", json={})
        assert clone.status_code == 201
        assert problems_of(clone.text, "JobCreationResponse") == []
        one = http.put(f"/jobs/{ready[0]['id']}/status/cancel")
        assert problems_of(one.text, "JobCanceledResponse") == []
        many = http.put("/jobs/status/cancel", json={"ids": [j["id"] for j in ready]})
        assert problems_of(many.text, "JobsCanceledResponse") == []
        assert problems_of(http.get(f"/jobs/{ready[0]['id']}").text, "BaseJob") == []
