"""The alert buttons through the real Bolt app: signed ``block_actions`` in, ``chat.update`` out.

Alerts are posted to the fake Slack by real check cycles against the simulator; clicks are built
from the posted message the way Slack builds them, signed by the test and dispatched in process
(request verification included). Snoozes and acknowledgements must be in the store, survive a
new ``Store`` over the same database, and steer the next cycles.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from slack_bolt import App, BoltRequest, BoltResponse

from budgetbot.alerts.cycle import CycleResult
from budgetbot.alerts.decide import Decision, Reason, decide, snooze
from budgetbot.alerts.pipeline import run_check
from budgetbot.cli import main
from budgetbot.cli.runtime import serve_runtime
from budgetbot.ionq import IonQClient
from budgetbot.render.blocks import (
    ACK_ACTION,
    BUTTONS_BLOCK,
    CONSOLE_ACTION,
    IONQ_CONSOLE_URL,
    SNOOZE_DAY_ACTION,
    SNOOZE_PERIOD_ACTION,
    STATUS_BLOCK,
    alert_message,
    alert_status_lines,
    read_alert_ref,
)
from budgetbot.rules import PolicySet, load_policies
from budgetbot.settings import Settings
from budgetbot.sim import SimServer
from budgetbot.slack.app import build_app
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.deps import Deps
from budgetbot.slack.listeners.actions import ALERT_ACTIONS
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.conftest import make_finding, slack_settings
from tests.slack.test_signing import signed_headers
from tests.support import API_KEY, settle, wait_for

SECRET = "actions-signing-secret"
BOT_TOKEN = "xoxb-actions-token"
CHANNEL = "#quantum-chem"
#: Quantum Chem in the simulator, November 2026 (billed as its jobs complete): 18.8% of this
#: budget by Nov 4 06:00, 20.8% by 18:00, 29.6% by Nov 5 18:00.
POLICY = """
policies:
  - name: chem-month
    scope: project
    match: ["Quantum Chem"]
    period: month
    budget: {usd: 36000}
    alert_at: [10, 15, 20, 25, 50, 100]
    channel: "#quantum-chem"
