"""The way back: resubmit clones each cancelled job once (``POST /jobs/{id}/clone``), however
often it is clicked; a clone IonQ refused is asked again, one whose answer was lost never is."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from budgetbot.actions.audit import audit_entries
from budgetbot.actions.execute import approve, resubmit
from tests.actions.support import ACT_NOW, CHEM, World

LATER = ACT_NOW + dt.timedelta(minutes=5)


def cancelled(w: World) -> set[str]:
    p = w.propose()
    outcome = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    assert outcome.can_resubmit
    return {j.job_id for j in outcome.cancelled}


def test_resubmit_clones_the_cancelled_jobs_once(w: World) -> None:
    gone = cancelled(w)
    [proposal_id] = {e.proposal_id for e in audit_entries(w.store)}
    w.sim.now = LATER
    done = resubmit(w.runtime(), proposal_id, "U0APPROVER", LATER)

    assert done.state == "done" and done.first and done.resubmit == "done"
    assert done.resubmitted_by == "U0APPROVER" and done.resubmitted_at == LATER
    assert not done.can_resubmit
    clones = {j.job_id: j.clone_id for j in done.cancelled}
    assert set(clones) == gone and all(clones.values())
    assert done.message.startswith("Resubmitted 5 jobs by U0APPROVER")
    assert len(w.sim.route_requests("clone")) == 5
    # The clones are new queued jobs of the same project; the originals stay cancelled.
    queued = w.queued(CHEM, LATER)
    assert set(clones.values()) <= set(queued)
    assert all(w.org.cancelled_at(i) == ACT_NOW for i in gone)

    for user in ("U0APPROVER", "U0OTHER"):
        again = resubmit(w.runtime(), proposal_id, user, LATER)
        assert again.resubmit == "done" and not again.first
        assert {j.job_id: j.clone_id for j in again.cancelled} == clones
    assert len(w.sim.route_requests("clone")) == 5
    events = [e.event for e in audit_entries(w.store)]
    assert events.count("resubmit") == 1 and events.count("cloned") == 5


def test_nothing_to_resubmit_before_a_cancellation(w: World) -> None:
    p = w.propose()
    said = resubmit(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    assert said.resubmit == "none" and "Nothing to resubmit" in said.message
    assert resubmit(w.runtime(), "p-nothing", "U0APPROVER", ACT_NOW).state == "unknown"
    assert resubmit(w.runtime("dry-run"), p.id, "U0APPROVER", ACT_NOW).state == "off"
    assert w.sim.route_requests("clone") == []


@pytest.mark.parametrize(("status", "asked_again"), [(429, True), (403, True), (500, False)])
def test_a_failed_clone_is_asked_again_only_when_ionq_refused_before_cloning(
    w: World, status: int, asked_again: bool
) -> None:
    gone = cancelled(w)
    [proposal_id] = {e.proposal_id for e in audit_entries(w.store)}
    w.sim.now = LATER
    w.sim.fail(status=status, times=2, route="clone")  # 429 is retried once by the client
    first = resubmit(w.runtime(), proposal_id, "U0APPROVER", LATER)
    failed_jobs = [j for j in first.cancelled if not j.clone_id]
    assert len(failed_jobs) == (1 if status == 429 else 2)
    assert first.resubmit == ("failed" if asked_again else "done")
    assert "could not be resubmitted" in first.message
    if not asked_again:
        assert all("may have made the clone" in (j.clone_error or "") for j in failed_jobs)
    asked = len(w.sim.route_requests("clone"))
    assert asked == len(gone) + (1 if status == 429 else 0)

    again = resubmit(w.runtime(), proposal_id, "U0APPROVER", LATER)
    expected = asked + (len(failed_jobs) if asked_again else 0)
    assert len(w.sim.route_requests("clone")) == expected
    if asked_again:
        assert again.first and again.resubmit == "done"
        assert all(j.clone_id for j in again.cancelled)
    else:
        assert not again.first  # nothing left to ask: unknown clones are never repeated


def test_a_restart_mid_resubmit_never_clones_a_job_twice(w: World, monkeypatch) -> None:
    from budgetbot.ionq import IonQClient

    gone = cancelled(w)
    [proposal_id] = {e.proposal_id for e in audit_entries(w.store)}
    w.sim.now = LATER
    real = IonQClient.clone_job
    calls: list[str] = []

    class Crash(BaseException):
        pass

    def clone_then_die(self: IonQClient, job_id: str, changes: Any = None) -> Any:
        calls.append(job_id)
        if len(calls) == 2:
            real(self, job_id)  # IonQ makes the clone; the answer never reaches the store
            raise Crash
        return real(self, job_id)

    monkeypatch.setattr(IonQClient, "clone_job", clone_then_die)
    with pytest.raises(Crash):
        resubmit(w.runtime(), proposal_id, "U0APPROVER", LATER)
    monkeypatch.setattr(IonQClient, "clone_job", real)

    after = resubmit(w.runtime(), proposal_id, "U0OTHER", LATER)
    assert after.first and after.resubmit == "done"
    assert len(w.sim.route_requests("clone")) == len(gone)  # the lost one is not asked again
    [unknown] = [j for j in after.cancelled if not j.clone_id]
    assert unknown.job_id == calls[1] and "may have made the clone" in (unknown.clone_error or "")
    assert "1 job could not be resubmitted" in after.message
