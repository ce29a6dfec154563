"""The IonQ client against the simulator over real HTTP: happy path, faults, and secrecy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from budgetbot.ionq import (
    GroupBy,
    IonQAuthError,
    IonQClient,
    IonQNotFound,
    IonQRateLimited,
    IonQRequestError,
    IonQResponseError,
    IonQServerError,
    IonQUnavailable,
    Modality,
    UsageQuery,
)
from tests.support import API_KEY, RecordedSleep

Q = UsageQuery(
    group_by=GroupBy.PROJECT,
    modality=Modality.WEEKLY,
    start=dt.date(2026, 10, 1),
    end=dt.date(2026, 11, 1),
)


def usage_requests(sim) -> int:
    return sum(1 for r in sim.requests if r.path.endswith("/usage"))


def test_happy_path_parses_money_as_decimal_and_matches_truth(client, sim, org):
    answer = client.usage(Q)
    assert isinstance(answer.amount_total, Decimal)
    truth = org.truth("project", Q.start, Q.end)
    assert answer.amount_total == sum(t.amount for t in truth.values())
    assert answer.job_count == sum(t.job_count for t in truth.values())
    assert all(isinstance(u.amount, Decimal) for u in answer.usage_data)
    # Most recent first, as IonQ answers.
    froms = [u.from_ for u in answer.usage_data]
    assert froms == sorted(froms, reverse=True)
    request = sim.requests[-1]
    assert request.headers["authorization"] == f"apiKey {API_KEY}"
    assert request.query == Q.params()


def test_429_waits_as_long_as_retry_after_says(client, sim, sleep: RecordedSleep):
    sim.fail(429, times=2, retry_after="2")
    client.usage(Q)
    assert sleep.waits == [2.0, 2.0]
    assert usage_requests(sim) == 3


def test_429_retry_after_is_bounded(client, sim, sleep: RecordedSleep):
    sim.fail(429, times=1, retry_after="3600")
    client.usage(Q)
    assert sleep.waits == [30.0]


def test_429_without_retry_after_backs_off(client, sim, sleep: RecordedSleep):
    sim.fail(429, times=1)
    client.usage(Q)
    assert len(sleep.waits) == 1 and 0 < sleep.waits[0] <= 0.5


def test_5xx_then_success_uses_growing_backoff(client, sim, sleep: RecordedSleep):
    sim.fail(500, times=1)
    sim.fail(502, times=1)
    sim.fail(503, times=1)
    answer = client.usage(Q)
    assert answer.usage_data
    assert usage_requests(sim) == 4
    assert len(sleep.waits) == 3
    # Full jitter within a doubling ceiling: attempt n waits in [c/2, c], c = 0.5 * 2**(n-1).
    for n, wait in enumerate(sleep.waits, start=1):
        ceiling = 0.5 * 2 ** (n - 1)
        assert ceiling / 2 <= wait <= ceiling


def test_exhausting_retries_raises_the_last_error(client, sim, sleep: RecordedSleep):
    sim.fail(503, times=50)
    with pytest.raises(IonQUnavailable) as info:
        client.usage(Q)
    assert "503" in str(info.value)
    assert usage_requests(sim) == client.max_attempts
    assert len(sleep.waits) == client.max_attempts - 1


def test_server_error_stops_at_the_deadline(sim, org, sleep: RecordedSleep):
    sim.fail(500, times=50)
    with (
        IonQClient(
            sim.base_url,
            org.org_id,
            API_KEY,
            sleep=sleep,
            clock=sleep.monotonic,
            deadline=2.0,
            max_attempts=100,
        ) as c,
        pytest.raises(IonQServerError),
    ):
        c.usage(Q)
    assert sum(sleep.waits) <= 2.0


def test_rate_limit_past_the_deadline_gives_up(sim, org, sleep: RecordedSleep):
    sim.fail(429, times=50, retry_after="20")
    with (
        IonQClient(
            sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic, deadline=30.0
        ) as c,
        pytest.raises(IonQRateLimited),
    ):
        c.usage(Q)
    assert sleep.waits == [20.0]


def test_401_is_plain_and_not_retried(sim, org, sleep: RecordedSleep):
    secret = "wrong-key-DO-NOT-PRINT-123"
    with IonQClient(sim.base_url, org.org_id, secret, sleep=sleep) as c:
        with pytest.raises(IonQAuthError) as info:
            c.usage(Q)
        assert "IonQ rejected the API key" in str(info.value)
        assert "IONQ_API_KEY" in str(info.value)
        assert secret not in str(info.value) and secret not in repr(info.value)
        assert secret not in repr(c)
    assert usage_requests(sim) == 1
    assert sleep.waits == []


def test_wrong_org_names_the_setting(sim, sleep: RecordedSleep):
    with (
        IonQClient(sim.base_url, "com.wrong.org", API_KEY, sleep=sleep) as c,
        pytest.raises(IonQNotFound) as info,
    ):
        c.usage(Q)
    assert "IONQ_ORG_ID" in str(info.value) and "com.wrong.org" in str(info.value)
    assert sleep.waits == []


def test_400_keeps_ionq_validation(client):
    bad = UsageQuery(
        group_by=GroupBy.PROJECT,
        modality=Modality.DAILY,
        start=dt.date(2026, 11, 2),
        end=dt.date(2026, 11, 1),
    )
    with pytest.raises(IonQRequestError) as info:
        client.usage(bad)
    assert "400" in str(info.value)


def test_timeout_is_retried(sim, org, sleep: RecordedSleep):
    sim.hang(times=1, seconds=2.0)
    with IonQClient(
        sim.base_url, org.org_id, API_KEY, sleep=sleep, clock=sleep.monotonic, timeout=0.3
    ) as c:
        assert c.usage(Q).usage_data
    assert len(sleep.waits) == 1


def test_timeouts_until_the_end_raise_unavailable(sim, org, sleep: RecordedSleep):
    sim.hang(times=3, seconds=2.0)
    with (
        IonQClient(
            sim.base_url,
            org.org_id,
            API_KEY,
            sleep=sleep,
            clock=sleep.monotonic,
            timeout=0.2,
            max_attempts=3,
        ) as c,
        pytest.raises(IonQUnavailable) as info,
    ):
        c.usage(Q)
    assert "did not answer in time" in str(info.value)


def test_connection_refused_names_base_url(sleep: RecordedSleep):
    with (
        IonQClient(
            "http://127.0.0.1:9", "org", API_KEY, sleep=sleep, clock=sleep.monotonic, max_attempts=2
        ) as c,
        pytest.raises(IonQUnavailable) as info,
    ):
        c.usage(Q)
    assert "IONQ_BASE_URL" in str(info.value)
    assert API_KEY not in str(info.value)


def test_malformed_json_is_an_error_not_a_zero(client, sim, sleep: RecordedSleep):
    sim.malformed(times=1)
    with pytest.raises(IonQResponseError) as info:
        client.usage(Q)
    assert "malformed JSON" in str(info.value)
    assert sleep.waits == []


def test_missing_required_field_is_named(client, sim):
    sim.drop_field("usage_data.0.amount")
    with pytest.raises(IonQResponseError) as info:
        client.usage(Q)
    assert info.value.field == "usage_data[0].amount"
    assert "usage_data[0].amount" in str(info.value)


def test_missing_group_usages_is_named(client, sim):
    # ``usage_data`` itself is optional in IonQ's schema (tests/ionq/test_answers.py); a bucket's
    # ``group_usages`` is required.
    sim.drop_field("usage_data.0.group_usages")
    with pytest.raises(IonQResponseError) as info:
        client.usage(Q)
    assert info.value.field == "usage_data[0].group_usages"


def test_unknown_fields_are_ignored(client, sim):
    plain = client.usage(Q)
    sim.extra_fields(times=1)
    extra = client.usage(Q)
    assert extra == plain


def test_empty_usage_data(client, sim):
    sim.empty(times=1)
    answer = client.usage(Q)
    assert answer.usage_data == []


def test_whoami(client):
    who = client.whoami()
    assert who.key_id and who.key_name


def test_public_surface_is_pinned():
    import budgetbot.ionq as ionq

    exported = {n for n in dir(ionq) if not n.startswith("_")}
    assert set(ionq.__all__) == exported - {"annotations"}


@pytest.mark.parametrize("end", ["\r", "\n"])
def test_a_key_that_cannot_be_sent_is_never_quoted(sim, org, sleep, end):
    # IONQ_API_KEY from a .env file with CRLF line endings: httpx refuses the header and its
    # message quoted the whole key into the error, hence into check's output and the logs.
    secret = "ionq-key-from-a-crlf-file-5d1c"
    with (
        IonQClient(
            sim.base_url, org.org_id, secret + end, sleep=sleep, clock=sleep.monotonic, timeout=5.0
        ) as c,
        pytest.raises(IonQUnavailable) as raised,
    ):
        c.usage(Q)
    assert secret not in str(raised.value)
    assert "IONQ_API_KEY" in str(raised.value)
    assert not sim.requests


def test_the_deadline_holds_whatever_jitter_is_drawn(sim, org):
    """The stop decision and the wait it allows must agree for every draw of the jitter (the
    stop once drew its own jitter, so a later, longer draw overran the deadline)."""
    import random

    overruns = []
    for seed in range(200):
        sleep = RecordedSleep()
        sim.fail(500, times=50)
        with (
            IonQClient(
                sim.base_url,
                org.org_id,
                API_KEY,
                sleep=sleep,
                clock=sleep.monotonic,
                deadline=2.0,
                max_attempts=100,
                rng=random.Random(seed),
            ) as c,
            pytest.raises(IonQServerError),
        ):
            c.usage(Q)
        sim.reset()
        if sum(sleep.waits) > 2.0:
            overruns.append(seed)
    assert overruns == []
