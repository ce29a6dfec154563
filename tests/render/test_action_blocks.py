"""Budget actions in Slack (pure): the proposal and its confirmed button, what a click did, the
way back and the audit trail; names escaped and every message within Block Kit's limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given

from budgetbot.actions.model import AuditEntry, JobOutcome, Outcome, Proposal
from budgetbot.render.action_blocks import (
    APPROVE_ACTION,
    RESUBMIT_ACTION,
    audit_message,
    outcome_message,
    proposal_message,
    read_proposal_value,
    resubmitted_note,
)
from tests.fakes.slack_api import block_kit_errors, iter_blocks_text
from tests.render.test_limits import LAW, assert_message, names

AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def proposal(**changes: Any) -> Proposal:
    base: dict[str, Any] = {
        "id": "p-0123456789abcdef0123",
        "rule": "chem-month",
        "scope": "project",
        "group_key": "p-chem",
        "group_name": "Quantum Chem",
        "groups": ("p-chem",),
        "period": "2026-11",
        "kind": "committed",
        "level": Decimal(100),
        "approval": "manual",
        "approvers": ("@lab-managers", "U0123ABCD", "alice@example.org"),
        "thread_key": "chem-month|p-chem|2026-11",
        "channel": "#quantum-chem",
        "created_at": AT,
        "expires_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "jobs": 3,
        "amount_usd": Decimal("640.00"),
    }
    return Proposal(**(base | changes))


def job(label: str, result: str, **changes: Any) -> JobOutcome:
    base: dict[str, Any] = {"job_id": f"id-{label}", "label": label, "status": "ready"}
    return JobOutcome(**(base | {"result": result} | changes))


def outcome(**changes: Any) -> Outcome:
    base: dict[str, Any] = {
        "proposal_id": "p-0123456789abcdef0123",
        "state": "done",
        "first": True,
        "proposal": proposal(),
        "approved_by": "U0ALICE",
        "approved_at": AT,
        "finished_at": AT,
        "jobs": (
            job("vqe-1", "cancelled", estimate_usd=Decimal("200.00")),
            job("vqe-2", "cancelled", estimate_usd=Decimal("440.00")),
            job("qaoa-9", "started", status="started"),
        ),
        "message": "Cancelled 2 queued jobs; 1 had already started.",
    }
    return Outcome(**(base | changes))


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def text_of(text: str, blocks: list[dict[str, Any]]) -> str:
    return " ".join([text, *iter_blocks_text(blocks)])


def test_proposal_says_what_and_asks_before_the_click() -> None:
    text, blocks = proposal_message(proposal())
    assert "Cancel 3 queued jobs of Quantum Chem ($640.00 estimated)" in text
    assert "Cancel 3 queued jobs of Quantum Chem ($640.00 estimated)" in text_of(text, blocks)
    (button,) = buttons(blocks)
    assert button["action_id"] == APPROVE_ACTION
    assert button["value"] == "p-0123456789abcdef0123"  # the id, never job ids
    confirm = button["confirm"]
    assert "3 queued jobs" in confirm["text"]["text"] and "$640.00" in confirm["text"]["text"]
    assert confirm["confirm"]["text"] == "Cancel 3 queued jobs"
    assert block_kit_errors(blocks) == []
    facts = text_of("", blocks)
    assert "`@lab-managers`" in facts and "expires Dec 1 00:00 UTC" in facts
    # One job, no estimate; automatic approval has no button.
    text, blocks = proposal_message(proposal(jobs=1, amount_usd=None))
    assert "Cancel 1 queued job of Quantum Chem" in text and "estimated" not in text
    _, blocks = proposal_message(proposal(approval="automatic", approvers=()))
    assert buttons(blocks) == [] and "Automatic approval" in text_of("", blocks)
    _, blocks = proposal_message(proposal(mode="dry-run"))
    assert "nothing is" in text_of("", blocks) and buttons(blocks)


def test_the_button_value_is_only_a_proposal_id() -> None:
    assert read_proposal_value("p-0123456789abcdef0123") == "p-0123456789abcdef0123"
    for bad in ('{"ids": ["j1"]}', "", "a b", "x" * 129, None, 7, "p-1;rm"):
        assert read_proposal_value(bad) is None


@LAW
@given(name=names, approver=names, label=names, rule=names)
def test_hostile_names_are_escaped_and_fit(name: str, approver: str, label: str, rule: str) -> None:
    p = proposal(group_name=name or "x", approvers=(approver,), rule=rule or "r")
    assert_message(*proposal_message(p))
    jobs = tuple(job(f"{label}{i}", "cancelled", clone_id=f"c{i}") for i in range(60))
    done = outcome(proposal=p, jobs=(*jobs, job(label, "refused", reason=label)))
    assert_message(*outcome_message(done))
    assert_message(*resubmitted_note(done.model_copy(update={"resubmit": "done"})))
    entry = AuditEntry(
        id=1,
        at=AT,
        event="refused",
        proposal_id=p.id,
        rule=rule,
        group_name=name,
        by_user=approver,
        job_id=label,
        detail=label,
    )
    assert_message(*audit_message([entry] * 80))


def test_done_says_what_by_whom_when_and_what_not() -> None:
    text, blocks = outcome_message(outcome())
    shown = text_of(text, blocks)
    assert "Cancelled 2 queued jobs of Quantum Chem" in shown
    assert "approved by <@U0ALICE> (Nov 20 12:00 UTC)" in shown
    assert "vqe-1 ($200.00 estimated)" in shown
    assert "qaoa-9: already started" in shown
    (button,) = buttons(blocks)
    assert button["action_id"] == RESUBMIT_ACTION and button["value"] == outcome().proposal_id
    assert "2 cancelled jobs" in button["confirm"]["text"]["text"]
    assert block_kit_errors(blocks) == []
    # Once resubmitted: said, and no button any more.
    again = outcome(resubmit="done", resubmitted_by="U0BOB", resubmitted_at=AT)
    text, blocks = outcome_message(again)
    assert buttons(blocks) == [] and "Resubmitted by <@U0BOB>" in text_of(text, blocks)
    note = text_of(*resubmitted_note(again))
    assert "Resubmitted 0 jobs" in note  # no clone ids recorded: nothing claimed
    cloned = again.model_copy(
        update={"jobs": (job("vqe-1", "cancelled", clone_id="new-1"), job("x", "started"))}
    )
    assert "Resubmitted 1 job of Quantum Chem* by <@U0BOB>" in text_of(*resubmitted_note(cloned))


def test_expired_failed_and_dry_run() -> None:
    text, blocks = outcome_message(outcome(state="expired", jobs=(), approved_by=None))
    assert "expired" in text and "Expired on Dec 1 00:00 UTC" in text_of(text, blocks)
    assert buttons(blocks) == []
    failed = outcome(state="failed", jobs=(), message="IonQ refused the key (403); click again.")
    text, blocks = outcome_message(failed)
    assert "IonQ refused the key (403)" in text_of(text, blocks)
    assert [b["action_id"] for b in buttons(blocks)] == [APPROVE_ACTION]  # a click retries
    dry = outcome(state="dry_run", jobs=(job("vqe-1", "would_cancel"),))
    text, blocks = outcome_message(dry)
    assert "would cancel 1 queued job" in text_of(text, blocks) and buttons(blocks) == []


def test_audit_lists_newest_first_as_given() -> None:
    text, blocks = audit_message([])
    assert "empty" in text
    entries = [
        AuditEntry(
            id=2,
            at=AT,
            event="cancelled",
            proposal_id="p",
            rule="chem-month",
            group_name="Quantum Chem",
            job_id="j-1",
        ),
        AuditEntry(
            id=1,
            at=AT - dt.timedelta(hours=1),
            event="refused",
            proposal_id="p",
            rule="chem-month",
            group_name="Quantum Chem",
            by_user="U0BOB",
            detail="not an approver",
        ),
    ]
    text, blocks = audit_message(entries)
    shown = text_of("", blocks)
    assert shown.index("*cancelled*") < shown.index("*refused*")
    assert "by <@U0BOB>" in shown and "job `j-1`" in shown and "not an approver" in shown
