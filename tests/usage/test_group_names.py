"""Names of projects and users learned from usage answers are kept in the store, so queued jobs
can be matched by name after their group has left IonQ's top-5 lists."""

from __future__ import annotations

import datetime as dt

from budgetbot.ionq import GroupBy, IonQClient, Modality, UsageQuery
from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from budgetbot.usage.cache import UsageCache
from tests.support import API_KEY, NOW

TODAY = NOW.date()
LATER = NOW + dt.timedelta(days=1)


def query(group_by: GroupBy, start: dt.date) -> UsageQuery:
    return UsageQuery(group_by=group_by, modality=Modality.DAILY, start=start, end=TODAY)


def learn(org: SimOrg, store: Store, q: UsageQuery, now: dt.datetime) -> None:
    with (
        SimServer(org, api_key=API_KEY, now=NOW) as sim,
        IonQClient(sim.base_url, org.org_id, API_KEY, timeout=5.0) as client,
    ):
        UsageCache(client, store, ttl=0, now=lambda: now).series(q, TODAY)


def test_names_are_learned_kept_and_renamed(org: SimOrg) -> None:
    store = Store.memory()
    month = query(GroupBy.PROJECT, TODAY - dt.timedelta(days=60))
    learn(org, store, month, NOW)
    names = store.group_names("project")
    assert names == {p.id: p.name for p in org.projects if p.id in names}
    # Two months of daily top-5 lists show the quiet projects too, now and then.
    assert {p.id for p in org.quiet_projects} & set(names)
    assert store.group_names("user") == {}

    # A later answer over one day lists five projects: the others keep their names. One
    # project was renamed in the meantime: the newer name replaces the older.
    renamed = SimOrg(seed=org.seed, rename={"Quantum Chem": "Quantum Chemistry"})
    learn(renamed, store, query(GroupBy.PROJECT, TODAY - dt.timedelta(days=1)), LATER)
    after = store.group_names("project")
    assert set(after) == set(names)
    chem = org.project("Quantum Chem").id
    assert after[chem] == "Quantum Chemistry"
    assert {k: v for k, v in after.items() if k != chem} == {
        k: v for k, v in names.items() if k != chem
    }
    store.close()


def test_user_names_and_no_job_names(org: SimOrg) -> None:
    store = Store.memory()
    learn(org, store, query(GroupBy.USER, TODAY - dt.timedelta(days=14)), NOW)
    users = store.group_names("user")
    assert users and users == {u.id: u.name for u in org.users if u.id in users}
    learn(org, store, query(GroupBy.JOB, TODAY - dt.timedelta(days=2)), NOW)
    assert store.group_names("project") == {}
    assert store.group_names("user") == users
    store.close()
