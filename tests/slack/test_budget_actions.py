"""Budget actions approved in Slack, end to end: signed clicks against the simulator over HTTP.

``budgetbot check`` (the real command) posts the alert and its proposal to the fake Slack; the
proposal's button is clicked the way Slack sends a click, signed by the test and dispatched to the
real Bolt app (request verification included), whose IonQ is the simulator on loopback. What IonQ
was asked is counted on the simulator (``route_requests("cancel")``, ``("clone")``); what the
jobs became is read from the simulated organization itself.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner
from slack_bolt import App, BoltRequest, BoltResponse

from budgetbot.actions.audit import audit_entries
from budgetbot.cli import main
from budgetbot.cli.runtime import serve_runtime, slack_deps
from budgetbot.render.action_blocks import APPROVE_ACTION, RESUBMIT_ACTION
from budgetbot.rules import load_policies
from budgetbot.sim import SimOrg, SimServer
from budgetbot.sim.server import RecordedRequest
from budgetbot.slack.app import build_app
from budgetbot.slack.deliver import ACTION_EVENT_TYPE
from budgetbot.slack.web import create_wsgi_app
from budgetbot.store import Store
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.conftest import slack_settings
from tests.slack.test_signing import signed_headers
from tests.support import API_KEY, QUEUE_NOW, settle, wait_for

SECRET = "budget-actions-signing-secret"
BOT_TOKEN = "xoxb-budget-actions-token"
CHANNEL = "#quantum-chem"
#: Quantum Chem then: one job started, three ready, and the two the fixture submits.
ACT_NOW = QUEUE_NOW + dt.timedelta(minutes=50)
POLICY = """
policies:
  - name: chem-cap
    scope: project
    match: ["Quantum Chem"]
    period: month
    budget: {usd: 36000}
    alert_at: [90]
    committed_at: [100]
    channel: "#quantum-chem"
    actions:
      - at: 100
        of: committed
        do: cancel-queued
        approval: manual
        approvers: ["@lab-managers", "U0CAROL", "alice@example.org"]
"""
#: Approvers by each kind of entry; Bob is none of them.
DAVE, CAROL, ALICE, BOB = "U0DAVE", "U0CAROL", "U0ALICE", "U0BOB"
#: Slack holds a request 3 seconds; an acknowledgement must come well within.
ACK_LIMIT = 1.5


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class World:
    org: SimOrg
    sim: SimServer
    fake: FakeSlack
    app: App
    clock: Clock
    db_url: str

    def queued(self) -> dict[str, str]:
        """Job id → status of Quantum Chem's jobs queued or running now (the truth)."""
        at = self.sim.now
        return {j.id: self.org.status(j, at) or "" for j in self.org.queued(at, "Quantum Chem")}

    def cancellable(self) -> set[str]:
        return {i for i, s in self.queued().items() if s in ("submitted", "ready")}

    def cancels(self) -> int:
        return len(self.sim.route_requests("cancel"))

    def clones(self) -> int:
        return len(self.sim.route_requests("clone"))


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    """The proposal posted by ``budgetbot check``, and the app to click on; BUDGETBOT_ACTIONS is
    ``on`` unless the test parametrizes ``world`` (indirectly) with another mode, or with
    ``automatic`` (the policy's approval)."""
    mode = getattr(request, "param", "on")
    policy = POLICY
    if mode == "automatic":  # BUDGETBOT_ACTIONS on, the policy's approval automatic
        mode, policy = "on", POLICY.replace("approval: manual", "approval: automatic")
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "chem.yaml").write_text(policy)
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    org = SimOrg()  # actions change the queue: never the session's organization
    org.submit("Quantum Chem", None, ["12.50", "30.00"], ACT_NOW - dt.timedelta(seconds=5))
    with (
        SimServer(org, api_key=API_KEY, now=ACT_NOW) as sim,
        FakeSlack(
            token=BOT_TOKEN,
            users={"alice@example.org": ALICE, "bob@example.org": BOB},
            usergroups={"lab-managers": "S0LAB"},
            members={"S0LAB": [DAVE]},
        ) as fake,
    ):
        settings = slack_settings(
            sim,
            fake,
            database_url=db_url,
            policies=rules_dir,
            bot_token=BOT_TOKEN,
            signing_secret=SECRET,
            budgetbot_actions=mode,
        )
        env = {
            "BUDGETBOT_ACTIONS": mode,
            "IONQ_BASE_URL": sim.base_url,
            "IONQ_ORG_ID": sim.org_id,
            "IONQ_API_KEY": API_KEY,
            "DATABASE_URL": db_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": fake.base_url,
        }
        checked = CliRunner().invoke(
            main, ["check", "--now", ACT_NOW.isoformat(), "--policies", str(rules_dir)], env=env
        )
        assert checked.exit_code == 0, checked.output
        clock = Clock(ACT_NOW)
        runtime = serve_runtime(settings, now=clock)
        app = build_app(settings, slack_deps(runtime, load_policies(rules_dir), now=clock))
        try:
            yield World(org, sim, fake, app, clock, db_url)
        finally:
            settle(app)
            runtime.close()


