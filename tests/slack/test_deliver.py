"""Delivery to the fake Slack over real HTTP: posts, threads, retries, failures, the outbox."""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk import WebClient

from budgetbot.alerts.decide import Reason
from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.notifiers import DeliveryError, Outgoing, OutgoingDigest
from budgetbot.render.blocks import help_message
from budgetbot.reports.digest import DigestReport
from budgetbot.slack.deliver import (
    MAX_RETRIES,
    make_web_client,
    post_message,
    respond_url,
)
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store.db import Store
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import TOKEN, make_finding
from tests.support import RecordedSleep

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def outgoing(**changes: Any) -> Outgoing:
    base: dict[str, Any] = {
        "id": 1,
        "dedup_key": "chem-monthly|p-chem|2026-11|spend|80",
        "finding": make_finding(),
        "reason": Reason.FIRST,
        "channel": "#quantum-spend",
        "thread": None,
    }
    base.update(changes)
    return Outgoing(**base)


def test_sink_posts_text_blocks_and_metadata(fake_slack: FakeSlack, web_client: WebClient) -> None:
    channel, ts = SlackNotifier(web_client).deliver(outgoing())
    assert (channel, ts) == (fake_slack.channel_id("#quantum-spend"), "1700000000.000100")
    [post] = fake_slack.posts()
    assert post["channel"] == "#quantum-spend"
    assert post["text"].startswith("<!subteam^S0CHEM> <@U0ALICE> Quantum Chem has used 82%")
    assert post["blocks"][0]["type"] == "header"
    assert post["unfurl_links"] is False
    assert post["metadata"] == {
        "event_type": "budgetbot_alert",
        "event_payload": {"dedup_key": "chem-monthly|p-chem|2026-11|spend|80"},
    }
    assert "thread_ts" not in post
    # the metadata is what a later process finds in the channel's history
    history = web_client.conversations_history(channel=channel, include_all_metadata=True)
    assert (
        history["messages"][0]["metadata"]["event_payload"]["dedup_key"]
        == post["metadata"]["event_payload"]["dedup_key"]
    )


def test_sink_threads_under_the_first_alert(fake_slack: FakeSlack, web_client: WebClient) -> None:
    sink = SlackNotifier(web_client)
    root = sink.deliver(outgoing())
    later = outgoing(id=2, dedup_key="k100", finding=make_finding(level=100), thread=root)
    channel, ts = sink.deliver(later)
    assert channel == root[0] and ts > root[1]
    assert fake_slack.posts()[1]["thread_ts"] == root[1]
    assert fake_slack.posts()[1]["channel"] == root[0]


def test_default_channel_and_no_channel(fake_slack: FakeSlack, web_client: WebClient) -> None:
    sink = SlackNotifier(web_client, default_channel="#budget-alerts")
    channel, _ = sink.deliver(outgoing(channel=None))
    assert channel == fake_slack.channel_id("#budget-alerts")
    with pytest.raises(DeliveryError, match="no channel: set `channel:` in the policy or BUDGET"):
        SlackNotifier(web_client).deliver(outgoing(channel=None))


def test_rate_limit_waits_retry_after_then_delivers_once(
    fake_slack: FakeSlack, web_client: WebClient, waits: RecordedSleep
) -> None:
    fake_slack.fail("chat.postMessage", "ratelimited", status=429, retry_after="1")
    _, ts = SlackNotifier(web_client).deliver(outgoing())
    assert waits.waits == [1.0]  # recorded, never slept
    assert len(fake_slack.posts()) == 2  # the refused one and the delivered one
    assert [m["ts"] for m in fake_slack.messages("#quantum-spend")] == [ts]


def test_rate_limit_gives_up_after_four_attempts(
    fake_slack: FakeSlack, web_client: WebClient, waits: RecordedSleep
) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after="2", times=None)
    with pytest.raises(DeliveryError) as failure:
        SlackNotifier(web_client).deliver(outgoing())
    assert str(failure.value) == (
        "#quantum-spend: chat.postMessage failed after 4 attempts: ratelimited"
    )
    assert len(fake_slack.posts()) == MAX_RETRIES + 1
    assert waits.waits == [2.0, 2.0, 2.0]


