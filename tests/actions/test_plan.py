"""Which proposals a cycle makes (pure): a fired level with an action proposes once, the highest
of several at once; the group is the finding's, or every known group a combined policy matches;
the count and amount come from the queue snapshot."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from budgetbot.actions.plan import cancellable, proposals_for
from budgetbot.queue.model import QueuedJob, QueueSnapshot
from budgetbot.rules.findings import ALL_GROUPS
from budgetbot.rules.models import Policy
from tests.slack.conftest import make_finding

NOW = dt.datetime(2026, 11, 20, 19, tzinfo=dt.UTC)


def policy(**changes: Any) -> Policy:
    base: dict[str, Any] = {
        "name": "chem-monthly",
        "scope": "project",
        "budget": {"usd": 5000},
        "alert_at": [50, 80, 100],
        "actions": [
            {"at": 80, "approvers": ["U1"]},
            {"at": 100, "approval": "automatic"},
        ],
    }
    return Policy.model_validate({**base, **changes})


def job(i: int, project: str, status: str = "ready", usd: str | None = "10.00") -> QueuedJob:
    return QueuedJob(
        id=f"j{i}",
        status=status,
        project_id=project,
        submitter_id=f"u{i % 2}",
        estimate_usd=None if usd is None else Decimal(usd),
    )


def snapshot(*jobs: QueuedJob) -> QueueSnapshot:
    return QueueSnapshot(at=NOW, jobs=jobs, covered=frozenset(), names={"p-bio": "Biology"})


def test_the_highest_acting_level_fired_now_proposes() -> None:
    p = policy()
    queue = snapshot(job(1, "p-chem"), job(2, "p-chem", "started"), job(3, "p-bio"))
    finding = make_finding(level=Decimal(100))
    [made] = proposals_for([(finding, ("80", "100"))], {p.name: p}, {}, queue, NOW, "on")
    assert (made.level, made.approval, made.groups) == (Decimal(100), "automatic", ("p-chem",))
    assert (made.jobs, made.amount_usd) == (1, Decimal("10.00"))
    assert made.summary == "Cancel 1 queued job of Quantum Chem ($10.00 estimated)"
    assert made.expires_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert made.thread_key == finding.thread_key and made.created_at == NOW
    # Only levels with an action, of the action's kind, fired now.
    assert proposals_for([(finding, ("50",))], {p.name: p}, {}, queue, NOW, "on") == []
    forecast = make_finding(kind="forecast", level=Decimal(100))
    assert proposals_for([(forecast, ("100",))], {p.name: p}, {}, queue, NOW, "on") == []
    assert proposals_for([(finding, ("100",))], {p.name: p}, {}, queue, NOW, "off") == []


def test_without_a_snapshot_the_amount_is_unknown_and_credits_make_it_unknown() -> None:
    p = policy()
    finding = make_finding(level=Decimal(80))
    [blind] = proposals_for([(finding, ("80",))], {p.name: p}, {}, None, NOW, "dry-run")
    assert (blind.jobs, blind.amount_usd, blind.mode) == (0, None, "dry-run")
    assert blind.summary == "Cancel 0 queued jobs of Quantum Chem"
    credits = snapshot(job(1, "p-chem"), job(2, "p-chem", usd=None))
    [partial] = proposals_for([(finding, ("80",))], {p.name: p}, {}, credits, NOW, "on")
    assert (partial.jobs, partial.amount_usd) == (2, None)


def test_a_combined_policy_acts_on_every_known_group_it_matches() -> None:
    p = policy(match=["Bio*", "Chem*"])
    finding = make_finding(group_key=ALL_GROUPS, group_name="Bio*, Chem*", level=Decimal(80))
    names = {"project": {"p-chem": "Chemistry", "p-phys": "Physics"}}
    queue = snapshot(job(1, "p-bio"), job(2, "p-chem"), job(3, "p-phys"))
    [made] = proposals_for([(finding, ("80",))], {p.name: p}, names, queue, NOW, "on")
    assert made.groups == ("p-bio", "p-chem")
    assert made.jobs == 2


@given(
    statuses=st.lists(st.sampled_from(["submitted", "ready", "started"]), max_size=12),
    projects=st.lists(st.sampled_from(["a", "b", "c"]), min_size=12, max_size=12),
)
def test_law_an_action_cancels_only_queued_jobs_of_its_groups(
    statuses: list[str], projects: list[str]
) -> None:
    jobs = [job(i, projects[i], s) for i, s in enumerate(statuses)]
    chosen = cancellable(jobs, "project", ["a", "b"])
    assert all(j.status in ("submitted", "ready") and j.project_id in "ab" for j in chosen)
    assert len(chosen) == sum(
        s != "started" and projects[i] in "ab" for i, s in enumerate(statuses)
    )
