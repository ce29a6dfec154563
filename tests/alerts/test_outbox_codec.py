"""The outbox payload: one typed value, one codec, and every reader goes through it."""

from __future__ import annotations

import ast
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgetbot.actions import JobOutcome, Outcome, Proposal
from budgetbot.alerts.decide import Reason
from budgetbot.alerts.outbox import (
    ActionResultPayload,
    AlertPayload,
    DigestPayload,
    NoticePayload,
    PayloadError,
    ProposalPayload,
    decode,
    encode,
)
from tests.render.test_chart import small_digest
from tests.slack.conftest import make_finding

PACKAGE = Path(__file__).resolve().parents[2] / "budgetbot"


def test_each_payload_comes_back_as_it_went_in() -> None:
    alert = AlertPayload(make_finding(), Reason.HIGHER_LEVEL)
    digest = DigestPayload(small_digest())
    notice = NoticePayload("IonQ usage data is available again")
    for payload in (alert, digest, notice):
        assert decode(encode(payload)) == payload


def test_budget_action_payloads_come_back_as_they_went_in() -> None:
    proposal = Proposal(
        id="p-1",
        rule="chem-cap",
        scope="project",
        group_key="p1",
        group_name="Quantum Chem <!channel>",
        groups=("p1",),
        period="2026-11",
        kind="committed",
        level=Decimal("100.5"),
        approval="manual",
        approvers=("@lab-managers",),
        thread_key="chem-cap|p1|2026-11",
        channel="#quantum-spend",
        created_at=dt.datetime(2026, 11, 20, 19, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        jobs=3,
        amount_usd=Decimal("640.00"),
    )
    outcome = Outcome(
        proposal_id="p-1",
        state="done",
        first=True,
        proposal=proposal,
        approved_by="U1",
        jobs=(
            JobOutcome(
                job_id="j1",
                label="vqe",
                status="canceled",
                result="cancelled",
                estimate_usd=Decimal("1.10"),
            ),
        ),
        message="Cancelled 1 queued job of Quantum Chem",
    )
    for payload in (ProposalPayload(proposal), ActionResultPayload(outcome)):
        assert decode(encode(payload)) == payload
    with pytest.raises(PayloadError):
        decode('{"type": "proposal", "proposal": {"id": "p-1"}}')


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=300), reason=st.sampled_from(list(Reason)))
def test_law_any_notice_text_and_reason_round_trip(text: str, reason: Reason) -> None:
    assert decode(encode(NoticePayload(text))) == NoticePayload(text)
    alert = AlertPayload(make_finding(), reason)
    assert decode(encode(alert)) == alert


def test_payloads_written_before_the_codec_still_read() -> None:
    finding = make_finding()
    doc = {"finding": finding.model_dump(mode="json"), "reason": "FIRST"}  # no "type": an alert
    assert decode(json.dumps(doc)) == AlertPayload(finding, Reason.FIRST)
    assert decode('{"type": "notice", "text": "x"}') == NoticePayload("x")


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"type": "fax", "text": "x"}',
        '{"type": "alert", "finding": {}, "reason": "FIRST"}',
        '{"type": "alert", "reason": "NOPE"}',
        '{"type": "notice"}',
        '{"type": "digest", "digest": 3}',
    ],
)
def test_an_unreadable_payload_is_one_error_of_its_own(text: str) -> None:
    with pytest.raises(PayloadError):
        decode(text)
    assert issubclass(PayloadError, ValueError)


def test_law_only_the_codec_parses_an_outbox_payload() -> None:
    """No module but alerts/outbox.py reads a row's ``payload`` as JSON or builds a finding from
    one (it was parsed in three places, each with its own idea of the shape)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "alerts" / "outbox.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "loads"
                and any(
                    isinstance(n, ast.Attribute) and n.attr == "payload"
                    for arg in node.args
                    for n in ast.walk(arg)
                )
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
