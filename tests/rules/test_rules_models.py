"""The policy language's models: the rules a schema alone cannot say, and the JSON Schema."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from budgetbot.rules import (
    MEASURES,
    Anomaly,
    Budget,
    Digest,
    Policy,
    PolicyFile,
    parse_window,
    policy_json_schema,
)


def policy(**changes: Any) -> dict[str, Any]:
    return {"name": "chem-monthly", "scope": "project", "budget": {"usd": 5000}, **changes}


def messages(error: pytest.ExceptionInfo[ValidationError]) -> dict[tuple[Any, ...], str]:
    return {tuple(e["loc"]): e["msg"] for e in error.value.errors()}


def test_policy_defaults() -> None:
    loaded = Policy.model_validate(policy())
    assert loaded.description is None
    assert loaded.match is None
    assert loaded.each is False
    assert loaded.period == "month"
    assert loaded.alert_at == [Decimal(80), Decimal(100)]
    assert loaded.forecast_at == []
    assert loaded.pace_at == []
    assert loaded.channel is None
    assert loaded.mention == []
    assert loaded.source == ""


def test_models_are_frozen_and_closed() -> None:
    loaded = Policy.model_validate(policy())
    with pytest.raises(ValidationError):
        loaded.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(policy(alert_a=[1]))
    assert raised.value.errors()[0]["type"] == "extra_forbidden"


def test_with_source_returns_a_located_copy() -> None:
    loaded = Policy.model_validate(policy())
    located = loaded.with_source("policies/chem.yaml:3")
    assert located.source == "policies/chem.yaml:3"
    assert loaded.source == ""
    assert located.name == loaded.name


@pytest.mark.parametrize(
    ("budget", "measure", "amount", "shown"),
    [
        ({"usd": 5000}, "usd", Decimal(5000), "$5,000.00"),
        ({"qpu_hours": 2.5}, "qpu_hours", Decimal("2.5"), "2.50 QPU h"),
        ({"jobs": 1000}, "jobs", Decimal(1000), "1,000 jobs"),
    ],
)
def test_budget_has_one_measure(
    budget: dict[str, Any], measure: str, amount: Decimal, shown: str
) -> None:
    loaded = Budget.model_validate(budget)
    assert loaded.measure == measure
    assert loaded.amount == amount
    assert isinstance(loaded.amount, Decimal)
    assert loaded.format() == shown


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({}, "must have exactly one of usd, qpu_hours, jobs (got none)"),
        ({"usd": 1, "jobs": 2}, "must have exactly one of usd, qpu_hours, jobs (got usd and jobs)"),
        ({"usd": None}, "must have exactly one of usd, qpu_hours, jobs (got none)"),
    ],
)
def test_budget_exactly_one(budget: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Budget.model_validate(budget)
    assert message in str(raised.value)


@pytest.mark.parametrize("budget", [{"usd": 0}, {"usd": -5}, {"qpu_hours": 0}, {"jobs": 0}])
def test_budget_must_be_positive(budget: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        Budget.model_validate(budget)
    assert raised.value.errors()[0]["type"] == "greater_than"


def test_budget_fields_and_measure_registry_agree() -> None:
    assert set(MEASURES) == set(Budget.model_fields)
    assert all(key == info.key for key, info in MEASURES.items())


def test_decimal_from_yaml_float_is_exact() -> None:
    assert Budget.model_validate({"qpu_hours": 0.1}).amount == Decimal("0.1")


@pytest.mark.parametrize(
    ("field", "values", "message"),
    [
        ("alert_at", [120], "120 is over 100"),
        ("alert_at", [0, 50], "must be greater than 0 (got 0)"),
        ("alert_at", [80, 50], "must be in strictly ascending order (50 comes after 80)"),
        ("alert_at", [80, 80], "must be in strictly ascending order (80 comes after 80)"),
        ("forecast_at", [-1], "must be greater than 0 (got -1)"),
        ("pace_at", [150, 125], "must be in strictly ascending order (125 comes after 150)"),
    ],
)
def test_thresholds(field: str, values: list[int], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(policy(**{field: values}))
    assert messages(raised)[(field,)] == f"Value error, {message}"


def test_forecast_and_pace_may_exceed_100() -> None:
    loaded = Policy.model_validate(
        policy(alert_at=[50, 100], forecast_at=[100, 150], pace_at=[125])
    )
    assert loaded.forecast_at == [Decimal(100), Decimal(150)]
    assert loaded.pace_at == [Decimal(125)]


def test_match_and_each_rules() -> None:
    assert Policy.model_validate(policy(match=["Quantum*", "proj-?"], each=True)).each
    assert Policy.model_validate(policy(scope="organization")).match is None
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(policy(scope="organization", match=["*"], each=True))
    got = messages(raised)
    assert set(got) == {("match",), ("each",)}
    assert all("not allowed with scope 'organization'" in m for m in got.values())
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(policy(match=[]))
    assert raised.value.errors()[0]["type"] == "too_short"
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate(policy(match=["  "]))
    assert "must not be empty" in str(raised.value)


@pytest.mark.parametrize("name", ["", "Chem", "chem_monthly", "chem monthly", "a" * 64])
def test_bad_names(name: str) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate(policy(name=name))


def test_good_names() -> None:
    for name in ["a", "chem-monthly", "2026-q4", "a" * 63]:
        assert Policy.model_validate(policy(name=name)).name == name


@pytest.mark.parametrize(
    ("text", "days"),
    [("3d", 3), ("14d", 14), ("2w", 14), ("90d", 90), ("12w", 84), (" 7d ", 7)],
)
def test_window_parsing(text: str, days: int) -> None:
    assert parse_window(text) == days
    anomaly = Anomaly.model_validate(
        {"name": "spike", "scope": "project", "window": text, "factor": 3}
    )
    assert anomaly.window_days == days


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("2d", "must be between 3 and 90 days (got 2 days)"),
        ("1d", "must be between 3 and 90 days (got 1 day)"),
        ("13w", "must be between 3 and 90 days (got 91 days)"),
        ("14", "must be days or weeks like '14d' or '2w' (got '14')"),
        ("2 weeks", "must be days or weeks like '14d' or '2w'"),
        (14, "must be days or weeks like '14d' or '2w' (got 14)"),
    ],
)
def test_bad_windows(window: object, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Anomaly.model_validate({"name": "spike", "scope": "user", "window": window, "factor": 3})
    assert message in messages(raised)[("window",)]


def test_anomaly_factor_and_min_usd() -> None:
    base = {"name": "spike", "scope": "project", "window": "14d"}
    assert Anomaly.model_validate({**base, "factor": 1.5}).min_usd == Decimal(0)
    with pytest.raises(ValidationError):
        Anomaly.model_validate({**base, "factor": 1})
    with pytest.raises(ValidationError):
        Anomaly.model_validate({**base, "factor": 3, "min_usd": -1})
    with pytest.raises(ValidationError):
        Anomaly.model_validate({**base, "scope": "organization", "match": ["x"], "factor": 3})


def test_digest_defaults_and_checks() -> None:
    digest = Digest.model_validate({"name": "weekly", "schedule": "0 9 * * MON"})
    assert (digest.timezone, digest.period, digest.top, digest.channel) == ("UTC", "week", 10, None)
    assert (
        Digest.model_validate({"name": "d", "schedule": "@daily", "period": "day"}).period == "day"
    )
    for bad in ["0 25 * * *", "* * *", "0 9 * * MON 2026", "0 0 31 2 *", "whenever"]:
        with pytest.raises(ValidationError) as raised:
            Digest.model_validate({"name": "d", "schedule": bad})
        assert ("schedule",) in messages(raised)
    with pytest.raises(ValidationError) as raised:
        Digest.model_validate({"name": "d", "schedule": "0 9 * * MON", "timezone": "Mars/Base"})
    assert "unknown timezone 'Mars/Base'" in messages(raised)[("timezone",)]
    for top in [0, 51]:
        with pytest.raises(ValidationError):
            Digest.model_validate({"name": "d", "schedule": "0 9 * * MON", "top": top})
    with pytest.raises(ValidationError):
        Digest.model_validate({"name": "d", "schedule": "0 9 * * MON", "period": "quarter"})


def test_json_schema() -> None:
    schema = policy_json_schema()
    json.dumps(schema)  # serializable as it is
    assert set(schema["properties"]) == {"policies", "anomalies", "digests", "people"}
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    policy_props = defs["Policy"]["properties"]
    assert list(policy_props) == [
        "name", "description", "scope", "match", "each", "period", "budget",
        "alert_at", "forecast_at", "pace_at", "committed_at", "channel", "mention", "actions",
        "notify",
    ]  # fmt: skip
    assert all("description" in prop for prop in policy_props.values())
    action = defs["Action"]
    assert list(action["properties"]) == ["at", "of", "do", "approval", "approvers"]
    assert action["required"] == ["at"] and action["additionalProperties"] is False
    assert action["properties"]["of"]["enum"] == ["spend", "committed"]
    assert action["properties"]["do"]["const"] == "cancel-queued"
    assert action["properties"]["approval"]["enum"] == ["manual", "automatic"]
    assert all("description" in prop for prop in action["properties"].values())
    assert defs["Policy"]["additionalProperties"] is False
    assert set(defs["Budget"]["properties"]) == {"usd", "qpu_hours", "jobs"}
    assert set(defs["Anomaly"]["properties"]) == {
        "name", "description", "scope", "match", "window", "factor", "min_usd",
        "channel", "mention",
    }  # fmt: skip
    assert set(defs["Digest"]["properties"]) == {
        "name", "schedule", "timezone", "period", "channel", "top",
    }  # fmt: skip
    assert "source" not in json.dumps(schema)
    assert "_source" not in json.dumps(schema)


def test_policy_file_model() -> None:
    loaded = PolicyFile.model_validate({"policies": [policy()]})
    assert loaded.anomalies == [] and loaded.digests == []
    with pytest.raises(ValidationError):
        PolicyFile.model_validate({"polices": []})
