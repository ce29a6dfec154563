"""``/ionq-usage``: ``ack()`` at once, then parse, fetch and ``respond()``.

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from budgetbot.ionq import IonQError
from budgetbot.render.blocks import Block, error_message, help_message, report_message
from budgetbot.render.budgets import budgets_blocks
from budgetbot.reports.build import Report
from budgetbot.reports.fetch import fetch_burns, fetch_report
from budgetbot.reports.grammar import Command, GrammarError, parse_command, parse_range
from budgetbot.rules.engine import plan
from budgetbot.settings import MissingSetting
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import WORKING, failure_sentence
from budgetbot.slack.upload import upload_chart
from budgetbot.usage import UsageDataError, UsageSource

__all__ = [
    "COMMAND",
    "Reply",
    "answer",
    "corrected_command",
    "handle_ionq_usage",
    "read_command",
    "register",
    "share_chart",
]

log = logging.getLogger("budgetbot.slack.commands")

COMMAND = "/ionq-usage"
#: Queries of ``budgets`` asked side by side (each is one IonQ request).
PARALLEL_QUERIES = 8

ResponseType = Literal["ephemeral", "in_channel"]


@dataclass(frozen=True)
class Reply:
    """A message for Slack: fallback text, blocks and who sees it."""

    text: str
    blocks: list[Block]
    response_type: ResponseType = "ephemeral"
    #: The report behind a report answer (its chart is drawn from it); None for other replies.
    report: Report | None = None


def corrected_command(text: str, suggestion: str | None) -> str | None:
    """The whole command with the one misspelt word replaced, when that makes it valid.

    ``projekt weekly`` with the suggestion ``project`` gives ``/ionq-usage project weekly``.
    """
    if not suggestion:
        return None
    # A suggestion comes only with a text the grammar took in: at most MAX_TOKENS words.
    words = text.split()
    for i in range(len(words)):
        candidate = [*words[:i], suggestion, *words[i + 1 :]]
        try:
            parse_command(" ".join(candidate))
        except GrammarError:
            continue
        return f"{COMMAND} {' '.join(candidate)}"
    return f"{COMMAND} {suggestion}"


def read_command(text: str, now: dt.datetime) -> Command | Reply:
    """What to do with the text after ``/ionq-usage`` at ``now`` (pure).

    A :class:`Command` is work to do; a :class:`Reply` (help) is the whole answer. Ranges are
    checked here too, so a range in the future is help, not an IonQ error. Bounded work for any
    text (see :mod:`budgetbot.reports.grammar`).
    """
    try:
        command = parse_command(text)
        if command.kind == "report" and command.report is not None:
            parse_range(command.report.range_text, command.report.modality, now.date())
    except GrammarError as exc:
        return Reply(*help_message(exc.message, corrected_command(text, exc.suggestion)))
    if command.kind == "help":
        return Reply(*help_message())
    return command


def _prefetch(source: UsageSource, deps: Deps, now: dt.datetime) -> None:
    """Ask IonQ the budget view's queries side by side; the source's memo keeps the answers."""
    queries = plan(deps.rules.policies, (), now)
    if len(queries) < 2:
        return
    with ThreadPoolExecutor(max_workers=min(PARALLEL_QUERIES, len(queries))) as pool:
        # list() re-raises the first failure here.
        list(pool.map(source.series, queries))


USER_SPEND_PRIVATE = (
    "Spend by user is personal: this workspace shows it only to the people and channels"
    " listed in BUDGETBOT_USER_REPORTS. Try `/ionq-usage project weekly`."
)


def may_see_users(
    deps: Deps, user_id: str | None, channel_id: str | None, *, share: bool = False
) -> bool:
    """Whether this user, in this channel, may see spend by user.

    A listed user may see it privately anywhere; shared into a channel, the channel itself must
    be listed, since everyone in it will see it.
    """
    viewers = deps.user_report_viewers
    if viewers is None:
        return True
    if share:
        return channel_id in viewers
    return bool({user_id, channel_id} & viewers)


def answer(
    command: Command,
    deps: Deps,
    now: dt.datetime,
    *,
    user_id: str | None = None,
    channel_id: str | None = None,
) -> Reply:
    """Fetch and render what ``command`` asks for at ``now``; raises IonQ and usage errors."""
    source = deps.usage_source()
    response_type: ResponseType = "in_channel" if command.share else "ephemeral"
    users_ok = may_see_users(deps, user_id, channel_id, share=command.share)
    if command.kind == "budgets":
        _prefetch(source, deps, now)
        burns = fetch_burns(deps.rules, source, now)
        if not users_ok:
            burns = [b for b in burns if b.scope != "user"]
        text, blocks = budgets_blocks(burns, title="Budgets this period")
        return Reply(text, blocks, response_type)
    request = command.report
    assert request is not None, "a report command carries its request"
    if request.grouping == "user" and not users_ok:
        return Reply(*error_message(USER_SPEND_PRIVATE))
    report = fetch_report(source, request.grouping, request.modality, request.range_text, now)
    return Reply(*report_message(report), response_type, report=report)


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
