"""Budget actions as Slack messages (pure): the proposal with its confirmed button, what the
click did, the way back (*Resubmit*) and the audit trail.

A button's ``value`` carries the proposal's id and nothing else: the jobs to cancel are listed
from IonQ when an approver clicks, never read from the click. Every name from IonQ or a policy
(group, job, rule, approvers) is escaped; people budgetbot knows by Slack id are mentioned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .alert_blocks import _when
from .alert_blocks import _who as _person
from .block_kit import Block, _context, _fallback, _plain, _section, _within_limits
from .slack_text import (
    MAX_BUTTON,
    MAX_CONFIRM_BUTTON,
    MAX_CONFIRM_TEXT,
    MAX_CONFIRM_TITLE,
    MAX_NAME,
    MAX_SECTION,
    MAX_VALUE,
    cut,
    escape,
    escape_cut,
    lines_within,
)
from .text import money

if TYPE_CHECKING:  # the model's package holds the service too: its edges stay out of render/
    from budgetbot.actions.model import AuditEntry, JobOutcome, Outcome, Proposal

__all__ = [
    "ACTION_BUTTONS_BLOCK",
    "APPROVE_ACTION",
    "RESUBMIT_ACTION",
    "audit_message",
    "outcome_message",
    "proposal_message",
    "read_proposal_value",
    "resubmitted_note",
]

#: Action ids of the proposal's buttons (``slack/listeners/budget_actions.py`` listens to them).
APPROVE_ACTION = "budgetbot_action_approve"
RESUBMIT_ACTION = "budgetbot_action_resubmit"
ACTION_BUTTONS_BLOCK = "budgetbot_action_buttons"
#: What a proposal id looks like: short, plain (it is all a button carries).
_PROPOSAL_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
#: Jobs named one by one in a message before the rest are counted.
MAX_JOB_LINES = 20


def read_proposal_value(value: object) -> str | None:
    """The proposal id a button carries, or None when the value is not one."""
    if not isinstance(value, str) or len(value) > MAX_VALUE or not _PROPOSAL_ID.match(value):
        return None
    return value


def _who(user: str | None) -> str:
    """A Slack user as a mention; budgetbot's own steps and automatic approval in words."""
    if user is None:
        return "budgetbot"
    if user == "automatic":
        return "automatic approval"
    return _person(user)


def _code(text: str, limit: int) -> str:
    """Policy or IonQ text in a code span: escaped, and no backtick to break out of it."""
    safe = escape_cut(text.replace("`", "'"), limit)
    return f"`{safe}`"


def _jobs(count: int) -> str:
    return f"{count} queued job{'' if count == 1 else 's'}"


def _amount(p: Proposal) -> str:
    return "" if p.amount_usd is None else f" ({money(p.amount_usd)} estimated)"


def _summary(p: Proposal) -> str:
    """ "Cancel 3 queued jobs of Quantum Chem ($640.00 estimated)", the name escaped."""
    return f"Cancel {_jobs(p.jobs)} of {escape_cut(p.group_name, MAX_NAME)}{_amount(p)}"


def _button(label: str, action_id: str, value: str, confirm: Block) -> Block:
    return {
        "type": "button",
        "text": _plain(label, MAX_BUTTON),
        "action_id": action_id,
        "value": value,
        "style": "danger" if action_id == APPROVE_ACTION else "primary",
        "confirm": confirm,
    }


def _confirm(title: str, text: str, yes: str, no: str) -> Block:
    """A Block Kit confirm dialog: Slack asks before the click is sent."""
    return {
        "title": _plain(title, MAX_CONFIRM_TITLE),
        "text": _plain(text, MAX_CONFIRM_TEXT),
        "confirm": _plain(yes, MAX_CONFIRM_BUTTON),
        "deny": _plain(no, MAX_CONFIRM_BUTTON),
        "style": "danger",
    }


def _approve_button(p: Proposal) -> Block | None:
    value = read_proposal_value(p.id)
    if value is None:
        return None
    # Escaped like every name, plain text included (as the alert's header is).
    text = (
        f"Cancel {_jobs(p.jobs)} of {escape_cut(p.group_name, 100)}{_amount(p)}? Jobs already"
        " running are not touched; the queue is read from IonQ again when you confirm."
    )
    confirm = _confirm("Cancel queued jobs?", text, f"Cancel {_jobs(p.jobs)}", "Keep them")
    return _button("Cancel the queued jobs", APPROVE_ACTION, value, confirm)


