"""The check cycle's part in budget actions: propose, record the proposals with the alerts, carry
out automatic ones, resume interrupted ones, and post what they did in their threads.

The proposals are stored (one row each, by id) before the alerts and fired levels are recorded,
and their messages go into the outbox in the same transaction as the alerts, after them: a level
that is recorded as fired always has its proposal and its message, and the alert comes first in
the thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from budgetbot.actions import Outcome, Proposal
from budgetbot.actions import records as action_records
from budgetbot.actions.execute import approve_automatically, resume
from budgetbot.actions.plan import proposal_key, proposals_for
from budgetbot.store.db import Store

from .cycle import Cycle
from .outbox import ActionResultPayload, ProposalPayload, encode

__all__ = ["act", "post_outcomes", "proposal_notes", "propose"]

log = logging.getLogger("budgetbot.actions")

Row = tuple[str, str, str | None, str]


def propose(cycle: Cycle) -> bool:
    """The proposals the decisions make (a dry run lists them, then ends here)."""
    result = cycle.result
    if result.error is None and cycle.actions is not None:
        reached = [(d.finding, d.record) for d in result.decisions if d.record]
        names = {
            scope: cycle.store.group_names(scope)
            for scope in ("project", "user")
            if any(p.scope == scope and p.actions for p in cycle.rules.policies)
        }
        policies = {p.name: p for p in cycle.rules.policies if p.actions}
        if policies:
            result.proposals = proposals_for(
                reached, policies, names, cycle.queue, cycle.now, cycle.actions.mode
            )
    return not cycle.dry_run


def proposal_notes(store: Store, proposals: Sequence[Proposal], now: dt.datetime) -> list[Row]:
    """Store ``proposals`` (once each) and return their outbox rows, to be recorded with the
    alerts (``Store.record``), after them."""
    for proposal in proposals:
        action_records.add_proposal(store, proposal, now)
    return [
        (proposal_key(p), p.thread_key, p.channel, encode(ProposalPayload(p))) for p in proposals
    ]


def act(cycle: Cycle) -> bool:
    """Carry out this cycle's automatic proposals and resume interrupted actions; their
    outcomes go into their threads. A failure here is logged, never fails the cycle."""
    rt = cycle.actions
    if rt is None or rt.mode == "off":
        return True
    outcomes: list[Outcome] = []
    try:
        outcomes += resume(rt, cycle.now)
        for proposal in cycle.result.proposals:
            if proposal.approval == "automatic":
                outcomes.append(approve_automatically(rt, proposal.id, cycle.now))
    except Exception as exc:  # the store or IonQ failing here must not stop the alerts
        log.warning("budget actions not carried out this cycle: %s: %s", type(exc).__name__, exc)
    cycle.result.actions = outcomes
    post_outcomes(cycle.store, outcomes, cycle.now, cycle.destinations)
    return True


def post_outcomes(
    store: Store, outcomes: Sequence[Outcome], now: dt.datetime, destinations: Sequence[str]
) -> None:
    """Post each outcome in its proposal's thread, once per proposal and state (``done``,
    ``failed``, ``dry_run``); outcomes that did nothing new are skipped."""
    rows = [
        (f"{proposal_key(o.proposal)}|{o.state}", o.proposal.thread_key, o.proposal.channel,
         encode(ActionResultPayload(o)))
        for o in outcomes
        if o.proposal is not None and o.first and o.state in ("done", "failed", "dry_run")
    ]  # fmt: skip
    if rows:
        store.record([], rows, now, destinations=destinations)
