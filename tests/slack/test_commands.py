"""``/ionq-usage`` through the real Bolt app, in process: signed requests in, real HTTP edges out.

The app is built by ``build_app`` with its Web API pointed at the fake Slack and its IonQ client
at the simulator; requests go through ``App.dispatch`` (request verification included), and
answers sent to ``response_url`` are read back from the fake.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse

from budgetbot.cli.runtime import serve_runtime
from budgetbot.ionq import IonQAuthError, IonQNotFound, IonQUnavailable
from budgetbot.rules import load_policies
from budgetbot.settings import MissingSetting, Settings
from budgetbot.sim import SimServer
from budgetbot.slack.answers import Reply, corrected_command, read_command
from budgetbot.slack.app import SlackStartupError, build_app
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import (
    APOLOGY,
    IONQ_DOWN,
    IONQ_KEY_REJECTED,
    NOT_CONNECTED,
    WORKING,
    failure_sentence,
)
from budgetbot.usage import UsageDataError, UsageSource
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.conftest import slack_settings
from tests.slack.test_signing import signed_headers
from tests.support import NOW, settle, wait_for

REPO = Path(__file__).resolve().parents[2]
SECRET = "in-process-signing-secret"
BOT_TOKEN = "xoxb-in-process-token"


@pytest.fixture(autouse=True)
def _own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The app keeps settled usage in DATABASE_URL: each test gets its own, never the cwd's.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")


def _settings(sim: SimServer, fake: FakeSlack, **over: Any) -> Settings:
    return slack_settings(
        sim,
        fake,
        database_url=os.environ["DATABASE_URL"],
        policies=REPO / "policies",
        bot_token=BOT_TOKEN,
        signing_secret=SECRET,
        **over,
    )


def _deps(settings: Settings, source: Callable[[], UsageSource] | None = None) -> Deps:
    connection = serve_runtime(settings)
    return Deps(
        rules=load_policies(REPO / "policies"),
        usage_source=source or connection.usage_source,
        now=lambda: NOW,
        close=connection.close,
    )


@pytest.fixture
def app(sim: SimServer, fake: FakeSlack) -> Iterator[App]:
    settings = _settings(sim, fake)
    deps = _deps(settings)
    yield build_app(settings, deps)
    deps.close()


def command(app: App, text: str, response_url: str, *, sign: bool = True) -> BoltResponse:
    body = urlencode(
        {
            "token": "verification-token-unused",
            "team_id": "T123",
            "channel_id": "C0123456",
            "user_id": "U0123",
            "command": "/ionq-usage",
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )
    # Bolt checks signatures against the wall clock: sign with it.
    headers = signed_headers(SECRET if sign else "wrong", int(time.time()), body)
    return app.dispatch(BoltRequest(body=body, headers=headers))


def wait_for_responses(fake: FakeSlack, id_: str, count: int = 1) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]]:
        found = fake.responses(id_)
        return found if len(found) >= count else []

    return wait_for(enough, 15, message=f"no answer at response_url {id_!r}")


def text_of(message: dict[str, Any]) -> str:
    return " ".join([message.get("text", ""), *iter_blocks_text(message.get("blocks") or [])])


# -- pure parts ------------------------------------------------------------------------------


def test_read_command_help_and_typos_are_replies() -> None:
    assert isinstance(read_command("help", NOW), Reply)
    typo = read_command("projekt weekly", NOW)
    assert isinstance(typo, Reply)
    assert "/ionq-usage project weekly" in text_of({"text": typo.text, "blocks": typo.blocks})
    future = read_command("project daily 2027-01-01..2027-01-05", NOW)
    assert isinstance(future, Reply) and "future" in future.text


def test_read_command_work() -> None:
    todo = read_command("user daily 7d share", NOW)
    assert not isinstance(todo, Reply)
    assert todo.kind == "report" and todo.share
    assert todo.report is not None and todo.report.grouping == "user"
    assert not isinstance(read_command("", NOW), Reply)
    assert read_command("budgets", NOW) == read_command(" BUDGETS ", NOW)


def test_corrected_command_replaces_the_misspelt_word() -> None:
    assert corrected_command("projekt weekly", "project") == "/ionq-usage project weekly"
    assert corrected_command("user wekly 7d", "weekly") == "/ionq-usage user weekly 7d"
    assert corrected_command("budgts", "budgets") == "/ionq-usage budgets"
    assert corrected_command("xyz", None) is None


def test_failure_sentences() -> None:
    assert failure_sentence(IonQAuthError("401 …")) == IONQ_KEY_REJECTED
    assert failure_sentence(IonQUnavailable("503 …")) == IONQ_DOWN
    assert "organization" in failure_sentence(IonQNotFound("404 …"))
    assert failure_sentence(MissingSetting("IONQ_API_KEY is not set")) == NOT_CONNECTED
    assert "did not add up" in failure_sentence(UsageDataError("totals"))


@pytest.mark.parametrize("text", ["ob " * 3333, "x" * 40_000, "projekt " * 5000])
def test_absurd_texts_get_help_after_a_bounded_number_of_parses(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from budgetbot.slack import answers

    parsed: list[int] = []
    real = answers.parse_command

    def counting(t: str) -> Any:
        parsed.append(len(t))
        return real(t)

    monkeypatch.setattr(answers, "parse_command", counting)
    reply = read_command(text, NOW)
    assert isinstance(reply, Reply) and "/ionq-usage" in reply.text
    assert len(parsed) <= 1  # no "did you mean" search over every word of it


@pytest.mark.parametrize(
    "text", ["project weekly 2026-01-01..9999-12-31", "0001-01-01..0001-01-09"]
)
def test_a_range_out_of_bounds_is_help(text: str) -> None:
    reply = read_command(text, NOW)
    assert isinstance(reply, Reply) and "2000-01-01" in reply.text


def test_the_command_is_acknowledged_before_its_text_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from budgetbot.slack.listeners import commands

    events: list[str] = []
    real = commands.read_command

    def reading(text: str, now: Any) -> Any:
        events.append("read")
        return real(text, now)

    monkeypatch.setattr(commands, "read_command", reading)
    deps = Deps(
        rules=load_policies(REPO / "policies"),
        usage_source=lambda: None,  # type: ignore[arg-type,return-value]
        now=lambda: NOW,
    )
    answers: list[dict[str, Any]] = []
    for text in ("help", "ob " * 3333, "projekt weekly"):
        events.clear()
        answers.clear()
        commands.handle_ionq_usage(
            {"text": text, "user_id": "U1"},
            lambda **kw: events.append("ack"),  # type: ignore[arg-type]
            lambda **kw: answers.append(kw),  # type: ignore[arg-type]
            deps,
        )
        assert events == ["ack", "read"]
        assert [a["response_type"] for a in answers] == ["ephemeral"]
        assert "/ionq-usage" in answers[0]["text"]


# -- through the app --------------------------------------------------------------------------


def test_help_is_answered_after_the_ack_and_asks_nothing_of_ionq(
    app: App, sim: SimServer, fake: FakeSlack
) -> None:
    response = command(app, "help", fake.response_url("h"))
    assert response.status == 200 and json.loads(response.body)["text"] == WORKING
    (answer,) = wait_for_responses(fake, "h")
    assert "/ionq-usage" in text_of(answer) and answer["response_type"] == "ephemeral"
    response = command(app, "projekt weekly", fake.response_url("t"))
    assert response.status == 200 and json.loads(response.body)["text"] == WORKING
    (answer,) = wait_for_responses(fake, "t")
    assert "Did you mean" in text_of(answer) and "/ionq-usage project weekly" in text_of(answer)
    settle(app)  # nothing else should arrive later either
    assert sim.usage_requests == []
    assert len(fake.responses("h")) == 1 and len(fake.responses("t")) == 1


def test_report_is_acked_then_answered(app: App, sim: SimServer, fake: FakeSlack) -> None:
    response = command(app, "project weekly 4w", fake.response_url("r"))
    assert response.status == 200 and json.loads(response.body)["text"] == WORKING
    (answer,) = wait_for_responses(fake, "r")
    assert answer["response_type"] == "ephemeral"
    assert "IonQ spend by project, weekly" in text_of(answer)
    assert len(sim.usage_requests) == 1


def test_share_answers_in_channel(app: App, fake: FakeSlack) -> None:
    command(app, "user monthly share", fake.response_url("s"))
    (answer,) = wait_for_responses(fake, "s")
    assert answer["response_type"] == "in_channel"
    assert "IonQ spend by user, monthly" in text_of(answer)


def test_budgets_view(app: App, sim: SimServer, fake: FakeSlack) -> None:
    command(app, "budgets", fake.response_url("b"))
    (answer,) = wait_for_responses(fake, "b")
    text = text_of(answer)
    assert "Budgets this period" in text and "chem-monthly" in text
    # Every distinct query once, asked side by side.
    paths = {
        (r.query["group_by"], r.query["modality"], r.query["start_date"])
        for r in sim.usage_requests
    }
    assert len(paths) == len(sim.usage_requests)


def test_rejected_ionq_key_is_one_sentence(sim: SimServer, fake: FakeSlack) -> None:
    settings = _settings(sim, fake, ionq_api_key="not-the-key")
    deps = _deps(settings)
    app = build_app(settings, deps)
    command(app, "org daily", fake.response_url("k"))
    (answer,) = wait_for_responses(fake, "k")
    assert answer["text"] == IONQ_KEY_REJECTED and answer["response_type"] == "ephemeral"
    deps.close()


def test_missing_ionq_settings_is_one_sentence(sim: SimServer, fake: FakeSlack) -> None:
    settings = _settings(sim, fake, ionq_api_key=None, ionq_org_id=None)
    app = build_app(settings, _deps(settings))
    command(app, "project", fake.response_url("m"))
    (answer,) = wait_for_responses(fake, "m")
    assert answer["text"] == NOT_CONNECTED
    assert sim.usage_requests == []


def test_unexpected_error_gets_the_apology(sim: SimServer, fake: FakeSlack) -> None:
    def broken() -> UsageSource:
        raise RuntimeError("bug in budgetbot")

    settings = _settings(sim, fake)
    app = build_app(settings, _deps(settings, broken))
    assert command(app, "project", fake.response_url("x")).status == 200
    (answer,) = wait_for_responses(fake, "x")
    assert answer["text"] == APOLOGY and answer["response_type"] == "ephemeral"


def test_bad_signature_is_refused_before_any_listener(
    app: App, sim: SimServer, fake: FakeSlack
) -> None:
    assert command(app, "project", fake.response_url("u"), sign=False).status == 401
    settle(app)
    assert fake.responses("u") == [] and sim.usage_requests == []


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "", "0x10", "1e3"])
def test_a_timestamp_that_is_no_number_is_401_in_process_too(
    app: App, sim: SimServer, fake: FakeSlack, timestamp: str
) -> None:
    body = urlencode(
        {"command": "/ionq-usage", "text": "x", "response_url": fake.response_url("n")}
    )
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}
    assert app.dispatch(BoltRequest(body=body, headers=headers)).status == 401
    settle(app)
    assert fake.responses("n") == [] and sim.usage_requests == []


# -- start-up -------------------------------------------------------------------------------


def test_start_up_needs_the_signing_secret(sim: SimServer, fake: FakeSlack) -> None:
    settings = _settings(sim, fake, slack_signing_secret=None)
    with pytest.raises(SlackStartupError, match="SLACK_SIGNING_SECRET is not set"):
        build_app(settings, _deps(settings))
    assert fake.calls_to("auth.test") == []


def test_start_up_fails_on_a_refused_token(sim: SimServer, fake: FakeSlack) -> None:
    settings = _settings(sim, fake, slack_bot_token="xoxb-invalid")
    with pytest.raises(SlackStartupError) as info:
        build_app(settings, _deps(settings))
    message = str(info.value)
    assert "invalid_auth" in message and "check SLACK_BOT_TOKEN" in message
    assert "xoxb-invalid" not in message and "\n" not in message


def test_start_up_checks_the_token_with_auth_test(app: App, fake: FakeSlack) -> None:
    (call,) = [c for c in fake.calls if c[0] == "auth.test"]
    assert call[2]["Authorization"] == f"Bearer {BOT_TOKEN}"


# -- deployment files -----------------------------------------------------------------------


def test_manifest_declares_the_command_and_scopes() -> None:
    import yaml

    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text())
    (slash,) = manifest["features"]["slash_commands"]
    assert slash["command"] == "/ionq-usage"
    assert slash["url"] == "https://YOUR-HOST/slack/events"
    assert slash["description"] and slash["usage_hint"]
    settings = manifest["settings"]
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "chat:write.public",
        "users:read",
        "users:read.email",
        "usergroups:read",
        "files:write",
        "channels:read",
        "groups:read",
        "channels:history",
        "groups:history",
    }


def test_procfile_runs_serve_under_the_platform_port() -> None:
    lines = dict(
        line.split(":", 1) for line in (REPO / "Procfile").read_text().splitlines() if line
    )
    assert lines["web"].strip() == "budgetbot serve --port $PORT"
    assert lines["clock"].strip() == "budgetbot schedule"
    # The release step upgrades the schema, then refuses to deploy invalid policies.
    assert lines["release"].strip() == "budgetbot db upgrade && budgetbot validate"


# -- security: allowed workspaces, personal spend ----------------------------------------------


def test_requests_from_other_workspaces_are_refused(sim: SimServer, fake: FakeSlack) -> None:
    settings = _settings(sim, fake, slack_allowed_team_ids="T999, T888")
    deps = _deps(settings)
    app = build_app(settings, deps)
    refused = command(app, "project weekly", fake.response_url("r-team"))
    assert refused.status == 403
    assert not sim.usage_requests
    allowed_settings = _settings(sim, fake, slack_allowed_team_ids="T123")
    ok = command(build_app(allowed_settings, deps), "help", fake.response_url("r-team2"))
    assert ok.status == 200
    deps.close()


def test_spend_by_user_is_limited_to_listed_people_and_channels(
    sim: SimServer, fake: FakeSlack
) -> None:
    settings = _settings(sim, fake, budgetbot_user_reports="U0BOSS,C0FINANCE")
    base = _deps(settings)
    deps = Deps(
        rules=base.rules,
        usage_source=base.usage_source,
        now=base.now,
        close=base.close,
        user_report_viewers=settings.user_report_viewers,
    )
    app = build_app(settings, deps)
    assert command(app, "user weekly", fake.response_url("r-user")).status == 200
    [reply] = wait_for_responses(fake, "r-user")
    assert "Spend by user is personal" in reply["text"]
    assert command(app, "budgets", fake.response_url("r-budgets")).status == 200
    [budgets] = wait_for_responses(fake, "r-budgets")
    shown = " ".join(iter_blocks_text(budgets["blocks"]))
    assert "user-weekly" not in shown and "org-monthly" in shown
    deps.close()


def test_who_may_see_spend_by_user() -> None:
    from budgetbot.slack.answers import may_see_users

    deps = Deps(
        rules=load_policies(REPO / "policies"),
        usage_source=lambda: None,  # type: ignore[arg-type,return-value]
        user_report_viewers=frozenset({"U0BOSS", "C0FINANCE"}),
    )
    assert may_see_users(deps, "U0BOSS", "C0RANDOM")  # privately, anywhere
    assert may_see_users(deps, "U0ANYONE", "C0FINANCE")  # in the listed channel
    assert not may_see_users(deps, "U0ANYONE", "C0RANDOM")
    # Shared, the channel decides: everyone in it would see it.
    assert not may_see_users(deps, "U0BOSS", "C0RANDOM", share=True)
    assert may_see_users(deps, "U0BOSS", "C0FINANCE", share=True)
    everyone = Deps(rules=deps.rules, usage_source=deps.usage_source)
    assert may_see_users(everyone, None, None, share=True)


def test_audit_is_a_command_and_in_the_help() -> None:
    todo = read_command("audit", NOW)
    assert not isinstance(todo, Reply) and todo.kind == "audit" and not todo.share
    shared = read_command("audit share", NOW)
    assert not isinstance(shared, Reply) and shared.share
    typo = read_command("audti", NOW)
    assert isinstance(typo, Reply) and "/ionq-usage audit" in text_of(typo.__dict__)
    help_reply = read_command("help", NOW)
    assert isinstance(help_reply, Reply) and "/ionq-usage audit" in text_of(help_reply.__dict__)