def _resubmit_button(o: Outcome) -> Block | None:
    value = read_proposal_value(o.proposal_id)
    if value is None:
        return None
    count = len(o.cancelled)
    text = f"Re-queue the {count} cancelled job{'' if count == 1 else 's'} as new jobs (clones)?"
    confirm = _confirm("Resubmit the jobs?", text, "Resubmit", "Not now")
    return _button("Resubmit", RESUBMIT_ACTION, value, confirm)


def _buttons(*buttons: Block | None) -> list[Block]:
    elements = [b for b in buttons if b is not None]
    if not elements:
        return []
    return [{"type": "actions", "block_id": ACTION_BUTTONS_BLOCK, "elements": elements}]


def _facts(p: Proposal) -> str:
    approvers = ", ".join(_code(a, 80) for a in p.approvers)
    parts = [
        f"Policy {_code(p.rule, 100)} at {escape(p.level_text)}%"
        f" ({'committed spend' if p.kind == 'committed' else 'spend'})",
        f"approvers: {approvers}" if approvers else "",
        f"expires {_when(p.expires_at)}",
    ]
    return " · ".join(x for x in parts if x)


def proposal_message(p: Proposal) -> tuple[str, list[Block]]:
    """The proposal, in the alert's thread: what would be cancelled, and the approve button
    behind a confirm dialog that repeats the count and the amount."""
    summary = _summary(p)
    blocks: list[Block] = [_section(f":octagonal_sign: *{summary}*"), _context([_facts(p)])]
    if p.mode == "dry-run":
        blocks.append(
            _context(
                [
                    "Dry run (BUDGETBOT_ACTIONS=dry-run): approving shows what would be"
                    " cancelled; nothing is."
                ]
            )
        )
    if p.approval == "automatic":
        blocks.append(_context(["Automatic approval: budgetbot cancels them now."]))
    else:
        blocks += _buttons(_approve_button(p))
    return _fallback(f"Proposal: {summary}"), _within_limits(blocks)


def _job_line(j: JobOutcome) -> str:
    label = escape_cut(j.label, 100)
    estimate = "" if j.estimate_usd is None else f" ({money(j.estimate_usd)} estimated)"
    if j.result == "cancelled" or j.result == "would_cancel":
        return f"• {label}{estimate}"
    why = {"started": "already started", "gone": "no longer queued"}.get(j.result, "")
    reason = escape_cut(j.reason, 200) if j.reason else why
    return f"• {label}: {reason or escape(j.result)}"


def _job_section(title: str, jobs: Sequence[JobOutcome]) -> list[Block]:
    if not jobs:
        return []
    text, _ = lines_within([_job_line(j) for j in jobs], MAX_SECTION, head=title, unit="jobs")
    return [_section(text)]


def _group(o: Outcome) -> str:
    return escape_cut(o.proposal.group_name, MAX_NAME) if o.proposal else "the group"