"""
T1 = dt.datetime(2026, 11, 4, 6, tzinfo=dt.UTC)


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "chem.yaml").write_text(POLICY)
    return folder


@pytest.fixture
def rules(rules_dir: Path) -> PolicySet:
    return load_policies(rules_dir)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _settings(sim: SimServer, fake: FakeSlack, db_url: str, rules_dir: Path) -> Settings:
    return slack_settings(
        sim,
        fake,
        database_url=db_url,
        policies=rules_dir,
        bot_token=BOT_TOKEN,
        signing_secret=SECRET,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(T1)


@pytest.fixture
def app(
    sim: SimServer,
    fake: FakeSlack,
    db_url: str,
    rules_dir: Path,
    rules: PolicySet,
    clock: Clock,
) -> Iterator[App]:
    settings = _settings(sim, fake, db_url, rules_dir)
    connection = serve_runtime(settings)
    store = Store(db_url)  # the web process's own store, as `serve` would have
    deps = Deps(
        rules=rules,
        usage_source=connection.usage_source,
        now=clock,
        close=connection.close,
        store=store,
    )
    yield build_app(settings, deps)
    connection.close()
    store.close()


def cycle(sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet, at: dt.datetime) -> Any:
    """One check cycle at ``at`` with a fresh store (a restarted clock process) and Slack sink."""
    sim.now = at
    store = Store(db_url)
    try:
        with IonQClient(sim.base_url, sim.org_id, API_KEY) as client:
            sink = SlackNotifier(make_web_client(BOT_TOKEN, fake.base_url))
            return run_check(rules, UsageSource(client, today=at.date()), store, [sink], at)
    finally:
        store.close()


def alert_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in fake.posts() if (p.get("metadata") or {}).get("event_type")]


def levels(result: CycleResult, reason: Reason) -> list[Decimal]:
    return [d.finding.level for d in result.decisions if d.reason is reason]


def click(
    app: App,
    fake: FakeSlack,
    action_id: str,
    *,
    message: dict[str, Any] | None = None,
    user: str = "U0ALICE",
    sign: bool = True,
    where: str = CHANNEL,
    secret: str = SECRET,
) -> BoltResponse:
    """Click a button of ``message`` (default: the first alert) as Slack would send it, in the
    conversation ``where`` (a channel, or a user id: their direct message)."""
    if message is None:
        message = fake.messages(where)[0]
    channel = fake.channel_id(where)
    button = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    payload = {
        "type": "block_actions",
        "team": {"id": "T123", "domain": "fake"},
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": "T123"},
        "api_app_id": "A0BUDGET",
        "token": "unused",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": where.removeprefix("#")},
        "message": message,
        "response_url": fake.response_url(f"click-{action_id}"),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "text": button["text"],
                "value": button.get("value", ""),
                "action_ts": "1700000000.000001",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(secret if sign else "wrong-secret", int(time.time()), body)
    return app.dispatch(BoltRequest(body=body, headers=headers))


def wait_for_updates(fake: FakeSlack, count: int = 1) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        found = fake.calls_to("chat.update")
        return found if len(found) >= count else []

    return wait_for(enough, 15, message="no chat.update")


def status_text(message: dict[str, Any]) -> str:
    blocks = [b for b in message.get("blocks", []) if b.get("block_id") == STATUS_BLOCK]
    return " ".join(iter_blocks_text(blocks))


# -- the message and its buttons (pure) --------------------------------------------------------


def test_alert_has_snooze_acknowledge_and_console_buttons() -> None:
    finding = make_finding()
    _, blocks = alert_message(finding, mentions=[], dedup_key="chem-monthly|p-chem|2026-11|x")
    buttons = next(b for b in blocks if b.get("block_id") == BUTTONS_BLOCK)
    ids = [e["action_id"] for e in buttons["elements"]]
    assert ids == [SNOOZE_DAY_ACTION, SNOOZE_PERIOD_ACTION, ACK_ACTION]
    labels = [e["text"]["text"] for e in buttons["elements"]]
    assert labels == ["Snooze 24 h", "Snooze to end of period", "Acknowledge"]
    ref = read_alert_ref(buttons["elements"][0]["value"])
    assert ref is not None
    assert (ref.rule, ref.group_key, ref.period) == ("chem-monthly", "p-chem", "2026-11")
    assert ref.thread_key == finding.thread_key
    assert ref.dedup_key == "chem-monthly|p-chem|2026-11|x"
    assert ref.period_ends_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert blocks[-1]["elements"][0]["url"] == IONQ_CONSOLE_URL
    assert blocks[-1]["elements"][0]["action_id"] == CONSOLE_ACTION
    # Compact JSON, well within a button value's 2,000 characters even for long keys.
    long = make_finding(group_key="g" * 256, rule="r" * 64)
    _, blocks = alert_message(long, mentions=[], dedup_key="k" * 512)
    values = [
        e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"] if "value" in e
    ]
    assert values and all(len(v) <= 2000 and read_alert_ref(v) for v in values)


def test_status_lines_name_people_safely() -> None:
    at = dt.datetime(2026, 11, 20, 9, 5, tzinfo=dt.UTC)
    lines = alert_status_lines(
        [("U0ALICE", at), ("<!channel> & co", at)], ("U0BOB", at + dt.timedelta(hours=24), at)
    )
    assert lines[0].startswith(":zzz: Snoozed until Nov 21 09:05 UTC by <@U0BOB>")
    assert "Acknowledged by <@U0ALICE> (Nov 20 09:05 UTC)" in lines[1]
    assert "&lt;!channel&gt; &amp; co" in lines[2] and "<!channel>" not in lines[2]
    assert read_alert_ref("not json") is None and read_alert_ref('{"r": 1}') is None


def test_snooze_stage_quiets_notifications_and_records_nothing() -> None:
    f50 = make_finding(level=Decimal(50))
    f80 = make_finding(level=Decimal(80))
    until = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    snoozed = {("chem-monthly", "p-chem"): until}
    (d,) = decide([f50, f80], {}, set(), snoozed)
    assert d.reason is Reason.SNOOZED and d.record == () and d.until == until and not d.notify
    # Only what would notify is snoozed; other groups pass.
    other = make_finding(group_key="p-other")
    quiet = Decision(f50, Reason.ALREADY_SENT, ("50",))
    out = snooze([quiet, Decision(other, Reason.FIRST, ("80",))], snoozed)
    assert out[0] == quiet and out[1].reason is Reason.FIRST
    # After the snooze: the highest level crossed meanwhile, once, recording every new level.
    (after,) = decide([f50, f80], {}, set(), {})
    assert after.reason is Reason.FIRST and after.finding.level == 80
    assert after.record == ("50", "80")


# -- clicks through the app ---------------------------------------------------------------------


def test_snooze_quiets_the_next_level_until_it_ends_then_resumes_once(
    app: App,
    sim: SimServer,
    fake: FakeSlack,
    db_url: str,
    rules: PolicySet,
    rules_dir: Path,
    clock: Clock,
) -> None:
    first = cycle(sim, fake, db_url, rules, T1)
    assert levels(first, Reason.FIRST) == [Decimal(15)]
    (alert,) = alert_posts(fake)
    assert click(app, fake, SNOOZE_DAY_ACTION).status == 200
    (update,) = wait_for_updates(fake)
    assert "Snoozed until Nov 5 06:00 UTC by <@U0ALICE>" in status_text(update)
    assert update["ts"] == fake.messages(CHANNEL)[0]["ts"]
    # Recorded, and still there for a new Store over the same database (a restart).
    restarted = Store(db_url)
    (snz,) = restarted.active_snoozes(T1 + dt.timedelta(hours=1)).values()
    group_key = alert["metadata"]["event_payload"]["dedup_key"].split("|")[1]
    assert (snz.rule, snz.group_key, snz.by_user) == ("chem-month", group_key, "U0ALICE")
    assert (snz.at, snz.until) == (T1, T1 + dt.timedelta(hours=24))
    restarted.close()

    # 12 h later the 20% level is due: snoozed, not posted, not recorded.
    later = T1 + dt.timedelta(hours=12)
    snoozed = cycle(sim, fake, db_url, rules, later)
    assert levels(snoozed, Reason.SNOOZED) == [Decimal(20)]
    assert len(alert_posts(fake)) == 1
    # check --dry-run shows it.
    env = {
        "IONQ_BASE_URL": sim.base_url,
        "IONQ_ORG_ID": sim.org_id,
        "IONQ_API_KEY": API_KEY,
        "DATABASE_URL": db_url,
    }
    dry = CliRunner().invoke(
        main,
        ["check", "--dry-run", "--now", later.isoformat(), "--policies", str(rules_dir)],
        env=env,
    )
    assert dry.exit_code == 0, dry.output
    assert "SNOOZED until 2026-11-05 06:00 UTC" in dry.output and "20%" in dry.output

    # After the snooze: the highest level crossed meanwhile (25%), once, in the thread.
    after = T1 + dt.timedelta(hours=36)
    resumed = cycle(sim, fake, db_url, rules, after)
    assert levels(resumed, Reason.HIGHER_LEVEL) == [Decimal(25)]
    posts = alert_posts(fake)
    assert len(posts) == 2 and posts[1]["thread_ts"] == fake.messages(CHANNEL)[0]["ts"]
    again = cycle(sim, fake, db_url, rules, after)
    assert levels(again, Reason.FIRST) == levels(again, Reason.HIGHER_LEVEL) == []
    assert len(alert_posts(fake)) == 2
    keys = [p["metadata"]["event_payload"]["dedup_key"] for p in alert_posts(fake)]
    assert [k.rsplit("|", 1)[1] for k in keys] == ["15", "25"]  # 15 never repeated, 20 folded


def test_snooze_to_end_of_period(
    app: App, sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    cycle(sim, fake, db_url, rules, T1)
    assert click(app, fake, SNOOZE_PERIOD_ACTION, user="U0BOB").status == 200
    (update,) = wait_for_updates(fake)
    assert "Snoozed until Dec 1 00:00 UTC by <@U0BOB>" in status_text(update)
    # Quiet for the rest of November, whatever is crossed.
    late = dt.datetime(2026, 11, 30, 18, tzinfo=dt.UTC)
    result = cycle(sim, fake, db_url, rules, late)
    assert levels(result, Reason.SNOOZED) and len(alert_posts(fake)) == 1
    # December starts clean.
    store = Store(db_url)
    assert store.active_snoozes(dt.datetime(2026, 12, 1, tzinfo=dt.UTC)) == {}
    store.close()


def test_acknowledge_updates_the_message_and_is_recorded(
    app: App, sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet, clock: Clock
) -> None:
    cycle(sim, fake, db_url, rules, T1)
    (alert,) = alert_posts(fake)
    key = alert["metadata"]["event_payload"]["dedup_key"]
    assert click(app, fake, ACK_ACTION).status == 200
    (update,) = wait_for_updates(fake)
    assert update["channel"] == fake.channel_id(CHANNEL)
    assert "Acknowledged by <@U0ALICE> (Nov 4 06:00 UTC)" in status_text(update)
    message = fake.messages(CHANNEL)[0]
    assert status_text(message) == status_text(update)
    # The rest of the alert and its buttons are intact.
    assert message["text"] == alert["text"]
    assert [b for b in message["blocks"] if b.get("block_id") != STATUS_BLOCK] == alert["blocks"]
    # A second person, then the first again: one line each, in order.
    clock.now = T1 + dt.timedelta(minutes=5)
    click(app, fake, ACK_ACTION, message=message, user="U0BOB")
    click(app, fake, ACK_ACTION, message=message, user="U0ALICE")
    updates = wait_for_updates(fake, 3)
    final = status_text(updates[-1])
    assert final.count("Acknowledged by") == 2 and final.index("U0ALICE") < final.index("U0BOB")
    restarted = Store(db_url)
    assert [(a.by_user, a.at) for a in restarted.acks(key)] == [
        ("U0ALICE", T1),
        ("U0BOB", T1 + dt.timedelta(minutes=5)),
    ]
    restarted.close()
    # Acknowledging does not snooze: the next level still goes out.
    cycle(sim, fake, db_url, rules, T1 + dt.timedelta(hours=12))
    assert len(alert_posts(fake)) == 2


def test_unsigned_click_is_refused(
    app: App, sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    cycle(sim, fake, db_url, rules, T1)
    assert click(app, fake, ACK_ACTION, sign=False).status == 401
    assert click(app, fake, SNOOZE_DAY_ACTION, sign=False).status == 401
    settle(app)
    assert fake.calls_to("chat.update") == []
    store = Store(db_url)
    assert store.active_snoozes(T1) == {}
    key = alert_posts(fake)[0]["metadata"]["event_payload"]["dedup_key"]
    assert store.acks(key) == []
    store.close()


def test_console_link_click_is_only_acknowledged(
    app: App, sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    cycle(sim, fake, db_url, rules, T1)
    assert click(app, fake, CONSOLE_ACTION).status == 200
    settle(app)
    assert fake.calls_to("chat.update") == []
    assert set(ALERT_ACTIONS) == {SNOOZE_DAY_ACTION, SNOOZE_PERIOD_ACTION, ACK_ACTION}


def test_snoozes_and_acks_persist_on_postgresql(pg_schema_url: str) -> None:
    store = Store(pg_schema_url)
    now = T1
    store.add_snooze("r", "g", now + dt.timedelta(hours=24), "U1", now, period="2026-11")
    assert store.add_ack("r|g|2026-11|spend|50", "U1", now)
    assert not store.add_ack("r|g|2026-11|spend|50", "U1", now)
    store.add_home_viewer("U1", now)
    store.add_home_viewer("U1", now + dt.timedelta(hours=1))
    store.close()
    again = Store(pg_schema_url)
    assert list(again.active_snoozes(now)) == [("r", "g")]
    assert [a.by_user for a in again.acks("r|g|2026-11|spend|50")] == ["U1"]
    assert again.home_viewers() == ["U1"]
    again.close()


def test_a_later_click_replaces_an_earlier_snooze(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    month_end = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    store.add_snooze("r", "g", month_end, "U1", T1)
    store.add_snooze("r", "g", T1 + dt.timedelta(hours=25), "U2", T1 + dt.timedelta(hours=1))
    assert store.active_snoozes(T1 + dt.timedelta(hours=2))[("r", "g")].by_user == "U2"
    assert store.active_snoozes(T1 + dt.timedelta(hours=26)) == {}
    store.close()