def proposal_message(fake: FakeSlack) -> dict[str, Any]:
    (found,) = [
        m
        for m in fake.messages(CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == ACTION_EVENT_TYPE
    ]
    return found


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(
        e
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def click(
    w: World,
    action_id: str = APPROVE_ACTION,
    *,
    user: str = ALICE,
    message: dict[str, Any] | None = None,
    secret: str = SECRET,
) -> BoltResponse:
    """Click a button of the proposal's message (as it is now) the way Slack sends it."""
    body, headers = click_request(w, action_id, user=user, message=message, secret=secret)
    return w.app.dispatch(BoltRequest(body=body, headers=headers))


def click_request(
    w: World,
    action_id: str = APPROVE_ACTION,
    *,
    user: str = ALICE,
    message: dict[str, Any] | None = None,
    secret: str = SECRET,
    age: int = 0,
) -> tuple[str, dict[str, str]]:
    """The body and signed headers of a click, as Slack sends them (signed ``age`` s ago)."""
    message = message or proposal_message(w.fake)
    pressed = button(message, action_id)
    channel = w.fake.channel_id(CHANNEL)
    payload = {
        "type": "block_actions",
        "team": {"id": "T123", "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "team_id": "T123"},
        "api_app_id": "A0BUDGET",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": message.get("thread_ts"),
        },
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": CHANNEL[1:]},
        "message": message,
        "response_url": w.fake.response_url(f"click-{user}"),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "text": pressed["text"],
                "value": pressed["value"],
                "action_ts": "1700000000.000001",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return body, signed_headers(secret, int(time.time()) - age, body)


def updates(w: World, count: int = 1) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        found = w.fake.calls_to("chat.update")
        return found if len(found) >= count else []

    return wait_for(enough, 20, message="no chat.update")


def shown(message: dict[str, Any]) -> str:
    return " ".join([message.get("text", ""), *iter_blocks_text(message.get("blocks") or [])])


def ephemerals(w: World, user: str) -> list[str]:
    by_api = [e.get("text", "") for e in w.fake.ephemerals(user)]
    return by_api + [r.get("text", "") for r in w.fake.responses(f"click-{user}")]


# -- the proposal ------------------------------------------------------------------------------


def test_the_proposal_is_in_the_alerts_thread_behind_a_confirm(world: World) -> None:
    alert = world.fake.messages(CHANNEL)[0]
    proposal = proposal_message(world.fake)
    assert proposal["thread_ts"] == alert["ts"]
    count = len(world.cancellable())
    assert f"Cancel {count} queued jobs of Quantum Chem" in shown(proposal)
    approve = button(proposal, APPROVE_ACTION)
    assert approve["value"].startswith("p-") and len(approve["value"]) < 64  # only the id
    assert f"{count} queued jobs" in approve["confirm"]["text"]["text"]
    assert "estimated" in approve["confirm"]["text"]["text"]


# -- clicks ------------------------------------------------------------------------------------


def test_an_unsigned_click_does_nothing(world: World) -> None:
    assert click(world, secret="not-the-secret").status == 401
    settle(world.app)
    assert world.cancels() == 0 and world.fake.calls_to("chat.update") == []
    assert world.fake.calls_to("usergroups.users.list") == []  # not even looked at


def test_over_http_only_a_verified_click_acts(world: World) -> None:
    """Through the endpoint ``budgetbot serve`` runs: wrongly signed or stale clicks are 401
    and cause nothing; the signed one cancels."""
    endpoint = create_wsgi_app(world.app, signing_secret=SECRET)
    with httpx.Client(transport=httpx.WSGITransport(app=endpoint), base_url="http://bot") as http:
        for forged in (
            click_request(world, user=CAROL, secret="not-the-secret"),
            click_request(world, user=CAROL, age=600),  # replayed after Slack's 5 minutes
        ):
            body, headers = forged
            assert http.post("/slack/events", content=body, headers=headers).status_code == 401
        assert world.cancels() == 0 and world.fake.calls_to("chat.update") == []
        assert world.fake.calls_to("usergroups.users.list") == []
        body, headers = click_request(world, user=CAROL)
        assert http.post("/slack/events", content=body, headers=headers).status_code == 200
    (update,) = updates(world)
    assert "Cancelled" in shown(update) and world.cancels() == 1


def test_a_non_approvers_click_cancels_nothing_and_is_refused(world: World) -> None:
    before = world.cancellable()
    assert click(world, user=BOB).status == 200
    settle(world.app)
    assert world.cancels() == 0 and world.cancellable() == before
    assert world.fake.calls_to("chat.update") == []
    (refusal,) = ephemerals(world, BOB)
    assert "Only this action's approvers" in refusal
    store = Store(world.db_url)
    try:
        assert next((e.event, e.by_user) for e in audit_entries(store)) == ("refused", BOB)
    finally:
        store.close()


def test_an_approver_cancels_the_queued_jobs_once_however_often_clicked(world: World) -> None:
    queued = world.queued()
    cancellable = world.cancellable()
    started = {i for i, s in queued.items() if s == "started"}
    assert len(cancellable) >= 3 and started  # the world this test needs
    original = proposal_message(world.fake)
    assert click(world, user=DAVE, message=original).status == 200  # via @lab-managers
    (update,) = updates(world)
    cancelled = {i for i in queued if world.org.cancelled_at(i) is not None}
    assert cancelled == cancellable
    assert all(world.org.cancelled_at(i) is None for i in started)
    text = shown(update)
    assert f"Cancelled {len(cancellable)} queued jobs of Quantum Chem" in text
    assert f"approved by <@{DAVE}>" in text and "Nov 20 19:50 UTC" in text
    (started_job,) = [world.org.find(i, world.sim.now) for i in started]
    assert started_job is not None and f"{started_job.name}: " in text
    asked = world.cancels()
    # Again (a retried request, a screen not yet updated), by others, two at once: IonQ is
    # asked nothing more.
    message = original
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda u: click(world, user=u, message=message), [CAROL, ALICE]))
    assert [r.status for r in both] == [200, 200]
    click(world, user=DAVE, message=message)
    settle(world.app)
    assert world.cancels() == asked
    assert {i for i in queued if world.org.cancelled_at(i) is not None} == cancellable


def test_two_approvers_at_once_cancel_once(world: World) -> None:
    world.sim.latency = 0.3  # both clicks are in before IonQ has answered either
    queued, cancellable = world.queued(), world.cancellable()
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda u: click(world, user=u), [CAROL, DAVE]))
    assert [r.status for r in answers] == [200, 200]
    settle(world.app)
    cancelled = {i for i in queued if world.org.cancelled_at(i) is not None}
    assert cancelled == cancellable
    ids = [i for r in world.sim.route_requests("cancel") for i in _ids(r)]
    assert sorted(ids) == sorted(set(ids))  # no job asked twice
    final = shown(world.fake.messages(CHANNEL)[-1])
    assert f"Cancelled {len(cancellable)} queued jobs" in final