def outcome_message(o: Outcome) -> tuple[str, list[Block]]:
    """The proposal's message once a click has done something: what was cancelled, by whom and
    when, what could not be (already started), the *Resubmit* button while there is a way back;
    a dry run's list; an expired proposal; a failure to retry."""
    group = _group(o)
    by, at = _who(o.approved_by), _when(o.approved_at) if o.approved_at else ""
    blocks: list[Block] = []
    buttons: list[Block | None] = []
    if o.state == "done":
        n = len(o.cancelled)
        head = f":white_check_mark: *Cancelled {_jobs(n)} of {group}*, approved by {by} ({at})"
        blocks.append(_section(head))
        blocks += _job_section("*Cancelled*", o.cancelled)
        blocks += _job_section("*Not cancelled*", o.not_cancelled)
        if o.resubmit == "done":
            when = _when(o.resubmitted_at) if o.resubmitted_at else ""
            blocks.append(
                _context(
                    [
                        f":leftwards_arrow_with_hook: Resubmitted by {_who(o.resubmitted_by)}"
                        f" ({when}): the cancelled jobs are queued again as new jobs."
                    ]
                )
            )
        elif o.can_resubmit:
            buttons.append(_resubmit_button(o))
        text = f"Cancelled {_jobs(n)} of {group}, approved by {by}"
    elif o.state == "dry_run":
        would = [j for j in o.jobs if j.result == "would_cancel"]
        head = (
            f":test_tube: *Dry run: would cancel {_jobs(len(would))} of {group}*"
            f" (approved by {by}, {at}); nothing was cancelled (BUDGETBOT_ACTIONS=dry-run)."
        )
        blocks.append(_section(head))
        blocks += _job_section("*Would cancel*", would)
        blocks += _job_section("*Would not cancel*", o.not_cancelled)
        text = f"Dry run: would cancel {_jobs(len(would))} of {group}"
    elif o.state == "expired":
        expired = o.proposal.expires_at if o.proposal else None
        since = f" on {_when(expired)}" if expired else ""
        summary = _summary(o.proposal) if o.proposal else "This proposal"
        blocks.append(_section(f"~{summary}~"))
        blocks.append(
            _context([f":hourglass: Expired{since}: the period is over, so nothing was cancelled."])
        )
        text = "This proposal has expired: nothing was cancelled."
    else:  # failed: the message says why; the button stays so a click retries
        head = f":warning: {escape_cut(o.message, 1000)}"
        if o.proposal is not None:
            blocks.append(_section(f":octagonal_sign: *{_summary(o.proposal)}*"))
            buttons.append(_approve_button(o.proposal))
        blocks.append(_context([head]))
        text = cut(escape(o.message), 300)
    blocks += _buttons(*buttons)
    return _fallback(text), _within_limits(blocks)


def resubmitted_note(o: Outcome) -> tuple[str, list[Block]]:
    """The thread's reply once the cancelled jobs are re-queued: how many, by whom, the new
    jobs, and any that could not be cloned."""
    group = _group(o)
    cloned = [j for j in o.cancelled if j.clone_id]
    failed = [j for j in o.cancelled if not j.clone_id]
    when = f" ({_when(o.resubmitted_at)})" if o.resubmitted_at else ""
    n = len(cloned)
    head = (
        f":leftwards_arrow_with_hook: *Resubmitted {n} job{'' if n == 1 else 's'} of {group}*"
        f" by {_who(o.resubmitted_by)}{when}: queued again as new jobs."
    )
    lines = [f"• {escape_cut(j.label, 100)} → {_code(j.clone_id or '', 64)}" for j in cloned]
    blocks = [_section(head)]
    if lines:
        blocks.append(_section(lines_within(lines, MAX_SECTION, unit="jobs")[0]))
    if failed:
        why = [
            f"• {escape_cut(j.label, 100)}: {escape_cut(j.clone_error or '?', 200)}" for j in failed
        ]
        blocks.append(_section(lines_within(why, MAX_SECTION, head="*Not resubmitted*")[0]))
    return _fallback(f"Resubmitted {n} jobs of {group}"), _within_limits(blocks)


def _audit_line(e: AuditEntry) -> str:
    parts = [
        _when(e.at),
        f"*{escape(e.event.replace('_', ' '))}*",
        _code(e.rule, 60),
        escape_cut(e.group_name, 80),
    ]
    if e.by_user:
        parts.append(f"by {_who(e.by_user)}")
    if e.job_id:
        parts.append(f"job {_code(e.job_id, 64)}")
    if e.detail:
        parts.append(escape_cut(e.detail, 300))
    return " · ".join(parts)


def audit_message(entries: Sequence[AuditEntry]) -> tuple[str, list[Block]]:
    """The audit trail, newest first (as given), as many entries as one message holds."""
    if not entries:
        text = "No budget action has been proposed yet: the audit trail is empty."
        return _fallback(text), [_section(text)]
    lines = [_audit_line(e) for e in entries]
    body, shown = lines_within(
        lines, MAX_SECTION, head="*Budget actions, newest first*", unit="entries"
    )
    blocks = [_section(body)]
    if shown < len(entries):
        blocks.append(_context(["The rest: `budgetbot audit` (add `--json` for all of it)."]))
    return _fallback(f"Budget actions audit: {len(entries)} entries"), _within_limits(blocks)
