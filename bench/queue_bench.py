"""Benchmarks of committed spend (issue 13): how much earlier it warns, and what the queue costs.

(e) In the simulator, a project close to its budget queues a batch of jobs that takes it over.
    Cycles run every 15 simulated minutes; the time from the batch's submission to the first
    committed alert is set against the time to the spend alert the same jobs cause once billed.
    Repeated at several moments (a busy weekday, a quiet weekend) since waits depend on load.
(f) 2,000 jobs queued across 50 projects, one key per project: IonQ requests of the first and of
    a steady cycle, the cycle's time, and the peak memory of a clock process reading that queue.

Run from the repository root: `.venv/bin/python bench/queue_bench.py [--quick]` (`make bench`
runs it after `bench/run.py`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from run import schedule_peak_rss  # noqa: E402  (bench/run.py, beside this file)

from budgetbot.alerts.pipeline import run_check  # noqa: E402
from budgetbot.ionq import GroupBy, IonQClient  # noqa: E402
from budgetbot.queue.reader import IonQQueueReader  # noqa: E402
from budgetbot.rules.loader import PolicySet  # noqa: E402
from budgetbot.rules.models import Policy  # noqa: E402
from budgetbot.sim import SimOrg, SimServer  # noqa: E402
from budgetbot.store import Store  # noqa: E402
from budgetbot.usage import UsageSource  # noqa: E402

KEY = "bench-key"
CYCLE = dt.timedelta(minutes=15)
D = Decimal


def _clients(sim: SimServer, main: IonQClient) -> list[IonQClient]:
    """The organization's key, then one client per project key (as the runtime builds them)."""
    keys = list(sim.project_keys.values())
    return [main] + [main.with_key(k, key_label=f"key {i}") for i, k in enumerate(keys, 1)]


def _month_start(at: dt.datetime) -> dt.date:
    return at.date().replace(day=1)


def early_warning(submitted: dt.datetime, project: str, batch: Decimal) -> tuple[float, float]:
    """(e) hours from the batch's submission to the committed alert and to the spend alert.

    The project is one IonQ lists in its top 5 (its spend is exact, so the spend alert can be
    certain: the small projects' bounded spend is issue 16's). The batch is large enough that
    half of it exceeds what the project spends in the rest of the month.

    The budget is the project's whole month without the batch plus half the batch: without the
    batch neither alert would ever fire, so each alert is the one the batch causes.
    """
    org = SimOrg()
    group = org.project(project)
    month = _month_start(submitted)
    after = (month + dt.timedelta(days=32)).replace(day=1)
    end = dt.datetime.combine(after, dt.time(), tzinfo=dt.UTC)
    whole = org.truth(GroupBy.PROJECT, month, after, until=end)[group.id].amount
    budget = (whole + batch / 2).quantize(D(1))
    rules = PolicySet(
        policies=(
            Policy.model_validate(
                {
                    "name": "spend",
                    "scope": "project",
                    "match": [group.id],
                    "budget": {"usd": budget},
                    "alert_at": [100],
                    "channel": "#bench",
                }
            ),
            Policy.model_validate(
                {
                    "name": "committed",
                    "scope": "project",
                    "match": [group.id],
                    "budget": {"usd": budget},
                    "committed_at": [100],
                    "channel": "#bench",
                }
            ),
        )
    )
    jobs = max(1, int(batch / 200))
    org.submit(group.id, None, [(batch / jobs).quantize(D("0.01"))] * jobs, submitted)
    first: dict[str, float] = {}
    with (
        SimServer(org, api_key=KEY, now=submitted) as sim,
        IonQClient(sim.base_url, org.org_id, KEY) as client,
    ):
        store = Store.memory()
        reader = IonQQueueReader(_clients(sim, client), store)
        at = submitted
        while len(first) < 2 and at < submitted + dt.timedelta(days=3):
            at += CYCLE
            sim.now = at
            result = run_check(
                rules, UsageSource(client, today=at.date()), store, [], at, queue_reader=reader
            )
            for decision in result.to_notify:
                if decision.finding.certain:
                    first.setdefault(
                        decision.finding.rule, (at - submitted) / dt.timedelta(hours=1)
                    )
        store.close()
    return first.get("committed", float("nan")), first.get("spend", float("nan"))


