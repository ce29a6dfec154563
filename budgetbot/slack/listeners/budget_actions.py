"""The budget action buttons: *Cancel the queued jobs* on a proposal, and *Resubmit* after it.

A click is a signed ``block_actions`` request like any other (verified before anything here
runs). The listener ``ack()``s at once, so Slack's 3 seconds never wait on IonQ; then, on its
worker thread:

1. reads the proposal id from the button (its only content: the jobs are never taken from it)
   and the proposal from the store;
2. checks the clicker against the action's ``approvers`` in Slack, now
   (:mod:`budgetbot.slack.approvers`). Not an approver (or Slack could not tell): an ephemeral
   refusal, the refusal audited, nothing else;
3. calls the action service (:func:`budgetbot.actions.approve` or
   :func:`budgetbot.actions.resubmit`), which leases and records the action before IonQ is
   called, so a second click, two approvers at once or a retried request act once;
4. rewrites the proposal's message with what happened (``chat.update``): what was cancelled, by
   whom, when, what could not be, the *Resubmit* button; an expired proposal says so. A resubmit
   also says so in the thread. A click that finds the action already under way, or nothing to
   do, gets an ephemeral sentence and leaves the message to the click doing the work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.actions import Outcome
from budgetbot.actions.execute import approve, load_outcome, record_refusal, resubmit
from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.render.action_blocks import (
    APPROVE_ACTION,
    RESUBMIT_ACTION,
    outcome_message,
    read_proposal_value,
    resubmitted_note,
)
from budgetbot.slack.approvers import Verdict, check_approver
from budgetbot.slack.deliver import post_message, update_message
from budgetbot.slack.deps import Deps
from budgetbot.slack.replies import (
    ACTION_IN_PROGRESS,
    ACTIONS_OFF,
    NO_ACTIONS,
    UNKNOWN_PROPOSAL,
    not_an_approver,
)

__all__ = ["BUDGET_ACTIONS", "ActionClick", "handle_budget_action", "read_action_click", "register"]

log = logging.getLogger("budgetbot.slack.budget_actions")

#: The buttons this module answers.
BUDGET_ACTIONS = (APPROVE_ACTION, RESUBMIT_ACTION)
#: Outcomes that change nothing on the message: the clicker alone is told.
_EPHEMERAL = {"unknown": UNKNOWN_PROPOSAL, "off": ACTIONS_OFF, "in_progress": ACTION_IN_PROGRESS}


@dataclass(frozen=True)
class ActionClick:
    """A click on a budget action button: which button, which proposal, who, on which message."""

    action_id: str
    proposal_id: str
    user: str
    channel: str | None
    ts: str | None
    #: The thread the message is in (the alert's), else the message itself.
    thread_ts: str | None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def read_action_click(body: Mapping[str, Any]) -> ActionClick | None:
    """The click in a ``block_actions`` body, or None when it is not on a budget action button
    whose value is a proposal id. Total: never raises."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action_id = actions[0].get("action_id")
    proposal = read_proposal_value(actions[0].get("value"))
    user = _dict(body.get("user")).get("id")
    if action_id not in BUDGET_ACTIONS or proposal is None or not isinstance(user, str) or not user:
        return None
    container, message = _dict(body.get("container")), _dict(body.get("message"))
    channel = container.get("channel_id") or _dict(body.get("channel")).get("id")
    ts = container.get("message_ts") or message.get("ts")
    thread = container.get("thread_ts") or message.get("thread_ts") or ts
    return ActionClick(
        str(action_id),
        proposal,
        user,
        str(channel) if channel else None,
        str(ts) if ts else None,
        str(thread) if thread else None,
    )


def _tell(client: WebClient, respond: Respond, click: ActionClick, text: str) -> None:
    """An ephemeral sentence for the clicker alone, in the thread; response_url if that fails."""
    if click.channel is not None:
        try:
            client.chat_postEphemeral(
                channel=click.channel, user=click.user, text=text, thread_ts=click.thread_ts
            )
            return
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning(
                "chat.postEphemeral failed (%s): answering at response_url", type(exc).__name__
            )
    respond(text=text, response_type="ephemeral", replace_original=False)


