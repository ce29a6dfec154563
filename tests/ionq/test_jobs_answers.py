"""Reading the jobs endpoints' answers without HTTP: what is believed, what refuses the answer."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from budgetbot.ionq import (
    IonQInvalidAnswer,
    IonQResponseError,
    JobStatus,
    parse_job_cost,
    parse_jobs_page,
    parse_whoami,
)

COST = "/jobs/j1/cost"


def job(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "j1", "status": "submitted", "submitter_id": "u1"}
    return {**base, **fields}


def page(*jobs: dict[str, Any], next: str | None = None) -> str:
    return json.dumps({"jobs": list(jobs), "next": next})


def test_a_full_job_as_ionq_documents_it() -> None:
    text = page(
        job(
            type="ionq.circuit.v1",
            backend="qpu.forte-1",
            dry_run=False,
            project_id="p1",
            name="VQE sweep 3",
            submitted_at="2026-11-20T08:00:00.000Z",
            started_at=None,
            predicted_wait_time_ms=3600000,
            stats={"qubits": 20, "predicted_quantum_compute_time_us": 5000.25},
            metadata=None,
            results=None,
        ),
        next="cursor-2",
    )
    answer = parse_jobs_page(text, JobStatus.SUBMITTED)
    [j] = answer.jobs
    assert (j.id, j.project_id, j.submitter_id, j.name, j.backend) == (
        "j1",
        "p1",
        "u1",
        "VQE sweep 3",
        "qpu.forte-1",
    )
    assert j.predicted_us == Decimal("5000.25")
    assert j.submitted_at is not None and j.submitted_at.tzinfo is not None
    assert answer.next == "cursor-2"


def test_optional_fields_may_be_absent_or_null() -> None:
    [j] = parse_jobs_page(
        page(job(project_id=None, name=None, stats=None, backend=None)), JobStatus.SUBMITTED
    ).jobs
    assert j.project_id is None and j.name is None and j.predicted_us is None
    [j] = parse_jobs_page(page(job(stats={"qubits": 2})), JobStatus.SUBMITTED).jobs
    assert j.predicted_us is None


@pytest.mark.parametrize("missing", ["id", "status", "submitter_id"])
def test_a_job_without_what_counts_it_refuses_the_page(missing: str) -> None:
    good = job(id="j0")
    bad = job(id="j1")
    del bad[missing]
    with pytest.raises(IonQResponseError) as caught:
        parse_jobs_page(page(good, bad), JobStatus.SUBMITTED)
    assert caught.value.field == f"jobs[1].{missing}"
    assert f"misses the required field jobs[1].{missing}" in str(caught.value)


@pytest.mark.parametrize("body", [{"jobs": []}, {"next": None}, [], {"jobs": {}, "next": None}])
def test_a_listing_that_is_not_jobs_and_next_is_refused(body: Any) -> None:
    with pytest.raises(IonQResponseError):
        parse_jobs_page(json.dumps(body), JobStatus.READY)


@pytest.mark.parametrize("status", ["completed", "queued", "SUBMITTED", ""])
def test_a_job_in_another_status_than_asked_refuses_the_page(status: str) -> None:
    with pytest.raises(IonQInvalidAnswer) as caught:
        parse_jobs_page(page(job(id="ok"), job(id="j9", status=status)), JobStatus.SUBMITTED)
    assert caught.value.field == "jobs[1].status"
    assert "j9" in str(caught.value) and "'submitted' as asked" in str(caught.value)
    assert caught.value.retryable


@pytest.mark.parametrize("value", ["-1", "NaN", "Infinity", "1e999999", '"24.83"'])
def test_a_broken_predicted_time_refuses_the_page(value: str) -> None:
    text = page(job()).replace(
        '"submitter_id"',
        f'"stats": {{"predicted_quantum_compute_time_us": {value}}}, "submitter_id"',
    )
    with pytest.raises(IonQInvalidAnswer):
        parse_jobs_page(text, JobStatus.SUBMITTED)


def test_empty_ids_are_refused() -> None:
    with pytest.raises(IonQResponseError):
        parse_jobs_page(page(job(id="")), JobStatus.SUBMITTED)


def cost(value: str, unit: str = "usd", **extra: Any) -> str:
    rest = "".join(f', "{k}": {json.dumps(v)}' for k, v in extra.items())
    return f'{{"dry_run": false, "estimated_cost": {{"value": {value}, "unit": "{unit}"}}{rest}}}'


@pytest.mark.parametrize("unit", ["usd", "USD", "Usd"])
def test_usd_estimates_in_any_case_are_exact_decimals(unit: str) -> None:
    answer = parse_job_cost(cost("24.830000000000000001", unit), COST)
    assert answer.estimated_cost.usd == Decimal("24.830000000000000001")
    assert answer.cost is None


def test_credits_have_no_usd_figure_and_keep_their_unit() -> None:
    answer = parse_job_cost(cost("120", "credit"), COST)
    assert answer.estimated_cost.usd is None
    assert answer.estimated_cost.unit == "credit"
    assert answer.estimated_cost.value == Decimal(120)


def test_billed_cost_and_unknown_fields() -> None:
    answer = parse_job_cost(cost("10", cost={"value": 9.5, "unit": "usd"}, surprise=[1]), COST)
    assert answer.cost is not None and answer.cost.usd == Decimal("9.5")


@pytest.mark.parametrize("value", ["-0.01", "NaN", "-Infinity", "1e999999", '"24.83"', "true"])
def test_a_broken_estimate_refuses_the_answer(value: str) -> None:
    with pytest.raises(IonQInvalidAnswer) as caught:
        parse_job_cost(cost(value), COST)
    assert caught.value.field == "estimated_cost.value"
    assert COST in str(caught.value)


@pytest.mark.parametrize(
    "text", ['{"dry_run": false}', '{"estimated_cost": {"value": 1}}', "[]", "not json"]
)
def test_a_cost_without_an_estimate_is_refused(text: str) -> None:
    with pytest.raises(IonQResponseError):
        parse_job_cost(text, COST)


@given(st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False))
def test_estimates_survive_the_wire_exactly(value: Decimal) -> None:
    assert parse_job_cost(cost(str(value)), COST).estimated_cost.usd == value


def test_whoami_in_ionqs_spelling_and_in_designs() -> None:
    a = parse_whoami('{"key_id": "k1", "key_name": "ci", "project_id": "p1"}')
    b = parse_whoami('{"id": "k1", "name": "ci", "project": "p1"}')
    assert (a.key_id, a.key_name, a.project_id) == (b.key_id, b.key_name, b.project_id)
    org = parse_whoami('{"key_id": "k2", "key_name": "org"}')
    assert org.project_id is None
    with pytest.raises(IonQResponseError):
        parse_whoami('{"key_name": "no id"}')


def test_unreadable_fields_that_are_only_shown_are_dropped_not_fatal() -> None:
    text = page(
        job(name=5, backend=["x"], submitted_at="yesterday", predicted_wait_time_ms=-3),
        job(id="j2", submitted_at="2026-11-20T08:00:00"),
    )
    first, second = parse_jobs_page(text, JobStatus.SUBMITTED).jobs
    assert (first.name, first.backend, first.submitted_at) == (None, None, None)
    assert first.predicted_wait_time_ms is None
    assert second.submitted_at is not None and second.submitted_at.utcoffset() is not None
