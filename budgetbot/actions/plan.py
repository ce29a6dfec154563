"""Which proposals a cycle makes, and which of a group's jobs an action acts on (pure).

A proposal is made when a decision records (fires) a level of kind ``spend`` or ``committed``
at which the policy has an action; a decision that fires several such levels at once proposes
the highest. The levels a decision records are those not fired before, so a level proposes once;
the proposal's id (one per policy, group, period, kind and level) makes sure of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final

from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.rules.findings import ALL_GROUPS, Finding, level_text
from budgetbot.rules.models import Action, Policy
from budgetbot.rules.targets import matches

from .model import ActionMode, Proposal, proposal_id

__all__ = [
    "ACTION_KINDS",
    "CANCELLABLE",
    "action_at",
    "cancellable",
    "groups_of",
    "in_groups",
    "proposal_key",
    "proposals_for",
]

#: The finding kinds an action may follow (its ``of``).
ACTION_KINDS: Final = ("spend", "committed")
#: The statuses an action cancels; a ``started`` job is reported, never cancelled.
CANCELLABLE: Final = ("submitted", "ready")


def action_at(policy: Policy, kind: str, level: Decimal) -> Action | None:
    """The policy's action at ``level`` of ``kind``, if it has one."""
    for action in policy.actions:
        if action.of == kind and action.at == level:
            return action
    return None


def groups_of(
    finding: Finding, policy: Policy, names: Mapping[str, str], queue: QueueSnapshot | None
) -> tuple[str, ...]:
    """The project ids (or submitter ids) whose jobs the action acts on: the finding's group, or,
    for a policy counting several groups together, every known group its globs match."""
    if finding.group_key != ALL_GROUPS:
        return (finding.group_key,)
    known = dict(names)
    if queue is not None:
        known.update({k: v for k, v in queue.names.items() if k not in known})
        for job in queue.jobs:
            key = job.project_id if policy.scope == "project" else job.submitter_id
            if key is not None:
                known.setdefault(key, key)
    return tuple(sorted(k for k, name in known.items() if matches(policy.match, k, name)))


def in_groups(job: QueuedJob, scope: str, groups: Iterable[str]) -> bool:
    """Whether ``job`` belongs to one of ``groups`` of ``scope``."""
    key = job.project_id if scope == "project" else job.submitter_id
    return key is not None and key in set(groups)


def cancellable(
    jobs: Iterable[QueuedJob], scope: str, groups: Sequence[str]
) -> tuple[QueuedJob, ...]:
    """The jobs of ``groups`` an action would cancel: those ``submitted`` or ``ready``."""
    wanted = set(groups)
    return tuple(j for j in jobs if j.status in CANCELLABLE and in_groups(j, scope, wanted))


def _amount(jobs: Sequence[QueuedJob]) -> Decimal | None:
    total = Decimal(0)
    for job in jobs:
        if job.estimate_usd is None:
            return None
        total += job.estimate_usd
    return total


def proposals_for(
    reached: Sequence[tuple[Finding, Sequence[str]]],
    policies: Mapping[str, Policy],
    names: Mapping[str, Mapping[str, str]],
    queue: QueueSnapshot | None,
    now: dt.datetime,
    mode: ActionMode,
) -> list[Proposal]:
    """The proposals made by ``reached``: each finding with the levels it fires now (a
    decision's ``record``); none when ``mode`` is ``off``.

    ``names`` are the known groups of each scope (id → name, from the store); ``queue`` is the
    cycle's snapshot, which gives the count and estimate of the cancellable jobs (without it the
    count is 0 and the amount unknown: the action lists the jobs from IonQ when it runs).
    """
    if mode == "off":
        return []
    out: list[Proposal] = []
    for finding, levels in reached:
        policy = policies.get(finding.rule)
        if policy is None or finding.kind not in ACTION_KINDS:
            continue
        acting = [
            (Decimal(level), action)
            for level in levels
            if (action := action_at(policy, finding.kind, Decimal(level))) is not None
        ]
        if not acting:
            continue
        level, action = max(acting, key=lambda pair: pair[0])
        groups = groups_of(finding, policy, names.get(policy.scope, {}), queue)
        jobs = () if queue is None else cancellable(queue.jobs, policy.scope, groups)
        out.append(
            Proposal(
                id=proposal_id(
                    finding.rule, finding.group_key, finding.period, finding.kind, level
                ),
                rule=finding.rule,
                scope=policy.scope,
                group_key=finding.group_key,
                group_name=finding.group_name,
                groups=groups,
                period=finding.period,
                kind=finding.kind,
                level=level,
                approval=action.approval,
                approvers=tuple(action.approvers),
                mode=mode,
                thread_key=finding.thread_key,
                channel=finding.channel,
                created_at=now,
                expires_at=dt.datetime.combine(finding.period_end, dt.time(), dt.UTC),
                jobs=len(jobs),
                amount_usd=_amount(jobs) if queue is not None else None,
            )
        )
    return out


def proposal_key(proposal: Proposal) -> str:
    """The outbox key of a proposal's message in its thread."""
    return f"{proposal.thread_key}|action|{proposal.kind}|{level_text(proposal.level)}"