def _show(client: WebClient, click: ActionClick, outcome: Outcome, logger: logging.Logger) -> None:
    """The proposal's message rewritten with the outcome."""
    if click.channel is None or click.ts is None:
        return
    text, blocks = outcome_message(outcome)
    try:
        update_message(client, click.channel, click.ts, text, blocks)
    except DeliveryError as exc:
        logger.warning("proposal %s: the message was not updated: %s", outcome.proposal_id, exc)


def _say_resubmitted(
    client: WebClient, click: ActionClick, outcome: Outcome, logger: logging.Logger
) -> None:
    if click.channel is None or click.thread_ts is None:
        return
    text, blocks = resubmitted_note(outcome)
    try:
        post_message(client, click.channel, text, blocks, thread_ts=click.thread_ts)
    except DeliveryError as exc:
        logger.warning("proposal %s: the resubmit was not said: %s", outcome.proposal_id, exc)


def _refused(verdict: Verdict) -> str:
    """What the audit keeps of a refusal."""
    if verdict.unanswered:
        return "approvers could not be checked: " + "; ".join(verdict.unanswered)
    return "not an approver"


def handle_budget_action(
    body: Mapping[str, Any],
    ack: Ack,
    client: WebClient,
    respond: Respond,
    deps: Deps,
    logger: logging.Logger = log,
) -> None:
    """One click on a budget action button: acknowledge, check the clicker, act, show."""
    ack()
    click = read_action_click(body)
    if click is None:
        logger.warning("ignored a click: not a budget action button")
        return
    if deps.actions is None:
        _tell(client, respond, click, NO_ACTIONS)
        return
    rt = deps.actions()
    now = deps.now()
    known = load_outcome(rt.store, click.proposal_id).proposal
    if known is None:
        _tell(client, respond, click, UNKNOWN_PROPOSAL)
        return
    verdict = check_approver(client, click.user, known.approvers)
    if not verdict.approved:
        logger.info(
            "%s on %s by %s refused: %s",
            click.action_id,
            click.proposal_id,
            click.user,
            _refused(verdict),
        )
        record_refusal(rt.store, click.proposal_id, click.user, now, reason=_refused(verdict))
        _tell(client, respond, click, not_an_approver(verdict.unanswered))
        return
    logger.info(
        "%s on %s by %s (approver via %s)",
        click.action_id,
        click.proposal_id,
        click.user,
        verdict.via,
    )
    if click.action_id == APPROVE_ACTION:
        outcome = approve(rt, click.proposal_id, click.user, now)
    else:
        outcome = resubmit(rt, click.proposal_id, click.user, now)
    # Another click is at it: its own update will show the result (one from here could land
    # after it and hide it).
    state = "in_progress" if outcome.resubmit == "in_progress" else outcome.state
    if state in _EPHEMERAL:
        _tell(client, respond, click, _EPHEMERAL[state])
        return
    _show(client, click, outcome, logger)
    if click.action_id == RESUBMIT_ACTION and outcome.first and outcome.resubmit == "done":
        _say_resubmitted(client, click, outcome, logger)
    elif outcome.state == "failed" or (
        click.action_id == RESUBMIT_ACTION and outcome.resubmit == "failed"
    ):
        _tell(client, respond, click, outcome.message)


def only_action_buttons(
    body: dict[str, Any], next: Callable[[], BoltResponse | None]
) -> BoltResponse | None:
    """Listener middleware: a click :func:`read_action_click` cannot read is 400, before any
    ``ack()``."""
    if read_action_click(body) is None:
        log.warning("refused a click: not a budget action button (400)")
        return BoltResponse(status=400, body="Not a budgetbot action button.")
    return next()


def register(app: App, deps: Deps) -> None:
    """Bind the budget action buttons to :func:`handle_budget_action`."""

    def action_button(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, logger: logging.Logger
    ) -> None:
        handle_budget_action(body, ack, client, respond, deps, logger)

    for action_id in BUDGET_ACTIONS:
        app.action(action_id, middleware=[only_action_buttons])(action_button)
