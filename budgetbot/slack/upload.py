"""Uploading a chart to Slack, best effort (slack-sdk's ``WebClient.files_upload_v2``).

``files_upload_v2`` runs Slack's current three-step flow: ``files.getUploadURLExternal`` (a URL
and a file id for the PNG's name and length), a POST of the bytes to that URL, then
``files.completeUploadExternal``, which shares the file in the channel (or thread) with its
title and comment. The bot needs the ``files:write`` scope.

``files.completeUploadExternal`` answers only each file's id and title: the file's permalink
comes from ``files.info`` afterwards, which needs the ``files:read`` scope. Without it (or if
that call fails) the chart is still shared, only without a link.

A chart only ever adds to a message that stands on its own (text and a per-day trend), so an
upload that fails — no ``files:write`` (``missing_scope``), the bot not in the channel, any
other Slack error, the network — is one warning in the log and a ``None`` for the caller, never
an exception and never a lost message. The token never appears in the warning.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = ["CHART_FILENAME", "UploadedChart", "upload_chart", "upload_chart_file"]

log = logging.getLogger("budgetbot.slack.upload")

CHART_FILENAME = "ionq-spend.png"
_CODE = re.compile(r"^[a-z_]{2,64}$")
_TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+")
_HINTS = {
    "missing_scope": "add the files:write scope to the Slack app and reinstall it",
    "not_in_channel": "invite the bot to the channel",
    "channel_not_found": "no such channel, or it is private and the bot is not invited",
}


@dataclass(frozen=True)
class UploadedChart:
    """A chart Slack accepted: its file id and, when Slack sent one, its permalink."""

    file_id: str
    permalink: str | None = None


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str) and _CODE.match(error):
            hint = _HINTS.get(error)
            return error + (f" ({hint})" if hint else "")
        return f"HTTP {getattr(exc.response, 'status_code', '?')}"
    return f"cannot reach Slack ({type(exc).__name__})"


def upload_chart_file(
    client: WebClient,
    channel_id: str,
    png: bytes,
    *,
    title: str,
    thread_ts: str | None = None,
    initial_comment: str | None = None,
) -> UploadedChart | None:
    """Upload ``png`` to ``channel_id`` (in ``thread_ts``'s thread when given).

    Returns the file id and permalink, or None after one warning when Slack or the network
    refuses it.
    """
    try:
        answer = client.files_upload_v2(
            filename=CHART_FILENAME,
            content=png,
            title=title,
            alt_txt=title,
            channel=channel_id,
            thread_ts=thread_ts,
            initial_comment=initial_comment,
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        text = _TOKEN.sub("[token]", f"{channel_id}: chart upload failed: {_reason(exc)}")
        log.warning("%s; the message goes without it", text)
        return None
    file = answer.get("file")
    if not isinstance(file, dict):
        files = answer.get("files")
        file = files[0] if isinstance(files, list) and files else None
    file_id = file.get("id") if isinstance(file, dict) else None
    if not isinstance(file_id, str):
        log.warning("%s: chart upload answered without a file id", channel_id)
        return None
    permalink = file.get("permalink") if isinstance(file, dict) else None
    if not isinstance(permalink, str):
        permalink = _permalink(client, file_id)
    return UploadedChart(file_id, permalink)


def _permalink(client: WebClient, file_id: str) -> str | None:
    """The file's permalink from ``files.info`` (scope ``files:read``), or None after a log
    line: the chart is shared either way, only the link is missing."""
    try:
        answer = client.files_info(file=file_id)
    except (SlackApiError, SlackClientError, OSError) as exc:
        reason = _reason(exc)
        if "missing_scope" in reason:
            reason = "missing_scope (add the files:read scope to the Slack app and reinstall it)"
        log.warning("chart %s is shared without a link: files.info failed: %s", file_id, reason)
        return None
    file = answer.get("file")
    link = file.get("permalink") if isinstance(file, dict) else None
    # It goes into a mrkdwn link, <url|text>: nothing that could end or bend it.
    if isinstance(link, str) and link.startswith("https://") and not set("<>| ") & set(link):
        return link
    return None


def upload_chart(
    client: WebClient,
    channel_id: str,
    png: bytes,
    *,
    title: str,
    thread_ts: str | None = None,
) -> str | None:
    """Upload a chart; returns its permalink (else its file id), or None when it failed."""
    uploaded = upload_chart_file(client, channel_id, png, title=title, thread_ts=thread_ts)
    if uploaded is None:
        return None
    return uploaded.permalink or uploaded.file_id