def test_a_post_is_not_retried_in_the_call_on_a_server_error(
    fake_slack: FakeSlack, web_client: WebClient, waits: RecordedSleep
) -> None:
    # Slack may have posted before failing: the outbox retries, after looking for the message.
    fake_slack.fail("chat.postMessage", "internal_error", status=500, retry_after=None)
    with pytest.raises(DeliveryError, match=r"chat.postMessage failed: internal_error$"):
        SlackNotifier(web_client).deliver(outgoing())
    assert waits.waits == [] and len(fake_slack.posts()) == 1


def test_server_error_message_names_the_status(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    fake_slack.fail("chat.postMessage", status=503, retry_after=None, body="down", times=None)
    with pytest.raises(DeliveryError, match=r"failed: HTTP 503$"):
        SlackNotifier(web_client).deliver(outgoing())


def test_a_slow_answer_never_posts_twice(fake_slack: FakeSlack, web_client: WebClient) -> None:
    store = Store.memory()
    finding = make_finding()
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": "FIRST"}
    )
    store.record([], [("slow", finding.thread_key, "#quantum-spend", payload)], NOW)
    web_client.timeout = 1
    fake_slack.answer_delay["chat.postMessage"] = 1.5  # posted, but the answer comes too late
    sink = SlackNotifier(web_client)
    sent, failed = deliver_pending(store, [sink], NOW)
    assert sent == [] and len(failed) == 1
    fake_slack.answer_delay.clear()
    sent, failed = deliver_pending(store, [sink], NOW, clock=lambda: NOW + dt.timedelta(hours=1))
    assert len(sent) == 1 and failed == []
    assert len(fake_slack.messages("#quantum-spend")) == 1  # found by its key, not re-posted
    assert store.pending() == []


def test_channel_not_found_fails_at_once_with_a_hint(
    fake_slack: FakeSlack, web_client: WebClient, waits: RecordedSleep
) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found", status=200, times=None)
    with pytest.raises(DeliveryError) as failure:
        SlackNotifier(web_client).deliver(outgoing())
    assert str(failure.value) == (
        "#quantum-spend: chat.postMessage failed: channel_not_found (no such channel, or it is"
        " private and the bot is not invited: create it (private: /invite @budgetbot there) or"
        " change the `channel:` of the policy or digest that names it)"
    )
    assert len(fake_slack.posts()) == 1 and waits.waits == []


