"""Charts in Slack: ``files_upload_v2`` against the fake Slack, digests and shared reports.

The full flow is seen on the wire: ``files.getUploadURLExternal``, the POST of the PNG to the
upload URL, ``files.completeUploadExternal``. Without ``files:write`` (or on any failure) the
message still goes out on its own text and per-day trend, and the failure is one warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App
from slack_sdk import WebClient

from budgetbot.alerts.notifiers import OutgoingDigest
from budgetbot.sim import SimServer
from budgetbot.slack.answers import Reply
from budgetbot.slack.app import build_app
from budgetbot.slack.deliver import CHART_LINK_TEXT, make_web_client
from budgetbot.slack.listeners.commands import share_chart
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.slack.upload import upload_chart
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.render.test_chart import PNG_SIGNATURE, small_digest, small_report
from tests.slack.conftest import TOKEN
from tests.slack.test_commands import _deps, _settings, command, wait_for_responses
from tests.support import RecordedSleep, settle, wait_for

KEY = "digest|weekly|2026-11-16T08:00:00+00:00"


def digest_note() -> OutgoingDigest:
    return OutgoingDigest(7, KEY, small_digest(), "#finance")


def text_of(message: dict[str, Any]) -> str:
    return " ".join([message.get("text", ""), *iter_blocks_text(message.get("blocks") or [])])


def test_digest_uploads_its_chart_into_its_thread_and_links_it(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    channel, ts = SlackNotifier(web_client).deliver(digest_note())
    [asked] = fake_slack.calls_to("files.getUploadURLExternal")
    assert asked["filename"].endswith(".png") and int(asked["length"]) > 1000
    [(file_id, png)] = fake_slack.uploads.items()
    assert png.startswith(PNG_SIGNATURE) and len(png) == int(asked["length"])
    [done] = fake_slack.calls_to("files.completeUploadExternal")
    assert done["channel_id"] == channel and done["thread_ts"] == ts
    assert [f["id"] for f in done["files"]] == [file_id]
    # The digest itself now references the file, and keeps its metadata (crash recovery).
    [update] = fake_slack.calls_to("chat.update")
    assert update["ts"] == ts
    digest = next(m for m in fake_slack.messages("#finance") if m["ts"] == ts)
    shown = text_of(digest)
    assert file_id in shown and CHART_LINK_TEXT in shown
    assert "Per day" in shown  # the text trend stays
    assert digest["metadata"]["event_payload"]["dedup_key"] == KEY


def test_the_chart_link_comes_from_files_info_as_on_real_slack(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    """files.completeUploadExternal answers no permalink (as Slack): files.info gives it."""
    _, ts = SlackNotifier(web_client).deliver(digest_note())
    [done] = fake_slack.calls_to("files.completeUploadExternal")
    [file_id] = [f["id"] for f in done["files"]]
    assert [c["file"] for c in fake_slack.calls_to("files.info")] == [file_id]
    digest = next(m for m in fake_slack.messages("#finance") if m["ts"] == ts)
    link = f"<https://fake-workspace.slack.test/files/UBOT/{file_id}|{CHART_LINK_TEXT}>"
    assert link in text_of(digest)


def test_manifest_asks_for_files_read() -> None:
    manifest = yaml.safe_load((Path(__file__).parents[2] / "slack-manifest.yaml").read_text())
    assert {"files:write", "files:read"} <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_without_files_read_the_chart_goes_unlinked(
    fake_slack: FakeSlack, web_client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="budgetbot")
    fake_slack.fail("files.info", "missing_scope", status=200, times=None)
    _, ts = SlackNotifier(web_client).deliver(digest_note())
    digest = next(m for m in fake_slack.messages("#finance") if m["ts"] == ts)
    shown = text_of(digest)
    assert CHART_LINK_TEXT in shown and "<https://" not in shown  # no link promised
    assert len(fake_slack.uploads) == 1  # the chart is in the thread all the same
    assert "files:read" in caplog.text and TOKEN not in caplog.text


def test_digest_without_files_write_still_posts_its_text_trend(
    fake_slack: FakeSlack, web_client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="budgetbot")
    fake_slack.fail("files.getUploadURLExternal", "missing_scope", status=200, times=None)
    SlackNotifier(web_client).deliver(digest_note())
    [post] = fake_slack.posts()
    assert "Per day" in text_of(post) and post["metadata"]["event_payload"]["dedup_key"] == KEY
    assert fake_slack.uploads == {}
    assert fake_slack.calls_to("files.completeUploadExternal") == []
    assert fake_slack.calls_to("chat.update") == []
    warnings = [r for r in caplog.records if "chart upload failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "missing_scope" in warnings[0].getMessage() and "files:write" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


def test_digest_survives_a_refused_link_update(
    fake_slack: FakeSlack, web_client: WebClient
) -> None:
    fake_slack.fail("chat.update", "cant_update_message", status=200, times=None)
    _, ts = SlackNotifier(web_client).deliver(digest_note())
    assert len(fake_slack.uploads) == 1 and ts


def test_upload_chart_returns_the_permalink_or_none(
    fake_slack: FakeSlack, web_client: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    link = upload_chart(web_client, "C0REPORTS1", PNG_SIGNATURE + b"...", title="t")
    assert link is not None and link.endswith(next(iter(fake_slack.uploads)))
    assert link.startswith("https://")  # the permalink, not the bare file id
    fake_slack.fail("files.completeUploadExternal", "not_in_channel", status=200)
    caplog.set_level(logging.WARNING, logger="budgetbot")
    assert upload_chart(web_client, "C0REPORTS1", PNG_SIGNATURE, title="t") is None
    assert "not_in_channel" in caplog.text


def test_upload_chart_unreachable_slack_is_none(caplog: pytest.LogCaptureFixture) -> None:
    waits = RecordedSleep()
    client = make_web_client(TOKEN, "http://127.0.0.1:9/api/", sleep=waits)
    caplog.set_level(logging.WARNING, logger="budgetbot")
    assert upload_chart(client, "C0REPORTS1", PNG_SIGNATURE, title="t") is None
    assert "cannot reach Slack" in caplog.text and TOKEN not in caplog.text


def test_share_chart_only_for_shared_reports(fake_slack: FakeSlack, web_client: WebClient) -> None:
    report = small_report()
    body = {"channel_id": "C0REPORTS1", "user_id": "U0123"}
    private = Reply("r", [], "ephemeral", report=report)
    assert share_chart(web_client, private, body) is None
    assert share_chart(web_client, Reply("help", [], "in_channel"), body) is None
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    shared = Reply("r", [], "in_channel", report=report)
    assert share_chart(web_client, shared, body) is not None
    [done] = fake_slack.calls_to("files.completeUploadExternal")
    assert done["channel_id"] == "C0REPORTS1" and not done.get("thread_ts")
    assert next(iter(fake_slack.uploads.values())).startswith(PNG_SIGNATURE)


@pytest.fixture
def app(
    sim: SimServer, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    settings = _settings(sim, fake_slack)
    deps = _deps(settings)
    yield build_app(settings, deps)
    deps.close()


def _wait_for_call(fake: FakeSlack, method: str) -> list[dict[str, Any]]:
    return wait_for(lambda: fake.calls_to(method), 15, message=f"no call to {method}")


def test_shared_slash_command_report_is_followed_by_its_chart(
    app: App, fake_slack: FakeSlack
) -> None:
    command(app, "project weekly share", fake_slack.response_url("s"))
    (answer,) = wait_for_responses(fake_slack, "s")
    assert answer["response_type"] == "in_channel"
    [done] = _wait_for_call(fake_slack, "files.completeUploadExternal")
    assert done["channel_id"] == "C0123456"
    assert next(iter(fake_slack.uploads.values())).startswith(PNG_SIGNATURE)


def test_private_slash_command_report_uploads_nothing(app: App, fake_slack: FakeSlack) -> None:
    command(app, "project weekly", fake_slack.response_url("p"))
    wait_for_responses(fake_slack, "p")
    settle(app)  # the listener would upload right after answering
    assert fake_slack.calls_to("files.getUploadURLExternal") == []


def test_shared_report_without_files_write_still_answers(app: App, fake_slack: FakeSlack) -> None:
    fake_slack.fail("files.getUploadURLExternal", "missing_scope", status=200, times=None)
    command(app, "org weekly share", fake_slack.response_url("o"))
    (answer,) = wait_for_responses(fake_slack, "o")
    assert "IonQ spend by organization" in text_of(answer)
    _wait_for_call(fake_slack, "files.getUploadURLExternal")
    assert fake_slack.uploads == {}
