"""An action's approvers are checked against the fake Slack at click time, failing closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from budgetbot.slack.approvers import Verdict, check_approver
from budgetbot.slack.deliver import make_web_client
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import TOKEN
from tests.support import RecordedSleep

APPROVERS = ["@lab-managers", "U0CAROL", "alice@example.org", "S0FIN"]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(
        users={"alice@example.org": "U0ALICE", "bob@example.org": "U0BOB"},
        usergroups={"lab-managers": "S0LAB", "finance": "S0FIN"},
        members={"S0LAB": ["U0DAVE"], "S0FIN": ["U0ERIN"]},
    ) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return make_web_client(TOKEN, slack.base_url, sleep=RecordedSleep())


def test_each_kind_of_entry_approves_its_people(slack: FakeSlack, client: WebClient) -> None:
    assert check_approver(client, "U0CAROL", APPROVERS) == Verdict(True, "U0CAROL")
    assert slack.calls == []  # an id needs no call
    assert check_approver(client, "U0DAVE", APPROVERS) == Verdict(True, "@lab-managers")
    assert check_approver(client, "U0ALICE", APPROVERS) == Verdict(True, "alice@example.org")
    assert check_approver(client, "U0ERIN", APPROVERS) == Verdict(True, "S0FIN")
    assert check_approver(client, "U0BOB", APPROVERS) == Verdict(False, None, [])
    assert check_approver(client, "U0BOB", []) == Verdict(False, None, [])


def test_membership_is_read_at_each_click(slack: FakeSlack, client: WebClient) -> None:
    assert check_approver(client, "U0DAVE", ["@lab-managers"]).approved
    slack.members_of["S0LAB"] = []  # Dave left the group
    assert not check_approver(client, "U0DAVE", ["@lab-managers"]).approved
    assert len(slack.calls_to("usergroups.users.list")) == 2


def test_unknown_entries_approve_no_one(client: WebClient) -> None:
    verdict = check_approver(client, "U0BOB", ["@nobody", "S0GONE", "nobody@example.org", "bob"])
    assert verdict == Verdict(False, None, [])


def test_slack_not_answering_fails_closed_and_says_so(slack: FakeSlack, client: WebClient) -> None:
    slack.scopes = frozenset({"chat:write"})
    verdict = check_approver(client, "U0DAVE", APPROVERS)
    assert not verdict.approved
    assert verdict.unanswered == [
        "@lab-managers: missing_scope",
        "alice@example.org: missing_scope",
        "S0FIN: missing_scope",
    ]
