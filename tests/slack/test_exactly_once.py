"""Exactly once across crashes: an interrupted post is found wherever it is, in channels the bot
has joined or not; when Slack cannot say, the notification is held, never posted twice."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from slack_sdk import WebClient

from budgetbot.alerts.decide import Reason
from budgetbot.alerts.deliver import deliver
from budgetbot.alerts.notifiers import Outgoing
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store.db import Store
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import make_finding

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=10)
#: The holder of a lease on another host: nobody can tell whether it lives, so its lease runs.
ELSEWHERE = "other-host:4242:000000000000:0000abcd"
REPO = Path(__file__).resolve().parents[2]


def at(minutes: int) -> Any:
    return lambda: NOW + dt.timedelta(minutes=minutes)


def record_alert(store: Store, level: int, reason: Reason) -> tuple[int, Outgoing]:
    finding = make_finding(level=level)
    key = f"{finding.thread_key}|{finding.kind}|{finding.level_text}"
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": reason.name}
    )
    [id_] = store.record([], [(key, finding.thread_key, "#quantum-spend", payload)], NOW)
    return id_, Outgoing(id_, key, finding, reason, "#quantum-spend", store.thread_root(key))


def posted_then_crashed(
    store: Store, client: WebClient, id_: int, note: Outgoing, thread: tuple[str, str] | None
) -> None:
    """Another process leased the row, posted it (with a fresh sink), and never recorded it."""
    assert store.claim(id_, ELSEWHERE, NOW, LEASE) == 0
    SlackNotifier(client).deliver(
        Outgoing(note.id, note.dedup_key, note.finding, note.reason, note.channel, thread)
    )


def keys_posted(fake: FakeSlack) -> Counter[str]:
    return Counter(
        m["metadata"]["event_payload"]["dedup_key"]
        for m in fake.messages("#quantum-spend")
        if m.get("metadata")
    )


def test_an_unrecorded_first_alert_is_found_after_a_later_one_became_the_root(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    sink = SlackNotifier(web_client)
    first_id, first = record_alert(store, 50, Reason.FIRST)
    posted_then_crashed(store, web_client, first_id, first, thread=None)  # top level, unrecorded
    _, later = record_alert(store, 80, Reason.HIGHER_LEVEL)

    # The first alert's lease still runs: the later one goes out and becomes the thread's root.
    done = deliver(store, [sink], NOW, clock=at(1))
    assert [n.dedup_key for n in done.sent] == [later.dedup_key]
    assert [w.dedup_key for w in done.waiting] == [first.dedup_key]
    root = store.thread_root(first.finding.thread_key)
    assert root is not None and root[1] == fake_slack.messages("#quantum-spend")[1]["ts"]

    # Its lease ended: the first alert now belongs to the later one's thread, but it was posted
    # at the channel's top level before that thread existed. Found there, not posted again.
    done = deliver(store, [sink], NOW, clock=at(11))
    assert [n.dedup_key for n in done.sent] == [first.dedup_key] and done.failed == []
    assert keys_posted(fake_slack) == Counter({first.dedup_key: 1, later.dedup_key: 1})
    first_message = fake_slack.messages("#quantum-spend")[0]
    assert store.notification(first.dedup_key).ts == first_message["ts"]  # type: ignore[union-attr]


def test_an_unrecorded_reply_is_found_in_another_thread_of_its_rule_group_and_period(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    sink = SlackNotifier(web_client)
    first_id, first = record_alert(store, 50, Reason.FIRST)
    posted_then_crashed(store, web_client, first_id, first, thread=None)
    deliver(store, [sink], NOW, clock=at(1))  # nothing else yet: the first alert waits
    _, later = record_alert(store, 80, Reason.HIGHER_LEVEL)
    deliver(store, [sink], NOW, clock=at(2))  # the 80% alert becomes the root
    root = store.thread_root(first.finding.thread_key)
    assert root is not None
    top_id, top = record_alert(store, 100, Reason.HIGHER_LEVEL)
    posted_then_crashed(store, web_client, top_id, top, thread=root)  # a reply, unrecorded

    # Both leases end; recovering the 50% alert makes it the thread's (earliest) root, so the
    # 100% reply is now looked for under it first, and found under the 80% alert.
    done = deliver(store, [sink], NOW, clock=at(12))
    assert sorted(n.dedup_key for n in done.sent) == sorted([first.dedup_key, top.dedup_key])
    assert keys_posted(fake_slack) == Counter(
        {first.dedup_key: 1, later.dedup_key: 1, top.dedup_key: 1}
    )


def test_the_bot_joins_the_public_channels_it_posts_to(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    sink = SlackNotifier(web_client)
    _, note = record_alert(Store.memory(), 80, Reason.FIRST)
    channel, _ = sink.deliver(note)
    sink.deliver(note)
    assert [c["channel"] for c in fake_slack.calls_to("conversations.join")] == [channel]
    assert channel in fake_slack.members
    web_client.conversations_history(channel=channel)  # readable now


def test_an_interrupted_post_in_a_channel_never_joined_is_found(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    id_, note = record_alert(store, 80, Reason.FIRST)
    assert store.claim(id_, ELSEWHERE, NOW, LEASE) == 0
    # Posted with chat:write.public by a process killed before it could join.
    web_client.chat_postMessage(
        channel="#quantum-spend",
        text="the alert",
        metadata={"event_type": "budgetbot_alert", "event_payload": {"dedup_key": note.dedup_key}},
    )
    assert fake_slack.members == set()
    done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(11))
    assert [n.dedup_key for n in done.sent] == [note.dedup_key] and done.failed == []
    assert keys_posted(fake_slack) == Counter({note.dedup_key: 1})
    assert len(fake_slack.calls_to("conversations.join")) == 1


def test_held_not_posted_twice_while_the_channel_cannot_be_read(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    id_, note = record_alert(store, 80, Reason.FIRST)
    assert store.claim(id_, ELSEWHERE, NOW, LEASE) == 0
    web_client.chat_postMessage(
        channel="#quantum-spend",
        text="the alert",
        metadata={"event_type": "budgetbot_alert", "event_payload": {"dedup_key": note.dedup_key}},
    )
    # An app installed before channels:join was in the manifest.
    fake_slack.fail("conversations.join", "missing_scope", status=200, times=None)
    for minutes in (11, 26):
        done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(minutes))
        assert done.sent == []
        [(failed, why)] = done.failed
        assert failed.dedup_key == note.dedup_key
        assert "conversations.history failed: not_in_channel" in why
        assert "held (not posted again)" in why
        assert [r.dedup_key for r in store.pending()] == [note.dedup_key]
        assert keys_posted(fake_slack) == Counter({note.dedup_key: 1})
    fake_slack.reset()  # the scope was added (or the bot invited): found, still once
    done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(41))
    assert [n.dedup_key for n in done.sent] == [note.dedup_key]
    assert keys_posted(fake_slack) == Counter({note.dedup_key: 1})


def test_held_when_slack_cannot_answer_the_lookup(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    store = Store.memory()
    id_, _ = record_alert(store, 80, Reason.FIRST)
    assert store.claim(id_, ELSEWHERE, NOW, LEASE) == 0
    fake_slack.fail(
        "conversations.list", "internal_error", status=500, retry_after=None, times=None
    )
    done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(11))
    assert done.sent == [] and "held" in done.failed[0][1]
    assert fake_slack.posts() == []


def test_a_private_channel_the_bot_is_not_in(fake_slack: FakeSlack, web_client: WebClient) -> None:
    fake_slack.add_channel("#secret", private=True)
    store = Store.memory()
    finding = make_finding(channel="#secret")
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": "FIRST"}
    )
    store.record([], [("k80", finding.thread_key, "#secret", payload)], NOW)
    done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(0))
    assert "channel_not_found" in done.failed[0][1]
    fake_slack.add_channel("#secret", private=True, member=True)  # /invite @budgetbot
    done = deliver(store, [SlackNotifier(web_client)], NOW, clock=at(15))
    assert len(done.sent) == 1
    assert fake_slack.calls_to("conversations.join")[-1]["channel"] == fake_slack.channel_id(
        "#secret"
    )  # refused for a private channel (method_not_supported…), and that is fine


def test_the_manifest_and_the_guide_ask_for_channels_join() -> None:
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text())
    assert "channels:join" in manifest["oauth_config"]["scopes"]["bot"]
    assert "`channels:join`" in (REPO / "docs" / "connect-to-slack.md").read_text()


def test_check_says_when_a_channel_cannot_be_joined(
    sim, fake_slack: FakeSlack, tmp_path: Path, monkeypatch
) -> None:
    from click.testing import CliRunner

    from budgetbot.cli import main
    from tests.slack.test_alert_cycle import cli_env

    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "policies:\n  - name: org-month\n    scope: organization\n"
        "    budget: {usd: 150000}\n    alert_at: [80]\n    channel: '#quantum-spend'\n"
    )
    fake_slack.fail("conversations.join", "missing_scope", status=200, times=None)
    result = CliRunner().invoke(
        main,
        ["check", "--now", NOW.isoformat(), "--policies", str(rules)],
        env=cli_env(sim, fake_slack, tmp_path),
    )
    assert result.exit_code == 0, result.output  # posting works without joining ...
    assert len(fake_slack.messages("#quantum-spend")) == 1
    channel = fake_slack.channel_id("#quantum-spend")
    assert (  # ... but reading does not, and the summary says so
        f"Warning: {channel}: conversations.join failed: missing_scope (add the missing scope"
        " to the Slack app and reinstall it); an interrupted post there would be held"
    ) in result.output