def _ids(request: RecordedRequest) -> list[str]:
    """The job ids a cancel request asked for: the bulk call's ``ids``, or the one in its path."""
    body = json.loads(request.body) if request.body else {}
    if isinstance(body, dict) and body.get("ids"):
        return [str(i) for i in body["ids"]]
    return [request.path.split("/jobs/")[1].split("/")[0]]


def test_the_click_is_acknowledged_while_ionq_is_slow(world: World) -> None:
    world.sim.latency = 2.0
    started = time.monotonic()
    assert click(world, user=CAROL).status == 200
    assert time.monotonic() - started < ACK_LIMIT
    (update,) = updates(world)
    assert "Cancelled" in shown(update)


def test_resubmit_clones_the_cancelled_jobs_once_and_says_so(world: World) -> None:
    cancellable = world.cancellable()
    click(world, user=ALICE)
    updates(world)
    done = world.fake.messages(CHANNEL)[-1]
    resubmit = button(done, RESUBMIT_ACTION)
    assert resubmit["confirm"]["title"]["text"] == "Resubmit the jobs?"
    # Only approvers.
    click(world, RESUBMIT_ACTION, user=BOB, message=done)
    settle_clicks(world)
    assert world.clones() == 0 and any("approvers" in t for t in ephemerals(world, BOB))
    click(world, RESUBMIT_ACTION, user=CAROL, message=done)
    click(world, RESUBMIT_ACTION, user=CAROL, message=done)
    settle(world.app)
    assert world.clones() == len(cancellable)
    replies = [m for m in world.fake.messages(CHANNEL) if "Resubmitted" in m.get("text", "")]
    assert len(replies) == 1 and f"<@{CAROL}>" in shown(replies[0])
    final = world.fake.messages(CHANNEL)
    proposal = next(m for m in final if m["ts"] == done["ts"])
    assert "Resubmitted by" in shown(proposal)
    assert not [e for b in proposal["blocks"] if b["type"] == "actions" for e in b["elements"]]


def settle_clicks(world: World) -> None:
    """Wait for the clicks so far without stopping the app's workers (more clicks follow)."""
    wait_for(lambda: world.fake.ephemerals() or world.fake.responses("click-U0BOB"), 15)


