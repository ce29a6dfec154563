"""Direct messages to the people spending: real cycles against the simulator, the fake Slack.

A user-scope policy with ``notify: person`` alerts its channel and, by direct message, the user
``people:`` maps the IonQ user to (``conversations.open`` + ``chat.postMessage``). The direct
message is an outbox row of its own: delivered once across cycles, retried after Slack fails,
and a snooze clicked in it quiets that person's direct messages only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from budgetbot.alerts.cycle import CycleResult
from budgetbot.alerts.decide import Reason
from budgetbot.alerts.direct import person_snooze
from budgetbot.alerts.notifiers import DIRECT, DeliveryError, Outgoing
from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient
from budgetbot.render.blocks import SNOOZE_DAY_ACTION
from budgetbot.rules import PolicySet, load_policies
from budgetbot.sim import SimServer
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.direct import DirectMessageNotifier
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import USERS, make_finding
from tests.slack.test_actions import BOT_TOKEN as TOKEN
from tests.slack.test_actions import app, click, clock  # noqa: F401 (fixtures reused)
from tests.support import API_KEY, settle, wait_for

CHANNEL = "#user-spend"
ALICE_ID = "899052fc-d542-4bb9-8fa5-229130ee77b4"
#: The simulator, November 2026: Alice Nakamura has spent $5,121.92 by Nov 4 06:00, $5,983.35 by
#: 18:00, $8,268.30 by Nov 5 18:00; Chiara Rossi $2,319.34 by Nov 4 06:00.
T1 = dt.datetime(2026, 11, 4, 6, tzinfo=dt.UTC)
POLICY = """
people:
  Alice Nakamura: alice@example.org      # by name, to an e-mail address
  c935cc1c-5631-4b09-b0bb-9e7ccac2a2cd: U0BOB  # by id, to a Slack user id
policies:
  - name: per-user
    scope: user
    each: true
    match: ["Alice Nakamura", "Chiara Rossi"]
    budget: {usd: %s}
    alert_at: %s
    channel: "#user-spend"
    notify: person
"""


def write_rules(folder: Path, budget: int, alert_at: list[int]) -> PolicySet:
    folder.mkdir(exist_ok=True)
    (folder / "users.yaml").write_text(POLICY % (budget, alert_at))
    return load_policies(folder)


def cycle(sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet, at: dt.datetime) -> Any:
    """One check cycle at ``at``: a fresh store and notifiers, as a restarted clock process."""
    sim.now = at
    store = Store(db_url)
    try:
        with IonQClient(sim.base_url, sim.org_id, API_KEY) as client:
            slack = make_web_client(TOKEN, fake.base_url)
            sinks = [SlackNotifier(slack), DirectMessageNotifier(slack)]
            return run_check(rules, UsageSource(client, today=at.date()), store, sinks, at)
    finally:
        store.close()


def dm_posts(fake: FakeSlack, user: str = "U0ALICE") -> list[dict[str, Any]]:
    im = fake.channel_id(user)
    return [p for p in fake.posts() if p.get("channel") == im]


def channel_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in fake.posts() if p.get("channel") in (CHANNEL, fake.channel_id(CHANNEL))]


def key_of(post: dict[str, Any]) -> str:
    """The dedup key in a post's metadata: ``rule|group|period|kind|level``."""
    return str(post["metadata"]["event_payload"]["dedup_key"])


