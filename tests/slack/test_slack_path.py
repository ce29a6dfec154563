"""What a new user meets on the way to Slack (item 18) and Slack's limits on the wire (item 15).

The fake Slack refuses blocks over Block Kit's limits as Slack does (``invalid_blocks``), so
these go through the real delivery code and a server that would say no.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from slack_sdk import WebClient

from budgetbot.alerts.deliver import deliver_pending
from budgetbot.alerts.notifiers import DeliveryError, OutgoingDigest, OutgoingNotice
from budgetbot.alerts.resolve import resolutions
from budgetbot.slack.deliver import post_message
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.render.test_limits import burns, digest
from tests.slack.conftest import make_finding

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def test_channel_not_found_says_the_channel_is_missing_and_which_policy_names_it(
    fake_slack: FakeSlack, web_client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="budgetbot")
    store = Store.memory()
    finding = make_finding(rule="chem-monthly", channel="#quantum-chem")
    payload = json.dumps(
        {"type": "alert", "finding": finding.model_dump(mode="json"), "reason": "FIRST"}
    )
    key = "chem-monthly|p-chem|2026-11|spend|80"
    store.record([], [(key, finding.thread_key, "#quantum-chem", payload)], NOW)
    fake_slack.fail("chat.postMessage", "channel_not_found", status=200)
    sent, failed = deliver_pending(store, [SlackNotifier(web_client)], NOW)
    assert sent == []
    [(_, why)] = failed
    assert why.startswith("#quantum-chem: chat.postMessage failed: channel_not_found")
    assert "no such channel" in why and "private" in why and "/invite @budgetbot" in why
    assert "is the bot invited" not in why  # the old hint sent people the wrong way
    # The log line names the policy (its key) with the channel and the hint.
    [line] = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert "chem-monthly" in line and "#quantum-chem" in line and "no such channel" in line


def test_fake_slack_refuses_blocks_over_the_limits(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(DeliveryError, match="invalid_blocks"):
        post_message(web_client, "#quantum-spend", "hi", [section])
    with pytest.raises(DeliveryError, match="invalid_blocks"):
        post_message(web_client, "#quantum-spend", "hi", [{"type": "divider"}] * 51)


def test_back_under_notice_of_a_5000_character_project_is_accepted(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    [burn] = burns(1, 1, "P" * 5000)
    [resolved] = resolutions([burn], {(burn.rule, burn.group_key, burn.period, "spend"): {"80"}})
    note = OutgoingNotice(1, resolved.dedup_key, resolved.text, "#quantum-spend")
    SlackNotifier(web_client).deliver(note)
    [message] = fake_slack.messages("#quantum-spend")
    [text] = iter_blocks_text(message["blocks"])
    assert text.startswith("Back under 80%: PPP") and "…" in text
    assert text.endswith("the budget was raised or the figures corrected.")


def test_digest_with_500_budgets_is_accepted_and_counts_them(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    report = digest("Project <!channel> ", burns(500, 7, "Project <!channel> "))
    SlackNotifier(web_client).deliver(OutgoingDigest(1, "digest|weekly|x", report, "#finance"))
    [message, *_] = fake_slack.messages("#finance")
    shown = "\n".join(iter_blocks_text(message["blocks"]))
    assert "more budgets" in shown and "<!channel>" not in shown
    assert fake_slack.calls_to("chat.update")  # the chart's link still found room
