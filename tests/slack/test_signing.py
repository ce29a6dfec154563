"""Slack request signing: the published test vector, and bodies the test signs itself."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier

from budgetbot.slack.inbound import StrictSignatureVerifier

# Slack's documented example ("Verifying requests from Slack"), as slack-sdk's own tests use it.
# Its token field is ``xyzz0WbapA4vBCDEFasx0q6G``: the signature below is of exactly this body.
VECTOR_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VECTOR_TS = "1531420618"
VECTOR_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    "&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    "%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
VECTOR_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def sign(secret: str, timestamp: int | str, body: str) -> str:
    """Slack's signature, computed independently of slack_sdk: v0=HMAC-SHA256(v0:ts:body)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int | str, body: str) -> dict[str, str]:
    """The headers Slack sends with a signed form POST."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


class PinnedClock(Clock):
    """A clock stopped at one instant (time is injected, never read)."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verifier(at: float, secret: str = VECTOR_SECRET) -> SignatureVerifier:
    return SignatureVerifier(secret, clock=PinnedClock(at))


def test_published_vector_verifies_at_its_timestamp() -> None:
    v = verifier(float(VECTOR_TS))
    assert v.generate_signature(timestamp=VECTOR_TS, body=VECTOR_BODY) == VECTOR_SIGNATURE
    assert v.is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)
    headers = {"x-slack-request-timestamp": VECTOR_TS, "x-slack-signature": VECTOR_SIGNATURE}
    assert v.is_valid_request(VECTOR_BODY, headers)


def test_our_signer_reproduces_the_vector() -> None:
    assert sign(VECTOR_SECRET, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_vector_is_refused_when_anything_changes() -> None:
    v = verifier(float(VECTOR_TS))
    assert not v.is_valid(VECTOR_BODY + "&x=1", VECTOR_TS, VECTOR_SIGNATURE)
    assert not v.is_valid(VECTOR_BODY, str(int(VECTOR_TS) + 1), VECTOR_SIGNATURE)
    assert not v.is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE[:-1] + "0")
    assert not verifier(float(VECTOR_TS), "another-secret").is_valid(
        VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE
    )
    assert not v.is_valid(VECTOR_BODY, VECTOR_TS, None)
    assert not v.is_valid(VECTOR_BODY, None, VECTOR_SIGNATURE)


def test_vector_is_refused_outside_the_five_minute_window() -> None:
    ts = float(VECTOR_TS)
    assert verifier(ts + 299).is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)
    assert not verifier(ts + 301).is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)
    assert not verifier(ts - 301).is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)


def test_body_signed_by_the_test_verifies() -> None:
    secret = "budgetbot-test-signing-secret"
    at = 1_790_000_000
    body = "command=%2Fionq-usage&text=project+weekly+share&user_id=U1&response_url=x"
    headers = signed_headers(secret, at, body)
    v = verifier(at + 10, secret)
    assert v.is_valid_request(body, headers)
    assert v.is_valid_request(body.encode(), headers)
    assert not v.is_valid_request(body.replace("share", "shar3"), headers)
    assert not verifier(at + 6 * 60, secret).is_valid_request(body, headers)


# -- budgetbot's verifier: the same answers, and False where slack-sdk raises ------------------


def strict(at: float, secret: str = VECTOR_SECRET) -> StrictSignatureVerifier:
    return StrictSignatureVerifier(secret, clock=PinnedClock(at))


def test_strict_verifier_accepts_what_slack_signs() -> None:
    v = strict(float(VECTOR_TS))
    assert v.is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)
    assert v.is_valid(VECTOR_BODY.encode(), VECTOR_TS, VECTOR_SIGNATURE)
    assert not strict(float(VECTOR_TS) + 301).is_valid(VECTOR_BODY, VECTOR_TS, VECTOR_SIGNATURE)


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "", "0x10", "1e3"])
def test_a_timestamp_that_is_no_number_is_invalid_not_an_error(timestamp: str) -> None:
    with pytest.raises(ValueError):  # what slack-sdk's verifier (and so Bolt's) does with it
        verifier(float(VECTOR_TS)).is_valid(VECTOR_BODY, timestamp, "v0=" + "0" * 64)
    assert not strict(float(VECTOR_TS)).is_valid(
        VECTOR_BODY, timestamp, sign(VECTOR_SECRET, timestamp, VECTOR_BODY)
    )


@pytest.mark.parametrize("timestamp", ["١٥٣١٤٢٠٦١٨", " 1531420618", "+1531420618", "1_531_420_618"])
def test_only_ascii_digits_are_a_timestamp(timestamp: str) -> None:
    # int() takes each of these; Slack sends none of them.
    assert not strict(float(VECTOR_TS)).is_valid(
        VECTOR_BODY, timestamp, sign(VECTOR_SECRET, timestamp, VECTOR_BODY)
    )


def test_non_ascii_signature_and_non_utf8_body_are_invalid_not_errors() -> None:
    v = strict(float(VECTOR_TS))
    with pytest.raises(TypeError):
        verifier(float(VECTOR_TS)).is_valid(VECTOR_BODY, VECTOR_TS, "v0=é")
    assert not v.is_valid(VECTOR_BODY, VECTOR_TS, "v0=é")
    assert not v.is_valid(b"\xff\xfe" + VECTOR_BODY.encode(), VECTOR_TS, VECTOR_SIGNATURE)


@settings(max_examples=200, deadline=None)
@given(
    body=st.one_of(st.text(max_size=50), st.binary(max_size=50)),
    timestamp=st.one_of(st.none(), st.text(max_size=20)),
    signature=st.one_of(st.none(), st.text(max_size=80)),
)
def test_law_the_strict_verifier_answers_false_and_never_raises(
    body: str | bytes, timestamp: str | None, signature: str | None
) -> None:
    # Not signed with the secret: invalid, whatever the parts hold.
    assert strict(float(VECTOR_TS)).is_valid(body, timestamp, signature) is False
