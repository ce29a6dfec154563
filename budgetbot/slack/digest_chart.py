"""A digest's chart: drawn, uploaded into the digest's thread, and linked from the digest."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.render.blocks import Block
from budgetbot.reports.digest import DigestReport

from .deliver import CHART_LINK_TEXT, MAX_DIGEST_BLOCKS, _scrub
from .upload import upload_chart_file

__all__ = ["attach_digest_chart"]

log = logging.getLogger("budgetbot.slack.deliver")


def attach_digest_chart(
    client: WebClient,
    digest: DigestReport,
    channel_id: str,
    ts: str,
    text: str,
    blocks: list[Block],
    metadata: dict[str, Any],
) -> None:
    """Put the digest's chart in its thread and link it from the digest; never raises.

    The digest is posted first and stands on its own (totals, top lists, budgets and the
    per-day trend in text): it is what the outbox records, and nothing about the chart can
    hold it back. Then the chart is uploaded into the digest's thread (the channel id and
    ``ts`` come from the post; ``files_upload_v2`` needs an id, not a name), so it is shared
    with exactly the digest's audience, and the digest is updated (``chat.update``, same
    metadata) with a context line linking it. A failure at any step — no ``files:write``,
    Slack or the network refusing — is one warning and leaves the digest as posted.
    """
    if not digest.daily or len(blocks) >= MAX_DIGEST_BLOCKS:
        return
    # Imported here: matplotlib costs half a second to import, and only charts need it.
    from budgetbot.render.chart import digest_chart

    try:
        png = digest_chart(digest)
    except Exception as exc:  # a chart must never cost the digest
        log.warning("digest %s: chart not drawn: %s: %s", digest.name, type(exc).__name__, exc)
        return
    title = f"IonQ spend per day, {digest.start} to {digest.end - dt.timedelta(days=1)}"
    uploaded = upload_chart_file(
        client,
        channel_id,
        png,
        title=title,
        thread_ts=ts,
        initial_comment=f"Chart of the {digest.name} digest: spend per day and top projects.",
    )
    if uploaded is None:
        return
    link = f"<{uploaded.permalink}|{CHART_LINK_TEXT}>" if uploaded.permalink else CHART_LINK_TEXT
    chart_block: Block = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f":bar_chart: {link} (in the thread)"}],
    }
    try:
        client.chat_update(
            channel=channel_id,
            ts=ts,
            text=text,
            blocks=[*blocks, chart_block],
            metadata=metadata,
        )
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning(
            "%s: could not link the chart from the digest: %s",
            channel_id,
            _scrub(str(exc), client),
        )