def test_a_click_after_the_period_says_it_expired(world: World) -> None:
    world.clock.now = dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)
    click(world, user=CAROL)
    (update,) = updates(world)
    assert "Expired" in shown(update) and world.cancels() == 0


def test_the_audit_command_lists_what_happened_newest_first(world: World) -> None:
    click(world, user=BOB)
    wait_for(lambda: ephemerals(world, BOB), 15)
    click(world, user=CAROL)
    updates(world)
    body = urlencode(
        {
            "team_id": "T123",
            "channel_id": "C0123456",
            "user_id": CAROL,
            "command": "/ionq-usage",
            "text": "audit",
            "response_url": world.fake.response_url("audit"),
        }
    )
    headers = signed_headers(SECRET, int(time.time()), body)
    assert world.app.dispatch(BoltRequest(body=body, headers=headers)).status == 200
    (reply,) = wait_for(lambda: world.fake.responses("audit"), 15)
    text = shown(reply)
    assert text.index("*cancelled*") < text.index("*approved*") < text.index("*refused*")
    assert f"by <@{BOB}>" in text and "chem-cap" in text


def test_ionq_refusing_is_said_in_the_thread_and_a_second_click_cancels_once(
    world: World,
) -> None:
    queued, cancellable = world.queued(), world.cancellable()
    world.sim.fail(status=403, times=2, route="cancel")  # the bulk call, then per job
    original = proposal_message(world.fake)
    click(world, user=CAROL, message=original)
    (failed,) = updates(world)
    text = shown(failed)
    assert "403" in text and "retry" in text and API_KEY not in text
    assert [b["action_id"] for b in _buttons(failed)] == [APPROVE_ACTION]  # still there
    # The clicker is told after the message is updated: wait for it, do not race it.
    wait_for(lambda: any("403" in t for t in ephemerals(world, CAROL)), 20, message="no 403")
    assert not {i for i in queued if world.org.cancelled_at(i) is not None}
    asked = world.cancels()
    click(world, user=CAROL, message=world.fake.messages(CHANNEL)[-1])
    done = updates(world, 2)[-1]
    assert f"Cancelled {len(cancellable)} queued jobs" in shown(done)
    assert {i for i in queued if world.org.cancelled_at(i) is not None} == cancellable
    assert world.cancels() == asked + 1


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize("world", ["dry-run"], indirect=True)
def test_a_dry_run_click_says_what_would_be_cancelled_and_cancels_nothing(world: World) -> None:
    cancellable = world.cancellable()
    proposal = proposal_message(world.fake)
    assert "nothing is" in shown(proposal)
    click(world, user=CAROL, message=proposal)
    (update,) = updates(world)
    assert f"would cancel {len(cancellable)} queued jobs" in shown(update)
    assert world.cancels() == 0 and world.cancellable() == cancellable


@pytest.mark.parametrize("world", ["automatic"], indirect=True)
def test_an_automatic_action_is_posted_in_the_thread_without_a_button(world: World) -> None:
    alert, *replies = world.fake.messages(CHANNEL)
    assert all(r["thread_ts"] == alert["ts"] for r in replies)
    texts = [shown(r) for r in replies]
    assert any("Automatic approval" in t for t in texts)
    assert any("Cancelled" in t and "approved by automatic approval" in t for t in texts)
    assert world.cancels() >= 1
    assert not [e for r in replies for e in _buttons(r) if e["action_id"] == APPROVE_ACTION]


def test_two_resubmits_at_once_clone_once_and_the_message_ends_resubmitted(world: World) -> None:
    cancellable = world.cancellable()
    click(world, user=ALICE)
    updates(world)
    done = world.fake.messages(CHANNEL)[-1]
    world.sim.latency = 0.3  # the second click comes while the first is cloning
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: click(world, RESUBMIT_ACTION, user=u, message=done), [DAVE, CAROL]))
    settle(world.app)
    assert world.clones() == len(cancellable)
    proposal = next(m for m in world.fake.messages(CHANNEL) if m["ts"] == done["ts"])
    assert "Resubmitted by" in shown(proposal) and not _buttons(proposal)
    replies = [m for m in world.fake.messages(CHANNEL) if "Resubmitted" in m.get("text", "")]
    assert len(replies) == 1


def test_when_slack_cannot_say_who_approves_the_click_is_refused_as_unchecked(
    world: World,
) -> None:
    world.fake.scopes = world.fake.scopes - {"usergroups:read"}  # an app installed without it
    click(world, user=DAVE)  # an approver only through @lab-managers
    (refusal,) = wait_for(lambda: ephemerals(world, DAVE), 15)
    assert "could not check" in refusal and world.cancels() == 0
    store = Store(world.db_url)
    try:
        entry = audit_entries(store)[0]
    finally:
        store.close()
    assert (entry.event, entry.by_user) == ("refused", DAVE)
    assert entry.detail == "approvers could not be checked: @lab-managers: missing_scope"
