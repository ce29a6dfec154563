"""Budget actions through the check cycle, against the simulator over HTTP: a level with an
action proposes once (in the alert's thread, after the alert); ``automatic`` cancels once and
posts what it did; ``dry-run`` proposes and says what it would cancel; ``off`` proposes
nothing; ``check --dry-run`` lists proposals and records nothing."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from budgetbot.actions import records as action_records
from budgetbot.actions.execute import approve
from budgetbot.alerts.console import ConsoleNotifier
from budgetbot.alerts.outbox import ActionResultPayload, AlertPayload, ProposalPayload, decode
from budgetbot.alerts.pipeline import run_check
from budgetbot.cli.cycle_output import print_cycle
from budgetbot.ionq import GroupBy
from budgetbot.queue.reader import IonQQueueReader
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.usage import UsageSource
from tests.actions.support import ACT_NOW, CHEM, World

LATER = ACT_NOW + dt.timedelta(minutes=15)


def rules(w: World, approval: str) -> PolicySet:
    chem = w.org.project(CHEM)
    spent = w.org.truth(GroupBy.PROJECT, dt.date(2026, 11, 1), dt.date(2026, 11, 21))[chem.id]
    action: dict[str, Any] = {"at": 100, "approval": approval}
    if approval == "manual":
        action["approvers"] = ["@lab-managers"]
    policy = Policy.model_validate(
        {
            "name": "chem-cap",
            "scope": "project",
            "match": [CHEM],
            "each": True,
            "budget": {"usd": (spent.amount / 2).quantize(Decimal(1))},  # 200% spent
            "alert_at": [50, 100],
            "channel": "#quantum-spend",
            "actions": [action],
        }
    )
    return PolicySet(policies=(policy,))


def cycle(w: World, approval: str, mode: str = "on", at: dt.datetime = ACT_NOW, **kw: Any) -> Any:
    w.sim.now = at
    out = io.StringIO()
    result = run_check(
        rules(w, approval),
        UsageSource(w.clients[0]),
        w.store,
        [ConsoleNotifier(out)],
        at,
        queue_reader=IonQQueueReader(w.clients, w.store),
        actions=w.runtime(mode),
        **kw,
    )
    return result, out.getvalue()


def payloads(w: World) -> list[Any]:
    return [type(decode(n.payload)) for n in w.store.notifications()]


def test_automatic_cancels_once_and_posts_what_it_did(w: World) -> None:
    wanted = w.cancellable()
    first, printed = cycle(w, "automatic")

    [proposal] = first.proposals
    assert proposal.approval == "automatic" and proposal.level == 100
    assert proposal.groups == (w.org.project(CHEM).id,)
    assert proposal.jobs == len(wanted) and proposal.amount_usd is not None
    [done] = first.actions
    assert done.state == "done" and done.first and done.approved_by == "automatic"
    assert {j.job_id for j in done.cancelled} == wanted
    assert w.cancel_requests() == 1
    # The alert first, its proposal in its thread, then what the action did.
    assert payloads(w) == [AlertPayload, ProposalPayload, ActionResultPayload]
    assert len({n.thread_key for n in w.store.notifications()}) == 1
    assert f"ACTION chem-cap: Cancel {len(wanted)} queued jobs of {CHEM} ($" in printed
    assert "done at once (automatic)" in printed
    assert f"ACTION RESULT Cancelled {len(wanted)} queued jobs of {CHEM}" in printed
    assert "approved automatically" in printed

    again, _ = cycle(w, "automatic", at=LATER)
    assert again.proposals == [] and again.actions == []
    assert w.cancel_requests() == 1
    assert len(w.store.notifications()) == 3


def test_manual_proposes_once_and_waits_for_an_approver(w: World) -> None:
    wanted = w.cancellable()
    first, printed = cycle(w, "manual")
    [proposal] = first.proposals
    assert first.actions == [] and w.cancel_requests() == 0
    assert "approvers: @lab-managers" in printed
    stored = action_records.load(w.store, proposal.id)
    assert stored is not None and stored.state == "proposed" and stored.proposal == proposal
    assert proposal.expires_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert cycle(w, "manual", at=LATER)[0].proposals == []
    w.sim.now = ACT_NOW
    done = approve(w.runtime(), proposal.id, "U0APPROVER", ACT_NOW)
    assert {j.job_id for j in done.cancelled} == wanted and w.cancel_requests() == 1


def test_dry_run_proposes_and_reports_but_never_cancels(w: World) -> None:
    wanted = w.cancellable()
    first, printed = cycle(w, "automatic", mode="dry-run")
    [proposal] = first.proposals
    assert proposal.mode == "dry-run"
    [would] = first.actions
    assert would.state == "dry_run"
    assert {j.job_id for j in would.jobs if j.result == "would_cancel"} == wanted
    assert "[dry run: nothing will be cancelled]" in printed
    assert "ACTION RESULT Dry run (BUDGETBOT_ACTIONS=dry-run): would cancel" in printed
    cycle(w, "automatic", mode="dry-run", at=LATER)
    assert w.cancel_requests() == 0 and w.cancellable() == wanted


def test_off_proposes_nothing_and_cancels_nothing(w: World) -> None:
    first, printed = cycle(w, "automatic", mode="off")
    assert first.proposals == [] and first.actions == []
    assert payloads(w) == [AlertPayload]
    assert "ACTION" not in printed
    assert w.cancel_requests() == 0


def test_a_dry_run_check_lists_proposals_and_records_nothing(w: World, capsys) -> None:
    result, _ = cycle(w, "manual", dry_run=True)
    [proposal] = result.proposals
    print_cycle(result, ACT_NOW, dry_run=True)
    shown = capsys.readouterr().out
    assert f"ACTION chem-cap: {proposal.summary}" in shown
    assert "approvers: @lab-managers" in shown and "-> would propose" in shown
    assert proposal.summary.startswith(f"Cancel {len(w.cancellable())} queued jobs of {CHEM}")
    assert action_records.load(w.store, proposal.id) is None
    assert w.store.notifications() == [] and w.cancel_requests() == 0
