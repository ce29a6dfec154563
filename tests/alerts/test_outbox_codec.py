"""The outbox payload: one typed value, one codec, and every reader goes through it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgetbot.alerts.decide import Reason
from budgetbot.alerts.outbox import (
    AlertPayload,
    DigestPayload,
    NoticePayload,
    PayloadError,
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
