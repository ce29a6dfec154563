"""The App Home: a signed ``app_home_opened`` event publishes the Home view; cycles refresh it.

Events are signed by the test and dispatched in process through the real Bolt app; the view is
read back from the fake Slack's ``views.publish``. The Home lists every policy's burn, the
forecast and the latest alerts, within Block Kit's 100 blocks for Home tabs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from slack_bolt import App, BoltRequest, BoltResponse

from budgetbot.alerts.pipeline import run_check
from budgetbot.cli import main
from budgetbot.cli.runtime import serve_runtime
from budgetbot.ionq import IonQClient
from budgetbot.render.home import MAX_HOME_BLOCKS, RECENT_ALERTS, HomeAlert, home_view
from budgetbot.rules import PolicySet, load_policies
from budgetbot.rules.findings import Burn, Figure
from budgetbot.sim import SimServer
from budgetbot.slack.app import build_app
from budgetbot.slack.deliver import make_web_client
from budgetbot.slack.deps import Deps
from budgetbot.slack.home import HomeRefresher
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.conftest import make_finding, slack_settings
from tests.slack.test_signing import sign
from tests.support import API_KEY, NOW, settle, wait_for

REPO = Path(__file__).resolve().parents[2]
SECRET = "home-signing-secret"
BOT_TOKEN = "xoxb-home-token"


@pytest.fixture
def rules() -> PolicySet:
    return load_policies(REPO / "policies")


def _app(
    sim: SimServer,
    fake: FakeSlack,
    db_url: str,
    rules: PolicySet,
    *,
    viewers: frozenset[str] | None = None,
) -> tuple[App, Deps]:
    settings = slack_settings(
        sim,
        fake,
        database_url=db_url,
        policies=REPO / "policies",
        bot_token=BOT_TOKEN,
        signing_secret=SECRET,
    )
    connection = serve_runtime(settings)
    deps = Deps(
        rules=rules,
        usage_source=connection.usage_source,
        now=lambda: NOW,
        close=connection.close,
        user_report_viewers=viewers,
        store=Store(db_url),
    )
    return build_app(settings, deps), deps


@pytest.fixture
def app(sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet) -> Iterator[App]:
    app, deps = _app(sim, fake, db_url, rules)
    yield app
    deps.close()


def open_home(app: App, user: str, *, tab: str = "home", secret: str = SECRET) -> BoltResponse:
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "T123",
            "api_app_id": "A0BUDGET",
            "type": "event_callback",
            "event_id": f"Ev{user}{tab}",
            "event_time": 1700000000,
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": tab,
                "event_ts": "1700000000.000100",
            },
        }
    )
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, ts, body),
    }
    return app.dispatch(BoltRequest(body=body, headers=headers))


def wait_for_view(fake: FakeSlack, user: str) -> dict[str, Any]:
    return wait_for(
        lambda: fake.views().get(user), 15, message=f"no Home view published for {user}"
    )


def text_of(view: dict[str, Any]) -> str:
    return "\n".join(iter_blocks_text(view["blocks"]))


# -- through the app ----------------------------------------------------------------------------


def test_opening_the_home_tab_publishes_every_policy(
    app: App, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    assert open_home(app, "U0ALICE").status == 200
    view = wait_for_view(fake, "U0ALICE")
    assert view["type"] == "home" and len(view["blocks"]) <= MAX_HOME_BLOCKS
    text = text_of(view)
    for policy in rules.policies:
        assert policy.name in text, policy.name
    assert "█" in text and "forecast" in text  # burn bars and the projection
    assert "Recent alerts" in text and "No alerts yet." in text
    # The viewer is remembered (a new Store over the same database sees it).
    store = Store(db_url)
    assert store.home_viewers() == ["U0ALICE"]
    store.close()


def test_messages_tab_and_bad_signatures_publish_nothing(app: App, fake: FakeSlack) -> None:
    assert open_home(app, "U0BOB", tab="messages").status == 200
    assert open_home(app, "U0EVE", secret="wrong").status == 401
    settle(app)
    assert fake.views() == {}


def test_spend_by_user_stays_private_on_the_home_tab(
    sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    app, deps = _app(sim, fake, db_url, rules, viewers=frozenset({"U0BOSS"}))
    open_home(app, "U0ALICE")
    open_home(app, "U0BOSS")
    assert "user-weekly" not in text_of(wait_for_view(fake, "U0ALICE"))
    assert "user-weekly" in text_of(wait_for_view(fake, "U0BOSS"))
    deps.close()


def test_each_cycle_refreshes_the_home_of_those_who_opened_it(
    app: App, sim: SimServer, fake: FakeSlack, db_url: str, rules: PolicySet
) -> None:
    open_home(app, "U0ALICE")
    wait_for_view(fake, "U0ALICE")
    fake.reset()
    store = Store(db_url)
    client = make_web_client(BOT_TOKEN, fake.base_url)
    with IonQClient(sim.base_url, sim.org_id, API_KEY) as ionq:
        result = run_check(
            rules,
            UsageSource(ionq, today=NOW.date()),
            store,
            [SlackNotifier(client, default_channel="#quantum-spend")],
            NOW,
            home=HomeRefresher(client, store),
        )
    store.close()
    assert result.sent and result.burns
    (call,) = fake.calls_to("views.publish")
    assert call["user_id"] == "U0ALICE"
    text = text_of(fake.views()["U0ALICE"])
    assert "No alerts yet." not in text
    # The latest alerts of the outbox, newest first, at most RECENT_ALERTS of them.
    alert_sections = text.split("Recent alerts", 1)[1]
    assert alert_sections.count("*\n`") == min(len(result.sent), RECENT_ALERTS)


def test_check_command_refreshes_the_home_tab(
    sim: SimServer, fake: FakeSlack, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = Store(db_url)
    store.add_home_viewer("U0BOB", NOW - dt.timedelta(days=1))
    store.add_home_viewer("U0GONE", NOW - dt.timedelta(days=90))  # not seen for months
    store.close()
    env = {
        "IONQ_BASE_URL": sim.base_url,
        "IONQ_ORG_ID": sim.org_id,
        "IONQ_API_KEY": API_KEY,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": db_url,
        "BUDGETBOT_DEFAULT_CHANNEL": "#quantum-spend",
    }
    args = ["check", "--now", NOW.isoformat(), "--policies", str(REPO / "policies")]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert [c["user_id"] for c in fake.calls_to("views.publish")] == ["U0BOB"]
    # A dry run publishes nothing.
    fake.reset()
    dry = CliRunner().invoke(main, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert fake.calls_to("views.publish") == []


# -- the view (pure) ----------------------------------------------------------------------------


def _burn(rule: str, **changes: Any) -> Burn:
    base: dict[str, Any] = {
        "rule": rule,
        "scope": "project",
        "group_key": "p1",
        "group_name": "Quantum Chem",
        "period": "2026-11",
        "period_start": dt.date(2026, 11, 1),
        "period_end": dt.date(2026, 12, 1),
        "measure": "usd",
        "budget": Decimal(1000),
        "value": Figure(Decimal(500), Decimal(500)),
        "percent": Figure(Decimal(50), Decimal(50)),
        "forecast": Figure(Decimal(900), Decimal(900)),
    }
    base.update(changes)
    return Burn(**base)


def test_home_view_keeps_within_limits_and_escapes() -> None:
    nasty = "<!channel> & <@U123>"
    burns = [_burn(f"rule-{i:03d}", group_name=nasty) for i in range(150)]
    alerts = [
        HomeAlert(make_finding(group_name=nasty), NOW, acknowledged_by=("U0ALICE",))
        for _ in range(20)
    ]
    view = home_view(burns, alerts, NOW)
    blocks = view["blocks"]
    assert view["type"] == "home" and len(blocks) <= MAX_HOME_BLOCKS
    text = "\n".join(iter_blocks_text(blocks))
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;@U123&gt;" in text
    shown = sum(b["type"] == "section" and b["text"]["text"].startswith("*rule-") for b in blocks)
    assert f"{150 - shown} more rules than fit here: rule-{shown:03d}," in text
    assert text.count("acknowledged by <@U0ALICE>") == RECENT_ALERTS
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def test_home_view_with_many_groups_in_one_rule_fits_a_section() -> None:
    burns = [
        _burn("each-project", group_key=f"p{i}", group_name=f"Project {i}") for i in range(400)
    ]
    (section,) = [b for b in home_view(burns, [], NOW)["blocks"] if b["type"] == "section"]
    assert len(section["text"]["text"]) <= 3000 and "more" in section["text"]["text"]


def test_home_view_says_why_budgets_are_missing() -> None:
    view = home_view([], [], NOW, note="IonQ is not answering right now.")
    text = "\n".join(iter_blocks_text(view["blocks"]))
    assert "IonQ is not answering right now." in text and "No alerts yet." in text
