"""Approving a proposal against the simulator over HTTP: exactly the group's submitted/ready jobs
are cancelled, once, however often (and however concurrently) it is approved; a started job is
reported; the operator's switch; expiry; the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import threading

from budgetbot.actions.audit import audit_entries
from budgetbot.actions.execute import approve, load_outcome, record_refusal
from tests.actions.support import ACT_NOW, CHEM, World, sim_job


def test_an_approval_cancels_exactly_the_groups_queued_jobs_once(w: World) -> None:
    before = w.queued()
    wanted = w.cancellable()
    started = {i for i, s in before.items() if s == "started"}
    assert len(wanted) == 5 and len(started) == 1
    others = {p.id: w.queued(p.id) for p in w.org.projects[1:4]}
    p = w.propose()

    first = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)

    assert first.state == "done" and first.first
    assert first.approved_by == "U0APPROVER" and first.approved_at == ACT_NOW
    assert {j.job_id for j in first.cancelled} == wanted
    assert {j.job_id: j.result for j in first.not_cancelled} == dict.fromkeys(started, "started")
    assert first.message.startswith(f"Cancelled 5 queued jobs of {CHEM}")
    assert "1 job had started and run on" in first.message
    assert w.cancel_requests() == 1  # one bulk call with every id
    [put] = w.sim.route_requests("cancel")
    assert put.method == "PUT" and put.path.endswith("/jobs/status/cancel")
    assert sorted(json.loads(put.body)["ids"]) == sorted(wanted)
    assert w.queued() == {i: s for i, s in before.items() if i in started}
    assert {p.id: w.queued(p.id) for p in w.org.projects[1:4]} == others  # untouched
    assert all(w.org.cancelled_at(i) == ACT_NOW for i in wanted)

    # A second click, another approver, a retried Slack request: the same outcome, no call.
    for user in ("U0APPROVER", "U0OTHER", "U0APPROVER"):
        again = approve(w.runtime(), p.id, user, ACT_NOW + dt.timedelta(minutes=1))
        assert again.state == "done" and not again.first
        assert again.approved_by == "U0APPROVER"
        assert {j.job_id for j in again.cancelled} == wanted
    assert w.cancel_requests() == 1
    assert load_outcome(w.store, p.id).cancelled == first.cancelled


def test_two_approvers_at_once_cancel_once(wdb: World) -> None:
    w = wdb
    p = w.propose()
    wanted = w.cancellable()
    barrier = threading.Barrier(2)
    outcomes = []

    def click(user: str) -> None:
        barrier.wait()
        outcomes.append(approve(w.runtime(), p.id, user, ACT_NOW))

    threads = [threading.Thread(target=click, args=(u,)) for u in ("U0ALICE", "U0BOB")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 2
    assert sorted(o.first for o in outcomes) == [False, True]
    winner = next(o for o in outcomes if o.first)
    loser = next(o for o in outcomes if not o.first)
    assert winner.state == "done" and {j.job_id for j in winner.cancelled} == wanted
    assert loser.state in ("in_progress", "done")
    assert loser.approved_by == winner.approved_by
    assert w.cancel_requests() == 1
    approvals = [e for e in audit_entries(w.store) if e.event == "approved"]
    assert [e.by_user for e in approvals] == [winner.approved_by]


def test_a_job_that_starts_before_the_cancel_is_reported_not_cancelled(w: World, monkeypatch):
    import budgetbot.actions.execute as execute

    p = w.propose()
    ready = sorted(i for i, s in w.queued().items() if s == "ready")
    starting = sim_job(w, ready[0])
    real_cancel = execute.cancel

    def cancel_after_a_start(client, ids):  # the job starts between listing and cancelling
        w.sim.now = starting.timeline.started_at + dt.timedelta(seconds=1)
        return real_cancel(client, ids)

    monkeypatch.setattr(execute, "cancel", cancel_after_a_start)
    outcome = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)

    assert outcome.state == "done"
    [late] = [j for j in outcome.jobs if j.job_id == starting.id]
    assert late.result == "refused" and "started" in (late.reason or "")
    assert w.org.cancelled_at(starting.id) is None
    assert starting.id not in {j.job_id for j in outcome.cancelled}
    assert len(outcome.cancelled) == 4
    assert "could not be cancelled" in outcome.message
    # The bulk call left it out; the per-job call asked once and was refused.
    assert w.cancel_requests() == 2
    audited = {(e.event, e.job_id) for e in audit_entries(w.store)}
    assert ("not_cancelled", starting.id) in audited


def test_dry_run_and_off_call_no_cancel(w: World) -> None:
    p = w.propose()
    wanted = w.cancellable()
    dry = approve(w.runtime("dry-run"), p.id, "U0APPROVER", ACT_NOW)
    assert dry.state == "dry_run"
    assert {j.job_id for j in dry.jobs if j.result == "would_cancel"} == wanted
    assert dry.message.startswith("Dry run (BUDGETBOT_ACTIONS=dry-run): would cancel 5 queued")
    off = approve(w.runtime("off"), p.id, "U0APPROVER", ACT_NOW)
    assert off.state == "off" and "BUDGETBOT_ACTIONS=off" in off.message
    # A proposal made in dry-run mode stays a dry run even once actions are on.
    dry_proposal = w.propose("Lattice QCD", mode="dry-run")
    assert approve(w.runtime(), dry_proposal.id, "U0APPROVER", ACT_NOW).state == "dry_run"
    assert w.cancel_requests() == 0
    assert w.cancellable() == wanted
    assert load_outcome(w.store, p.id).state == "proposed"  # still open
    assert [e.event for e in audit_entries(w.store)][:2] == ["dry_run", "proposed"]


def test_an_expired_or_unknown_proposal_cancels_nothing(w: World) -> None:
    p = w.propose(expires_at=ACT_NOW)
    expired = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    assert expired.state == "expired" and "expired at the end of its period" in expired.message
    unknown = approve(w.runtime(), "p-nothing", "U0APPROVER", ACT_NOW)
    assert unknown.state == "unknown"
    assert w.cancel_requests() == 0
    [latest, proposed] = audit_entries(w.store, 2)
    assert (latest.event, latest.by_user) == ("expired", "U0APPROVER")
    assert proposed.event == "proposed" and proposed.detail.startswith("Cancel 5 queued jobs")


def test_a_refusal_is_recorded_and_nothing_happens(w: World) -> None:
    p = w.propose()
    record_refusal(w.store, p.id, "U0STRANGER", ACT_NOW, reason="not an approver of chem-cap")
    [refused, _] = audit_entries(w.store)
    assert (refused.event, refused.by_user, refused.detail) == (
        "refused",
        "U0STRANGER",
        "not an approver of chem-cap",
    )
    assert w.cancel_requests() == 0 and load_outcome(w.store, p.id).state == "proposed"


def test_the_audit_lists_every_step_newest_first(w: World) -> None:
    p = w.propose()
    record_refusal(w.store, p.id, "U0STRANGER", ACT_NOW)
    approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW + dt.timedelta(seconds=1))
    entries = audit_entries(w.store)
    events = [e.event for e in entries]
    assert events[-3:] == ["approved", "refused", "proposed"]
    assert sorted(events[:-3]) == ["cancelled"] * 5 + ["not_cancelled"]
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    assert {e.job_id for e in entries if e.event == "cancelled"} == {
        j.job_id for j in load_outcome(w.store, p.id).cancelled
    }
    assert len(audit_entries(w.store, 3)) == 3
