"""An alert cycle end to end: simulator over HTTP → check → the fake Slack Web API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.sim import SimOrg, SimServer
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.conftest import TOKEN
from tests.support import API_KEY

HOSTILE = "<!channel> & <@U123>"
POLICY = """
policies:
  - name: project-monthly
    scope: project
    each: true
    period: month
    budget: {usd: 20000}
    alert_at: [25, 50, 80, 100]
    channel: "#quantum-spend"
"""


@pytest.fixture
def hostile_sim() -> Iterator[SimServer]:
    org = SimOrg(rename={"Quantum Chem": HOSTILE})
    with SimServer(org, api_key=API_KEY, now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)) as srv:
        yield srv


def cli_env(sim: SimServer, slack: FakeSlack, tmp_path: Path) -> dict[str, str]:
    """Environment for `budgetbot check`: the simulator as IonQ, the fake as Slack."""
    return {
        "IONQ_BASE_URL": sim.base_url,
        "IONQ_ORG_ID": sim.org.org_id,
        "IONQ_API_KEY": API_KEY,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }


def test_alert_cycle_posts_once_threads_levels_and_escapes_names(
    hostile_sim: SimServer, fake_slack: FakeSlack, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text(POLICY)
    env = cli_env(hostile_sim, fake_slack, tmp_path)
    for day in range(1, 21):
        now = dt.datetime(2026, 11, day, 22, tzinfo=dt.UTC)
        hostile_sim.now = now
        for _ in range(2):  # a second cycle at the same time posts nothing new
            result = CliRunner().invoke(
                main, ["check", "--now", now.isoformat(), "--policies", "rules.yaml"], env=env
            )
            assert result.exit_code == 0, result.output
    posts = [p for p in fake_slack.posts() if p.get("channel")]
    keys = [p["metadata"]["event_payload"]["dedup_key"] for p in posts]
    assert len(keys) == len(set(keys)), "an alert was posted twice"
    hostile = [p for p in posts if "U123" in p["text"]]
    assert len(hostile) >= 2  # Quantum Chem crosses several levels in three weeks
    first, *later = hostile
    assert "thread_ts" not in first or not first["thread_ts"]
    root_ts = next(m["ts"] for m in fake_slack.messages("#quantum-spend") if "U123" in m["text"])
    assert all(p["thread_ts"] == root_ts for p in later)
    for post in hostile:
        texts = [post["text"], *iter_blocks_text(post["blocks"])]
        assert all("<!channel>" not in t and "<@U123>" not in t for t in texts)
        assert any("&lt;!channel&gt; &amp; &lt;@U123&gt;" in t for t in texts)


def test_raising_the_budget_posts_one_back_under_reply_in_the_thread(
    hostile_sim: SimServer, fake_slack: FakeSlack, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.yaml"
    policy = """
policies:
  - name: org-month
    scope: organization
    budget: {{usd: {budget}}}
    alert_at: [50, 80]
    channel: "#quantum-spend"
"""
    env = cli_env(hostile_sim, fake_slack, tmp_path)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    hostile_sim.now = now

    def check(budget: int) -> None:
        rules.write_text(policy.format(budget=budget))
        result = CliRunner().invoke(
            main, ["check", "--now", now.isoformat(), "--policies", str(rules)], env=env
        )
        assert result.exit_code == 0, result.output

    check(150_000)  # ~$130k spent: 80% crossed
    check(400_000)  # the budget was raised: now ~33%
    check(400_000)  # said once
    messages = fake_slack.messages("#quantum-spend")
    alert, reply = messages
    assert alert["metadata"]["event_type"] == "budgetbot_alert"
    assert reply["thread_ts"] == alert["ts"]
    # $130,116.64 of $400,000 is 32.5%: percentages are rounded down, never up to a level.
    assert reply["text"].startswith("Back under 80%: The organization has used 32% of its")


ORG_POLICY = """
policies:
  - name: org-month
    scope: organization
    budget: {{usd: {budget}}}
    alert_at: [50, 80]
    channel: "#quantum-spend"
"""


def test_an_alert_that_fails_to_render_is_a_failed_notification(
    hostile_sim: SimServer, fake_slack: FakeSlack, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(ORG_POLICY.format(budget=150_000))
    env = cli_env(hostile_sim, fake_slack, tmp_path)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    hostile_sim.now = now

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("a rendering bug")

    monkeypatch.setattr("budgetbot.slack.notifier.alert_message", broken)
    result = CliRunner().invoke(
        main, ["check", "--now", now.isoformat(), "--policies", str(rules)], env=env
    )
    assert result.exit_code == 1, result.output
    assert "1 to notify, 0 sent, 1 failed" in result.output
    assert "ValueError: a rendering bug" in result.output
    assert fake_slack.messages("#quantum-spend") == []


def test_no_back_under_reply_for_an_alert_never_delivered(
    hostile_sim: SimServer, fake_slack: FakeSlack, tmp_path: Path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules.yaml"
    env = cli_env(hostile_sim, fake_slack, tmp_path)
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    hostile_sim.now = now

    def check(budget: int) -> int:
        rules.write_text(ORG_POLICY.format(budget=budget))
        result = CliRunner().invoke(
            main, ["check", "--now", now.isoformat(), "--policies", str(rules)], env=env
        )
        return result.exit_code

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("a rendering bug")

    with monkeypatch.context() as patched:
        patched.setattr("budgetbot.slack.notifier.alert_message", broken)
        assert check(150_000) == 1  # 80% crossed, but the alert cannot be rendered
        assert check(400_000) == 1  # the budget was raised: the alert is still undelivered
        assert fake_slack.messages("#quantum-spend") == []  # and no "back under" either
    assert check(400_000) == 0  # the alert goes out once it renders ...
    assert check(400_000) == 0  # ... and only then is it resolved, in its thread
    alert, reply = fake_slack.messages("#quantum-spend")
    assert alert["metadata"]["event_type"] == "budgetbot_alert"
    assert reply["thread_ts"] == alert["ts"] and reply["text"].startswith("Back under 80%")