def test_token_never_shows(
    fake_slack: FakeSlack, waits: RecordedSleep, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_web_client("xoxb-invalid", fake_slack.base_url, sleep=waits)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as failure:
        post_message(client, "#quantum-spend", "hi", [])
    assert str(failure.value) == (
        "#quantum-spend: chat.postMessage failed: invalid_auth (check SLACK_BOT_TOKEN)"
    )
    assert len(fake_slack.posts()) == 1  # not retried

    client = make_web_client(TOKEN, fake_slack.base_url, sleep=waits)
    fake_slack.fail("chat.postMessage", status=429, times=None)
    sink = SlackNotifier(client)
    with pytest.raises(DeliveryError) as limited:
        sink.deliver(outgoing())
    for text in (str(failure.value), str(limited.value), repr(limited.value), repr(sink)):
        assert TOKEN not in text and "xoxb-" not in text
    assert failure.value.__cause__ is None and limited.value.__cause__ is None
    assert TOKEN not in caplog.text


def test_unreachable_slack(waits: RecordedSleep) -> None:
    with FakeSlack() as gone:
        url = gone.base_url
    client = make_web_client(TOKEN, url, sleep=waits)
    with pytest.raises(DeliveryError, match=r"cannot reach Slack"):
        post_message(client, "#quantum-spend", "hi", [])
    assert waits.waits == []  # a post is retried by the outbox, not in the call


def test_failed_alert_stays_pending_and_goes_out_next_cycle(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    finding = make_finding()
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": "FIRST"}
    )
    [note_id] = store.record([], [("k80", finding.thread_key, "#quantum-spend", payload)], NOW)
    sink = SlackNotifier(web_client)

    fake_slack.fail("chat.postMessage", "channel_not_found", status=200)
    sent, failed = deliver_pending(store, [sink], NOW)
    assert sent == [] and [n.id for n, _ in failed] == [note_id]
    assert "channel_not_found (no such channel" in failed[0][1]
    [row] = store.pending()
    assert row.attempts == 1 and "channel_not_found" in (row.last_error or "")

    sent, failed = deliver_pending(store, [sink], NOW + dt.timedelta(minutes=15))
    assert [n.id for n in sent] == [note_id] and failed == []
    assert store.pending() == []
    root = store.thread_root(finding.thread_key)
    assert root == (fake_slack.channel_id("#quantum-spend"), "1700000000.000100")
    assert len(fake_slack.messages("#quantum-spend")) == 1

    # The next level of the same rule and period goes into that thread.
    higher = make_finding(level=100)
    payload = json.dumps({"finding": higher.model_dump(mode="json"), "reason": "HIGHER_LEVEL"})
    store.record([], [("k100", higher.thread_key, "#quantum-spend", payload)], NOW)
    [reply], _ = deliver_pending(store, [sink], NOW)
    assert isinstance(reply, Outgoing) and reply.thread == root
    assert fake_slack.posts()[-1]["thread_ts"] == root[1]


def test_respond_url_posts_the_payload(fake_slack: FakeSlack, waits: RecordedSleep) -> None:
    text, blocks = help_message("Unknown grouping `projetc`.", "project")
    respond_url(fake_slack.response_url("r1"), {"text": text, "blocks": blocks}, sleep=waits)
    assert fake_slack.responses("r1") == [{"text": text, "blocks": blocks}]

    fake_slack.fail("response_url", "expired_url", status=404, retry_after=None)
    with pytest.raises(DeliveryError, match=r"^response_url: Slack answered 404 expired_url$"):
        respond_url(fake_slack.response_url("r2"), {"text": "late"}, sleep=waits)

    fake_slack.fail("response_url", status=429, retry_after="3")
    respond_url(fake_slack.response_url("r3"), {"text": "again"}, sleep=waits)
    assert waits.waits == [3.0] and len(fake_slack.responses("r3")) == 2


def test_sink_posts_digests_with_their_own_metadata(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    digest = DigestReport(
        name="weekly",
        period="week",
        start=dt.date(2026, 11, 9),
        end=dt.date(2026, 11, 16),
        spend=Decimal("1234.50"),
        previous_spend=Decimal(1000),
        qpu_hours=Decimal(2),
        previous_qpu_hours=None,
        jobs=Decimal(10),
        previous_jobs=None,
        top_projects=[],
        top_users=[],
        top_jobs=[],
        daily=[],
        burns=[],
        top=10,
        channel="#finance",
    )
    note = OutgoingDigest(7, "digest|weekly|2026-11-16T08:00:00+00:00", digest, "#finance")
    channel, _ = SlackNotifier(web_client).deliver(note)
    assert channel == fake_slack.channel_id("#finance")
    [post] = fake_slack.posts()
    assert post["metadata"]["event_type"] == "budgetbot_digest"
    assert post["metadata"]["event_payload"]["dedup_key"] == note.dedup_key
    assert post["text"] and post["blocks"]


def test_an_unreadable_or_unrenderable_notification_is_counted_as_failed(
    fake_slack: FakeSlack, web_client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.memory()
    finding = make_finding()
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": "FIRST"}
    )
    [damaged] = store.record([], [("damaged", "damaged", "#quantum-spend", "{not json")], NOW)
    [alert] = store.record([], [("k80", finding.thread_key, "#quantum-spend", payload)], NOW)

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("level")

    monkeypatch.setattr("budgetbot.slack.notifier.alert_message", broken)
    sent, failed = deliver_pending(store, [SlackNotifier(web_client)], NOW)
    assert sent == []
    assert [(n.id, n.dedup_key) for n, _ in failed] == [(damaged, "damaged"), (alert, "k80")]
    assert failed[0][1].startswith("JSONDecodeError") and failed[1][1] == "KeyError: 'level'"
    assert [r.id for r in store.pending()] == [damaged, alert]  # kept for the next cycle
    assert fake_slack.posts() == []
