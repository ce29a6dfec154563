"""What ``/ionq-usage`` answers: its text read into work or help, and the work fetched and
rendered into a :class:`Reply` (the listener in :mod:`budgetbot.slack.listeners.commands` only
acknowledges, calls these and sends the reply).

Help and anything unparseable are answered without IonQ (with a "did you mean"); spend by user
is shown only where ``BUDGETBOT_USER_REPORTS`` allows it.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from budgetbot.actions.audit import audit_entries
from budgetbot.render.action_blocks import audit_message
from budgetbot.render.blocks import Block, error_message, help_message, report_message
from budgetbot.render.budgets import budgets_blocks
from budgetbot.render.queue import queue_blocks
from budgetbot.reports.build import Report
from budgetbot.reports.fetch import fetch_burns, fetch_queue, fetch_report, read_queue
from budgetbot.reports.grammar import Command, GrammarError, parse_command, parse_range
from budgetbot.rules.engine import plan
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import NO_AUDIT, QUEUE_NOT_READ, USER_SPEND_PRIVATE
from budgetbot.usage import UsageSource

__all__ = [
    "COMMAND",
    "PARALLEL_QUERIES",
    "Reply",
    "ResponseType",
    "answer",
    "corrected_command",
    "may_see_users",
    "read_command",
]

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
    response_type: ResponseType = "in_channel" if command.share else "ephemeral"
    if command.kind == "audit":  # from the store: IonQ is not asked
        if deps.store is None:
            return Reply(*error_message(NO_AUDIT))
        return Reply(*audit_message(audit_entries(deps.store)), response_type)
    source = deps.usage_source()
    users_ok = may_see_users(deps, user_id, channel_id, share=command.share)
    if command.kind == "queue":
        return _queue(command, deps, now, users_ok, response_type)
    source = deps.usage_source()
    if command.kind == "budgets":
        _prefetch(source, deps, now)
        burns = fetch_burns(deps.rules, source, now, read_queue(deps.queue(), deps.rules, now))
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


def _queue(
    command: Command, deps: Deps, now: dt.datetime, users_ok: bool, response_type: ResponseType
) -> Reply:
    """``/ionq-usage queue [project|user]``: submitters are named only where spend by user may
    be seen."""
    reader = deps.queue()
    if reader is None:
        return Reply(*error_message(QUEUE_NOT_READ))
    if command.grouping == "user" and not users_ok:
        return Reply(*error_message(USER_SPEND_PRIVATE))
    report = fetch_queue(reader, deps.rules, deps.usage_source, command.grouping, now)
    return Reply(*queue_blocks(report, users=users_ok), response_type)
