"""Policy mention entries resolve to Slack mentions against the fake Slack; nothing raises."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from budgetbot.slack.mentions import MentionResolver
from tests.fakes.slack_api import FakeSlack


def test_ids_and_specials_need_no_call(fake_slack: FakeSlack, web_client: WebClient) -> None:
    resolver = MentionResolver(web_client)
    got = resolver.resolve(["U0ALICE", "W0ENT", "S0CHEM", "@here", "@channel", "<@U9>"])
    assert got == ["<@U0ALICE>", "<@W0ENT>", "<!subteam^S0CHEM>", "<!here>", "<!channel>", "<@U9>"]
    assert fake_slack.calls == []


def test_emails_are_looked_up_once(fake_slack: FakeSlack, web_client: WebClient) -> None:
    resolver = MentionResolver(web_client)
    assert resolver.resolve(["alice@example.org"]) == ["<@U0ALICE>"]
    assert resolver.resolve(["Alice@Example.org", "bob@example.org"]) == ["<@U0ALICE>", "<@U0BOB>"]
    looked_up = [b["email"] for b in fake_slack.calls_to("users.lookupByEmail")]
    assert looked_up == ["alice@example.org", "bob@example.org"]


def test_unknown_email_is_escaped_text_and_logged(
    fake_slack: FakeSlack, web_client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = MentionResolver(web_client)
    with caplog.at_level(logging.WARNING, "budgetbot.slack.mentions"):
        assert resolver.resolve(["<x>nobody@example.org"]) == ["&lt;x&gt;nobody@example.org"]
        assert resolver.resolve(["nobody@example.org"]) == ["nobody@example.org"]
        assert resolver.resolve(["nobody@example.org"]) == ["nobody@example.org"]
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 1  # misses are cached too
    assert "no Slack user with e-mail nobody@example.org" in caplog.text


def test_group_handles_list_once(fake_slack: FakeSlack, web_client: WebClient) -> None:
    resolver = MentionResolver(web_client)
    got = resolver.resolve(["@chem-leads", "@finance", "@nobody", "#quantum-spend"])
    assert got == ["<!subteam^S0CHEM>", "<!subteam^S0FIN>", "@nobody", "#quantum-spend"]
    assert len(fake_slack.calls_to("usergroups.list")) == 1


def test_slack_failures_never_raise(fake_slack: FakeSlack, web_client: WebClient) -> None:
    fake_slack.fail("usergroups.list", "missing_scope", status=200, times=None)
    fake_slack.fail("users.lookupByEmail", "internal_error", status=500, times=None)
    resolver = MentionResolver(web_client)
    assert resolver.resolve(["@chem-leads", "alice@example.org"]) == [
        "@chem-leads",
        "alice@example.org",
    ]
