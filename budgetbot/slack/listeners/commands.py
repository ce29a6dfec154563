"""``/ionq-usage``: ``ack()`` at once, then read, answer (:mod:`budgetbot.slack.answers`) and
``respond()``.

Every command is acknowledged first with the same short ephemeral "working on it", before its
text is read, so Slack's 3 seconds never depend on the text (which the grammar refuses past a
sane length anyway). Help and anything unparseable are then answered through the command's
``response_url`` (ephemeral, with a "did you mean") and never reach IonQ. Everything else is
fetched and posted there: in the channel when the user added ``share``, else only to them. A
failure is one polite sentence in Slack; the details go to the log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from budgetbot.ionq import IonQError
from budgetbot.render.blocks import error_message
from budgetbot.settings import MissingSetting
from budgetbot.slack.answers import COMMAND, Reply, answer, read_command
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import WORKING, failure_sentence
from budgetbot.slack.upload import upload_chart
from budgetbot.usage import UsageDataError

__all__ = ["handle_ionq_usage", "register", "share_chart"]

log = logging.getLogger("budgetbot.slack.commands")


def handle_ionq_usage(
    body: Mapping[str, Any],
    ack: Ack,
    respond: Respond,
    deps: Deps,
    logger: logging.Logger = log,
    *,
    client: WebClient | None = None,
) -> None:
    """The whole life of one ``/ionq-usage``: read, acknowledge, fetch, respond.

    With a ``client``, a shared report is followed by its chart (see :func:`share_chart`).
    """
    # First, and the same for every text: the acknowledgement never waits on reading it.
    ack(text=WORKING, response_type="ephemeral")
    now = deps.now()
    text = str(body.get("text") or "")
    todo = read_command(text, now)
    if isinstance(todo, Reply):
        _send(respond, todo, logger)
        return
    try:
        reply = answer(
            todo,
            deps,
            now,
            user_id=body.get("user_id"),
            channel_id=body.get("channel_id"),
        )
    except (IonQError, MissingSetting, UsageDataError) as exc:
        logger.warning(
            "%s %r from %s failed: %s: %s",
            COMMAND,
            text,
            body.get("user_id", "?"),
            type(exc).__name__,
            exc,
        )
        reply = Reply(*error_message(failure_sentence(exc)))
    _send(respond, reply, logger)
    if client is not None:
        share_chart(client, reply, body, logger)


def share_chart(
    client: WebClient, reply: Reply, body: Mapping[str, Any], logger: logging.Logger = log
) -> str | None:
    """Post a shared report's chart in the command's channel, right after the answer.

    Messages sent to ``response_url`` cannot carry files, so the chart is a file of its own,
    uploaded with ``files_upload_v2`` to the channel the command was typed in. That makes it
    visible to everyone there, so it goes only with answers the user chose to share
    (``share``, ``in_channel``): an ephemeral answer is private, and its chart would not be.
    The answer never depends on it: without ``files:write``, outside the bot's channels or on
    any failure, the chart is skipped with one warning. Returns the file's permalink or id.
    """
    channel_id = body.get("channel_id")
    if reply.report is None or reply.response_type != "in_channel" or not channel_id:
        return None
    # Imported here: matplotlib costs half a second to import, and only charts need it.
    from budgetbot.render.chart import report_chart

    try:
        png = report_chart(reply.report)
    except Exception as exc:  # a chart must never cost the answer
        logger.warning("%s: chart not drawn: %s: %s", COMMAND, type(exc).__name__, exc)
        return None
    r = reply.report
    last = r.end - dt.timedelta(days=1)
    title = f"IonQ spend by {r.grouping}, {r.modality}, {r.start} to {last} (UTC)"
    return upload_chart(client, str(channel_id), png, title=title)


def _send(respond: Respond, reply: Reply, logger: logging.Logger) -> None:
    result = respond(
        text=reply.text,
        blocks=reply.blocks,
        response_type=reply.response_type,
        replace_original=False,
    )
    status = getattr(result, "status_code", 200)
    if status != 200:
        logger.warning("%s: response_url answered %s", COMMAND, status)


def register(app: App, deps: Deps) -> None:
    """Bind ``/ionq-usage`` to :func:`handle_ionq_usage` with ``deps``."""

    def ionq_usage(ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        handle_ionq_usage(body, ack, respond, deps, client=client)

    app.command(COMMAND)(ionq_usage)