def test_mapped_user_gets_a_direct_message_unmapped_is_logged_and_once_across_cycles(
    sim: SimServer,
    fake_slack: FakeSlack,
    db_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rules = write_rules(tmp_path / "rules", 4000, [50, 100])
    caplog.set_level(logging.INFO, logger="budgetbot.cycle")
    first = cycle(sim, fake_slack, db_url, rules, T1)
    assert not first.failed, first.failed

    # Alice (mapped by name to an e-mail): looked up, the conversation opened, the alert posted.
    assert [c["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == ["alice@example.org"]
    assert [c["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0ALICE"]
    (dm,) = dm_posts(fake_slack)
    alerts = {key_of(p): p for p in channel_posts(fake_slack)}
    assert key_of(dm) in alerts and f"|{ALICE_ID}|" in key_of(dm)
    assert "Alice Nakamura" in dm["text"] and dm["blocks"]
    # Chiara (not in people:) still gets her channel alert; the log says who was not told.
    assert any("Chiara Rossi" in p["text"] for p in alerts.values())
    unmapped = [r for r in caplog.records if "direct message not sent" in r.getMessage()]
    assert unmapped and "'Chiara Rossi'" in unmapped[0].getMessage()
    line = next(r for r in caplog.records if getattr(r, "fields", {}).get("event") == "cycle")
    assert line.fields["dm_unmapped"] == ["Chiara Rossi"]  # type: ignore[attr-defined]

    # The outbox has the direct message as a destination of its own, sent.
    store = Store(db_url)
    row = store.notification(key_of(dm), DIRECT)
    assert row is not None and row.sent_at is not None and row.channel == "alice@example.org"
    store.close()

    # A second cycle, an hour later: nothing new, nothing posted twice.
    posts = len(fake_slack.posts())
    second = cycle(sim, fake_slack, db_url, rules, T1 + dt.timedelta(hours=1))
    assert not second.failed and not second.sent
    assert len(fake_slack.posts()) == posts and len(dm_posts(fake_slack)) == 1


def test_a_failed_direct_message_is_retried_without_reposting_the_channel(
    sim: SimServer, fake_slack: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    rules = write_rules(tmp_path / "rules", 4000, [50, 100])
    im = fake_slack.channel_id("U0ALICE")
    # Slack fails the direct message twice (a 500 after which the post may or may not be
    # there, so the retry first reads the conversation), the channel post goes through.
    fake_slack.fail("chat.postMessage", "internal_error", status=500, channel=im, times=2)
    first: CycleResult = cycle(sim, fake_slack, db_url, rules, T1)
    (failed,) = first.failed
    assert failed[1].startswith(f"{im}: chat.postMessage failed")
    assert fake_slack.messages(im) == []
    sent_to_channel = len(channel_posts(fake_slack))
    assert sent_to_channel == 2  # Alice's alert and Chiara's

    cycle(sim, fake_slack, db_url, rules, T1 + dt.timedelta(minutes=15))  # still failing
    third = cycle(sim, fake_slack, db_url, rules, T1 + dt.timedelta(minutes=30))
    assert not third.failed and len(third.sent) == 1
    assert len(channel_posts(fake_slack)) == sent_to_channel  # the channel: never again
    assert fake_slack.calls_to("conversations.history")  # looked before posting again
    delivered = [p for p in fake_slack.posts() if p.get("channel") == im]
    assert len(delivered) == 3  # two refused attempts, then the one that went out
    assert len(fake_slack.messages(im)) == 1


# The alert buttons' app of test_actions, over this module's rules and a fake Slack that knows
# Alice and Bob (``conversations.open`` needs a known user).
@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    return fake_slack


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    # 50% by Nov 4 06:00, 55% by 18:00 (inside a 24 h snooze), 80% by Nov 5 18:00 (after it).
    write_rules(tmp_path / "rules", 10000, [50, 55, 80])
    return tmp_path / "rules"


@pytest.fixture
def rules(rules_dir: Path) -> PolicySet:
    return load_policies(rules_dir)


def test_a_snooze_in_the_direct_message_holds_that_persons_messages_only(
    app: App,  # noqa: F811 (the fixture imported above)
    sim: SimServer,
    fake_slack: FakeSlack,
    db_url: str,
    rules: PolicySet,
) -> None:
    snooze_rules = rules
    cycle(sim, fake_slack, db_url, snooze_rules, T1)
    (dm,) = fake_slack.messages(fake_slack.channel_id("U0ALICE"))
    assert key_of(dm).endswith("|spend|50")
    clicked = click(app, fake_slack, SNOOZE_DAY_ACTION, message=dm, where="U0ALICE")
    assert clicked.status == 200
    (update,) = wait_for(lambda: fake_slack.calls_to("chat.update"), 15, message="no update")
    settle(app)
    assert update["channel"] == fake_slack.channel_id("U0ALICE")
    assert "Snoozed until Nov 5 06:00 UTC by <@U0ALICE>" in json.dumps(update["blocks"])

    store = Store(db_url)
    assert store.active_snoozes(T1) == {}  # the channel is not snoozed
    held = person_snooze(store, "per-user", ALICE_ID, T1)
    assert held is not None and held.until == T1 + dt.timedelta(hours=24)
    store.close()

    # 12 h later, 55%: the channel hears of it, Alice's direct messages are held.
    during = cycle(sim, fake_slack, db_url, snooze_rules, T1 + dt.timedelta(hours=12))
    assert [d.finding.level for d in during.to_notify] == [55]
    assert any(key_of(p).endswith("|spend|55") for p in channel_posts(fake_slack))
    assert len(dm_posts(fake_slack)) == 1

    # After the snooze, 80%: her direct messages resume, in the thread of the first.
    after = cycle(sim, fake_slack, db_url, snooze_rules, T1 + dt.timedelta(hours=36))
    assert [d.finding.level for d in after.to_notify] == [80]
    dms = dm_posts(fake_slack)
    assert len(dms) == 2 and key_of(dms[1]).endswith("|spend|80")
    assert dms[1]["thread_ts"] == fake_slack.messages(fake_slack.channel_id("U0ALICE"))[0]["ts"]


def test_fake_slack_opens_direct_messages_only_with_known_users(fake_slack: FakeSlack) -> None:
    client = make_web_client(TOKEN, fake_slack.base_url)
    opened = client.conversations_open(users="U0BOB")
    assert opened["channel"]["id"] == fake_slack.channel_id("U0BOB")
    assert set(USERS.values()) >= {"U0BOB"}
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as refused:
        client.conversations_open(users="U0NOBODY")
    assert refused.value.response["error"] == "user_not_found"


def test_ionq_names_are_escaped_a_resumed_dm_is_found_and_unknown_emails_say_so(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    notifier = DirectMessageNotifier(web_client)
    finding = make_finding(
        scope="user", group_key="u-eve", group_name="<!channel> Eve & co", mention=()
    )
    note = Outgoing(1, finding.dedup_key, finding, Reason.FIRST, "bob@example.org", None)
    receipt = notifier.deliver(note)
    (post,) = fake_slack.posts()
    assert post["channel"] == receipt.channel == fake_slack.channel_id("U0BOB")
    assert "<!channel>" not in json.dumps(post) and "&lt;!channel&gt; Eve &amp; co" in post["text"]
    # An attempt that may have posted it: found in the conversation, not posted again.
    assert notifier.deliver(note, resumed=True) == receipt
    assert len(fake_slack.posts()) == 1
    # No Slack user with that e-mail: a failure that names the fix (the row waits).
    stranger = Outgoing(2, "k2", finding, Reason.FIRST, "nobody@example.org", None)
    with pytest.raises(DeliveryError, match="no Slack user has this e-mail address"):
        notifier.deliver(stranger)
    # A row for another destination's kind of note is refused, not posted somewhere.
    with pytest.raises(DeliveryError, match="addressed to a person"):
        notifier.deliver(Outgoing(3, "k3", finding, Reason.FIRST, None, None))
