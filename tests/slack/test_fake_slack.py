"""The fake Slack Web API answers like Slack for what budgetbot uses (checked through slack-sdk)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from budgetbot.render.slack_text import fit_blocks
from tests.fakes.slack_api import FakeSlack, block_kit_errors, manifest_scopes
from tests.slack.conftest import TOKEN


def test_auth_test_and_token_check(fake_slack: FakeSlack) -> None:
    answer = WebClient(token=TOKEN, base_url=fake_slack.base_url).auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == ("T123", "UBOT", "B1")
    method, _, headers = fake_slack.calls[0]
    assert method == "auth.test" and headers["Authorization"] == f"Bearer {TOKEN}"
    with pytest.raises(SlackApiError) as bad:
        WebClient(token="xoxb-invalid", base_url=fake_slack.base_url).auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake_slack.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"


def test_post_update_permalink_and_history(fake_slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake_slack.base_url)
    meta = {"event_type": "budgetbot_alert", "event_payload": {"dedup_key": "k1"}}
    first = client.chat_postMessage(channel="#quantum-spend", text="one", metadata=meta)
    second = client.chat_postMessage(channel="#quantum-spend", text="two")
    reply = client.chat_postMessage(channel=first["channel"], text="r", thread_ts=first["ts"])
    assert first["channel"] == fake_slack.channel_id("#quantum-spend") == second["channel"]
    assert first["channel"].startswith("C")
    assert (first["ts"], second["ts"]) == ("1700000000.000100", "1700000000.000200")
    assert first["message"]["metadata"] == meta
    assert reply["message"]["thread_ts"] == first["ts"]

    # Posting needs no membership (chat:write.public); reading does.
    with pytest.raises(SlackApiError) as outside:
        client.conversations_history(channel=first["channel"])
    assert outside.value.response["error"] == "not_in_channel"
    joined = client.conversations_join(channel=first["channel"])
    assert joined["ok"] and "warning" not in joined
    history = client.conversations_history(channel=first["channel"])
    assert [m["text"] for m in history["messages"]] == ["two", "one"]  # newest first, no replies
    assert all("metadata" not in m for m in history["messages"])
    with_meta = client.conversations_history(channel=first["channel"], include_all_metadata=True)
    assert with_meta["messages"][1]["metadata"] == meta

    client.chat_update(channel=first["channel"], ts=first["ts"], text="one, edited")
    assert fake_slack.messages("#quantum-spend")[0]["text"] == "one, edited"
    link = client.chat_getPermalink(channel=first["channel"], message_ts=first["ts"])
    assert link["permalink"].endswith("/p1700000000000100")
    assert len(fake_slack.posts()) == 3


def test_lookups_views_and_files(fake_slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake_slack.base_url)
    assert client.users_lookupByEmail(email="Alice@example.org")["user"]["id"] == "U0ALICE"
    with pytest.raises(SlackApiError) as unknown:
        client.users_lookupByEmail(email="nobody@example.org")
    assert unknown.value.response["error"] == "users_not_found"
    handles = {g["handle"]: g["id"] for g in client.usergroups_list()["usergroups"]}
    assert handles == {"chem-leads": "S0CHEM", "finance": "S0FIN"}
    client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
    assert fake_slack.views()["U0ALICE"]["type"] == "home"
    done = client.files_upload_v2(
        channel="C0REPORTS1", filename="usage.csv", content="a,b\n1,2\n", title="usage"
    )
    assert fake_slack.uploads[done["file"]["id"]] == b"a,b\n1,2\n"


def test_faults_and_response_url(fake_slack: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake_slack.base_url, retry_handlers=[])
    fake_slack.fail("chat.postMessage", "channel_not_found", status=200)
    with pytest.raises(SlackApiError) as lost:
        client.chat_postMessage(channel="#gone", text="x")
    assert lost.value.response["error"] == "channel_not_found"
    fake_slack.fail("chat.postMessage", status=429, retry_after="7")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="#c", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="#c", text="x")["ok"]  # times=1: used up

    answer = WebhookClient(fake_slack.response_url("cmd-1")).send_dict({"text": "hello"})
    assert answer.status_code == 200
    assert fake_slack.responses("cmd-1") == [{"text": "hello"}]


def test_group_members_ephemerals_and_scopes() -> None:
    members = {"S0CHEM": ["U0ALICE", "U0BOB"]}
    with FakeSlack(usergroups={"chem-leads": "S0CHEM"}, members=members) as fake:
        client = WebClient(token=TOKEN, base_url=fake.base_url)
        assert client.usergroups_users_list(usergroup="S0CHEM")["users"] == ["U0ALICE", "U0BOB"]
        with pytest.raises(SlackApiError) as unknown:
            client.usergroups_users_list(usergroup="S0NONE")
        assert unknown.value.response["error"] == "no_such_subteam"
        # An ephemeral reaches one user and never the channel's history.
        posted = client.chat_postMessage(channel="#quantum-spend", text="alert")
        answer = client.chat_postEphemeral(
            channel=posted["channel"], user="U0BOB", text="only you", thread_ts=posted["ts"]
        )
        assert answer["ok"] and answer["message_ts"]
        assert [e["text"] for e in fake.ephemerals("U0BOB")] == ["only you"]
        assert fake.ephemerals("U0ALICE") == []
        assert [m["text"] for m in fake.messages("#quantum-spend")] == ["alert"]
        with pytest.raises(SlackApiError) as nobody:
            client.chat_postEphemeral(channel=posted["channel"], user="nobody", text="x")
        assert nobody.value.response["error"] == "user_not_found"
    # By default the manifest's scopes are granted; without one, Slack says which is needed.
    assert {"usergroups:read", "users:read.email", "chat:write"} <= manifest_scopes()
    with FakeSlack(users={"a@example.org": "U0A"}, scopes=frozenset({"chat:write"})) as fake:
        client = WebClient(token=TOKEN, base_url=fake.base_url)
        for call, needed in (
            (lambda: client.usergroups_users_list(usergroup="S0CHEM"), "usergroups:read"),
            (lambda: client.usergroups_list(), "usergroups:read"),
            (lambda: client.users_lookupByEmail(email="a@example.org"), "users:read.email"),
        ):
            with pytest.raises(SlackApiError) as refused:
                call()
            assert refused.value.response["error"] == "missing_scope"
            assert refused.value.response["needed"] == needed
        assert client.chat_postMessage(channel="#c", text="x")["ok"]


def test_confirm_dialogs_are_held_to_slacks_limits() -> None:
    def button(confirm: object) -> list[dict[str, object]]:
        element = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "value": "v"}
        return [{"type": "actions", "elements": [{**element, "confirm": confirm}]}]

    def plain(text: str) -> dict[str, str]:
        return {"type": "plain_text", "text": text}

    good = {"title": plain("Sure?"), "text": plain("x" * 300), "confirm": plain("Yes")}
    assert block_kit_errors(button(good)) == []
    assert block_kit_errors(button({**good, "title": plain("t" * 101)}))
    assert block_kit_errors(button({**good, "text": {"type": "mrkdwn", "text": "x"}}))
    assert block_kit_errors(button({**good, "deny": plain("n" * 31)}))
    assert block_kit_errors(button({"text": plain("no title")}))
    # The renderers' last guard cuts a dialog to fit.
    long = {**good, "title": plain("t" * 500), "text": plain("x" * 900)}
    assert block_kit_errors(fit_blocks(button(long))) == []