def queue_cost(projects: int, jobs: int) -> dict[str, float]:
    """(f) requests of the first and a steady cycle, and cycle times, with ``jobs`` queued."""
    org = SimOrg(extra_projects=max(0, projects - len(SimOrg().projects)))
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    rng = random.Random(5)
    for i in range(jobs):
        project = org.projects[i % len(org.projects)]
        org.submit(project.id, None, [D(rng.randint(500, 40_000)) / 100], now - CYCLE)
    rules = PolicySet(
        policies=(
            Policy.model_validate(
                {
                    "name": "committed",
                    "scope": "project",
                    "each": True,
                    "budget": {"usd": 50_000},
                    "committed_at": [80, 100],
                    "channel": "#bench",
                }
            ),
        )
    )
    out: dict[str, float] = {}
    with (
        SimServer(org, api_key=KEY, now=now) as sim,
        IonQClient(sim.base_url, org.org_id, KEY) as client,
    ):
        store = Store.memory()
        reader = IonQQueueReader(_clients(sim, client), store)
        for label, at in (("first", now), ("steady", now + CYCLE)):
            sim.now = at
            sim.reset()
            started = time.perf_counter()
            result = run_check(
                rules, UsageSource(client, today=at.date()), store, [], at, queue_reader=reader
            )
            out[f"{label}_s"] = time.perf_counter() - started
            for kind, count in result.queue_requests.items():
                out[f"{label}_{kind}"] = count
            out[f"{label}_usage"] = len(sim.usage_requests)
        out["keys"] = len(reader.clients)
        store.close()
        out["rss_mb"] = _schedule_rss(sim, rules_yaml=_each_committed_yaml())
    return out


def _each_committed_yaml() -> str:
    return (
        "policies:\n"
        "  - name: committed\n"
        "    scope: project\n"
        "    each: true\n"
        "    period: month\n"
        "    budget: {usd: 50000}\n"
        "    committed_at: [80, 100]\n"
        '    channel: "#bench"\n'
    )


def _schedule_rss(sim: SimServer, rules_yaml: str, cycles: int = 4) -> float:
    """Peak RSS (MB) of `budgetbot schedule` reading the simulator's queue every minute."""
    keys = {"IONQ_PROJECT_KEYS": ",".join(sim.project_keys.values())}
    # The first cycle asks 2,000 estimates one by one; give it time, then a few more cycles.
    return schedule_peak_rss(sim, rules_yaml, cycles + 20, keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("## (e) committed alert vs spend alert, hours after a batch is queued")
    print("| queued at | batch | committed alert | spend alert | earlier by |")
    print("|---|---:|---:|---:|---:|")
    moments = [
        dt.datetime(2026, 11, 26, 16, tzinfo=dt.UTC),  # a Thursday afternoon
        dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC),  # a Saturday: short waits
        dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC),  # a Monday morning: long waits
    ]
    for moment in moments[:1] if args.quick else moments:
        committed, spend = early_warning(moment, "Quantum Chem", D(16_000))
        print(
            f"| {moment:%a %d %b %H:%M} UTC | $16,000 | {committed:.2f} h | {spend:.2f} h"
            f" | {spend - committed:.2f} h |"
        )
    projects, jobs = (50, 400) if args.quick else (50, 2000)
    cost = queue_cost(projects, jobs)
    print(f"\n## (f) {jobs} jobs queued across {projects} projects, {cost['keys']:.0f} keys")
    print("| cycle | whoami | GET /jobs | cost calls | usage | time |")
    print("|---|---:|---:|---:|---:|---:|")
    for label in ("first", "steady"):
        print(
            f"| {label} | {cost.get(f'{label}_whoami', 0):.0f} | {cost.get(f'{label}_jobs', 0):.0f}"
            f" | {cost.get(f'{label}_cost', 0):.0f} | {cost[f'{label}_usage']:.0f}"
            f" | {cost[f'{label}_s']:.2f} s |"
        )
    print(f"clock process peak RSS reading that queue: {cost['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
