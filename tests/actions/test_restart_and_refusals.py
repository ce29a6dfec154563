"""Exactly once across failures: a process that stops between "recorded" and "IonQ answered"
(before the cancel went out, or after IonQ cancelled and before the store heard), and IonQ
refusing (403 for a key without rights, 429, 5xx): a clear outcome, and a retry that cancels
each job once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

import budgetbot.actions.execute as execute
from budgetbot.actions.audit import audit_entries
from budgetbot.actions.execute import approve, load_outcome, resume
from budgetbot.actions.listing import Cancelled
from budgetbot.ionq import IonQClient
from tests.actions.support import ACT_NOW, World

LATER = ACT_NOW + dt.timedelta(minutes=1)


class Crash(BaseException):
    """The process dies here (not an ``Exception``: nothing on the way may catch it)."""


def crashing(
    monkeypatch: pytest.MonkeyPatch, *, after_ionq: bool
) -> Callable[[IonQClient, Sequence[str]], Cancelled]:
    real = execute.cancel

    def cancel(client: IonQClient, ids: Sequence[str]) -> Cancelled:
        if after_ionq:
            real(client, ids)  # IonQ cancels; the answer never reaches the store
        raise Crash

    monkeypatch.setattr(execute, "cancel", cancel)
    return real


@pytest.mark.parametrize("after_ionq", [False, True], ids=["before-ionq", "after-ionq"])
def test_a_restart_between_recorded_and_answered_neither_loses_nor_repeats(
    wdb: World, monkeypatch: pytest.MonkeyPatch, after_ionq: bool
) -> None:
    w = wdb
    p = w.propose()
    wanted = w.cancellable()
    real = crashing(monkeypatch, after_ionq=after_ionq)
    with pytest.raises(Crash):
        approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    stopped = load_outcome(w.store, p.id)
    # Recorded before IonQ was called: the approval and the jobs it is about.
    assert stopped.state == "in_progress" and stopped.approved_by == "U0APPROVER"
    assert {j.job_id for j in stopped.jobs if j.result == "pending"} == wanted
    assert w.cancel_requests() == (1 if after_ionq else 0)
    assert w.cancellable() == (set() if after_ionq else wanted)

    monkeypatch.setattr(execute, "cancel", real)  # the restarted process
    [resumed] = resume(w.runtime(), LATER)

    assert resumed.state == "done" and resumed.first
    assert {j.job_id for j in resumed.cancelled} == wanted
    assert resumed.approved_by == "U0APPROVER"
    assert w.cancel_requests() == 1  # after IonQ answered: none more
    assert w.cancellable() == set()
    assert resume(w.runtime(), LATER) == []  # nothing left
    assert approve(w.runtime(), p.id, "U0OTHER", LATER).first is False
    assert w.cancel_requests() == 1
    cancelled = [e.job_id for e in audit_entries(w.store) if e.event == "cancelled"]
    assert sorted(cancelled) == sorted(wanted)  # each once


def test_a_click_after_a_crash_finishes_the_recorded_action(w: World, monkeypatch) -> None:
    p = w.propose()
    wanted = w.cancellable()
    real = crashing(monkeypatch, after_ionq=False)
    with pytest.raises(Crash):
        approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    monkeypatch.setattr(execute, "cancel", real)
    # A job queued after the approval is not part of it: the approval was for the jobs then.
    soon = ACT_NOW + dt.timedelta(seconds=10)
    [late] = w.org.submit("Quantum Chem", None, ["5.00"], soon - dt.timedelta(seconds=2))
    w.sim.now = soon
    again = approve(w.runtime(), p.id, "U0OTHER", soon)
    assert again.state == "done" and again.first
    assert again.approved_by == "U0APPROVER"
    # Of the recorded jobs, those still queued are cancelled; one that started meanwhile is
    # reported.
    ran = {i for i in wanted if w.org.status(w.org.find(i, soon), soon) == "started"}  # type: ignore[arg-type]
    assert ran, "the simulator's queue moved on: pick a later moment"
    assert {j.job_id for j in again.cancelled} == wanted - ran
    assert {j.job_id for j in again.jobs if j.result == "started"} >= ran
    assert w.org.cancelled_at(late.id) is None
    assert w.cancel_requests() == 1


def test_a_live_holder_is_left_alone(w: World, monkeypatch) -> None:
    """While one process is cancelling (its lease held, it alive), a click reports progress."""
    p = w.propose()
    seen: list[Any] = []
    real = execute.cancel

    def cancel(client: IonQClient, ids: Sequence[str]) -> Cancelled:
        seen.append(approve(w.runtime(), p.id, "U0OTHER", ACT_NOW))
        seen.append(resume(w.runtime(), ACT_NOW))
        return real(client, ids)

    monkeypatch.setattr(execute, "cancel", cancel)
    done = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    assert done.state == "done" and done.first
    assert seen[0].state == "in_progress" and "being carried out" in seen[0].message
    assert seen[1] == []
    assert w.cancel_requests() == 1


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (403, "needs the right to cancel"),
        (429, "did not answer the cancel"),
        (500, "did not answer the cancel"),
        (503, "did not answer the cancel"),
    ],
)
def test_ionq_refusing_gives_a_clear_outcome_and_a_retry_cancels_once(
    w: World, status: int, said: str
) -> None:
    p = w.propose()
    wanted = w.cancellable()
    # Every cancel call fails while the fault lasts: the bulk call and, for 403, each job.
    w.sim.fail(status=status, times=2, route="cancel")
    failed = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)

    assert failed.state == "failed" and failed.first
    assert said in failed.message and str(status) in failed.message
    assert "Click again to retry: no job is cancelled twice." in failed.message
    assert "apiKey" not in failed.message and "sim-test-key" not in failed.message
    assert w.cancellable() == wanted
    assert [e.event for e in audit_entries(w.store, 1)] == ["failed"]
    calls = w.cancel_requests()
    assert calls == 2

    retried = approve(w.runtime(), p.id, "U0OTHER", LATER)
    assert retried.state == "done" and retried.first
    assert retried.approved_by == "U0APPROVER"
    assert {j.job_id for j in retried.cancelled} == wanted
    assert w.cancel_requests() == calls + 1  # one bulk call: each job asked once to succeed
    assert approve(w.runtime(), p.id, "U0OTHER", LATER).first is False
    assert w.cancel_requests() == calls + 1
    events = [e.event for e in audit_entries(w.store)]
    assert events.count("cancelled") == len(wanted) and events.count("failed") == 1


def test_a_failed_action_is_not_retried_after_its_period(w: World) -> None:
    p = w.propose(expires_at=LATER)
    w.sim.fail(status=503, times=2, route="cancel")
    assert approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW).state == "failed"
    late = approve(w.runtime(), p.id, "U0APPROVER", LATER)
    assert late.state == "expired" and w.cancel_requests() == 2


def test_a_bulk_cancel_refused_falls_back_to_each_job(w: World) -> None:
    p = w.propose()
    wanted = w.cancellable()
    w.sim.fail(status=405, times=1, route="cancel")
    outcome = approve(w.runtime(), p.id, "U0APPROVER", ACT_NOW)
    assert outcome.state == "done"
    assert {j.job_id for j in outcome.cancelled} == wanted
    calls = w.sim.route_requests("cancel")
    assert calls[0].path.endswith("/jobs/status/cancel")
    assert sorted(c.path.rsplit("/", 3)[1] for c in calls[1:]) == sorted(wanted)


def test_a_project_no_key_sees_is_refused_with_the_fix(w: World) -> None:
    p = w.propose()
    org_key_only = replace(w.runtime(), clients=w.clients[:1])  # its project is Quantum Chem
    other = w.propose("Lattice QCD")
    assert approve(org_key_only, p.id, "U0APPROVER", ACT_NOW).state == "done"
    refused = approve(org_key_only, other.id, "U0APPROVER", ACT_NOW)
    assert refused.state == "failed"
    assert "no IonQ key sees the queue of project" in refused.message
    assert "IONQ_PROJECT_KEYS" in refused.message
    assert approve(w.runtime(), other.id, "U0APPROVER", LATER).state == "done"
