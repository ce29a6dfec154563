"""The world budget actions are tested in: the simulator over HTTP at a busy moment, every
project's key, a state store, and proposals made by hand (the cycle makes them in
``test_cycle_actions.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from budgetbot.actions import Proposal, proposal_id
from budgetbot.actions import records as action_records
from budgetbot.actions.outcomes import ActionRuntime
from budgetbot.ionq import IonQClient
from budgetbot.sim import SimOrg, SimServer
from budgetbot.sim.model import Job
from budgetbot.store import Store
from tests.support import API_KEY, QUEUE_NOW, RecordedSleep

#: Quantum Chem has one job started and three ready then (and two submitted by the tests).
ACT_NOW = QUEUE_NOW + dt.timedelta(minutes=50)
CHEM = "Quantum Chem"


@dataclass
class World:
    org: SimOrg
    sim: SimServer
    store: Store
    clients: list[IonQClient]
    sleep: RecordedSleep

    def runtime(self, mode: str = "on") -> ActionRuntime:
        return ActionRuntime(self.store, self.clients, mode=mode)  # type: ignore[arg-type]

    def queued(self, project: str = CHEM, at: dt.datetime = ACT_NOW) -> dict[str, str]:
        """Job id → status of the project's jobs queued or running at ``at`` (the truth)."""
        return {j.id: self.org.status(j, at) or "" for j in self.org.queued(at, project)}

    def cancellable(self, project: str = CHEM) -> set[str]:
        return {i for i, s in self.queued(project).items() if s in ("submitted", "ready")}

    def cancel_requests(self) -> int:
        return len(self.sim.route_requests("cancel"))

    def propose(
        self,
        project: str = CHEM,
        *,
        approval: str = "manual",
        mode: str = "on",
        expires_at: dt.datetime | None = None,
    ) -> Proposal:
        found = self.org.project(project)
        period = "2026-11"
        proposal = Proposal.model_validate(
            {
                "id": proposal_id("chem-cap", found.id, period, "committed", Decimal(100)),
                "rule": "chem-cap",
                "scope": "project",
                "group_key": found.id,
                "group_name": found.name,
                "groups": [found.id],
                "period": period,
                "kind": "committed",
                "level": 100,
                "approval": approval,
                "approvers": ["U0APPROVER"],
                "mode": mode,
                "thread_key": f"chem-cap|{found.id}|{period}",
                "channel": "#quantum-spend",
                "created_at": ACT_NOW,
                "expires_at": expires_at or dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                "jobs": len(self.cancellable(project)),
                "amount_usd": None,
            }
        )
        assert action_records.add_proposal(self.store, proposal, ACT_NOW)
        return proposal


def world(tmp_path: Path, *, attempts: int = 2, db_url: str | None = None) -> Iterator[World]:
    """A fresh organization (actions change its queue), served at :data:`ACT_NOW`, with two
    jobs just submitted to Quantum Chem; clients for the organization's key and every project
    key; a SQLite store in a file (threads share it), or the store at ``db_url``."""
    org = SimOrg()
    org.submit(CHEM, None, ["12.50", "30.00"], ACT_NOW - dt.timedelta(seconds=5))
    sleep = RecordedSleep()
    with SimServer(org, api_key=API_KEY, now=ACT_NOW) as sim:
        main = IonQClient(
            sim.base_url,
            org.org_id,
            API_KEY,
            sleep=sleep,
            clock=sleep.monotonic,
            timeout=5.0,
            max_attempts=attempts,
        )
        clients = [main] + [
            main.with_key(key, key_label=f"IONQ_PROJECT_KEYS key {n}")
            for n, key in enumerate(sim.project_keys.values(), start=1)
        ]
        store = Store(db_url or f"sqlite:///{tmp_path / 'state.db'}")
        try:
            yield World(org, sim, store, clients, sleep)
        finally:
            store.close()
            main.close()


def sim_job(w: World, job_id: str) -> Job:
    found = w.org.find(job_id, ACT_NOW)
    assert found is not None
    return found
