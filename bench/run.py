"""budgetbot's benchmark: IonQ requests per cycle, engine time, slash-command latency, memory.

Run from the repository root after `make demo` (or any install): `.venv/bin/python bench/run.py`.
Options: `--latency SECONDS` (IonQ's answer time for (c), default 2.0), `--quick` (smaller runs).
Everything runs on this machine against the simulator and a fake Slack on loopback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from exact_share import exact_share as exact_budgets  # noqa: E402  (bench/, beside this file)

from budgetbot.alerts.pipeline import run_check  # noqa: E402
from budgetbot.ionq import IonQClient, Modality  # noqa: E402
from budgetbot.ledger.walk import LedgerReader  # noqa: E402
from budgetbot.rules import load_policies  # noqa: E402
from budgetbot.rules.engine import evaluate, plan  # noqa: E402
from budgetbot.sim import SimOrg, SimServer  # noqa: E402
from budgetbot.store import Store  # noqa: E402
from budgetbot.usage import Bucket, Figures, UsageSeries, UsageSource  # noqa: E402
from budgetbot.usage.cache import UsageCache, bucket_spans  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.slack.test_signing import signed_headers  # noqa: E402

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
KEY = "bench-key"
SECRET = "bench-signing-secret"


def policies_yaml(count: int, seed: int = 1) -> str:
    """``count`` varied policies over the simulated organization's projects and users."""
    rng = random.Random(seed)
    org = SimOrg()
    names = [p.name for p in org.projects]
    lines = ["policies:"]
    for i in range(count):
        scope = rng.choice(["project", "project", "user", "organization"])
        period = rng.choice(["week", "month", "month", "quarter"])
        lines += [
            f"  - name: p{i}",
            f"    scope: {scope}",
            f"    period: {period}",
            f"    budget: {{usd: {rng.randint(2, 300) * 1000}}}",
            "    alert_at: [50, 80, 100]",
            "    forecast_at: [100]",
            '    channel: "#bench"',
        ]
        if scope != "organization":
            if rng.random() < 0.5:
                lines.append("    each: true")
            elif scope == "project":
                lines.append(f'    match: ["{rng.choice(names)}"]')
    return "\n".join(lines) + "\n"


def measure_requests(counts: list[int]) -> list[tuple[int, int, int]]:
    """(a) requests per cycle, cold and in a steady state with settled buckets stored."""
    rows = []
    with SimServer(SimOrg(), api_key=KEY, now=NOW) as sim, tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            path = Path(tmp) / f"p{count}.yaml"
            path.write_text(policies_yaml(count))
            rules = load_policies(path)
            with IonQClient(sim.base_url, sim.org.org_id, KEY) as client:
                store = Store.memory()
                clock = [0.0]  # cycles are 15 minutes apart: the open-data TTL has run out
                cache = UsageCache(client, store, clock=lambda c=clock: c[0])
                sim.reset()
                run_check(rules, UsageSource(client, cache=cache, today=NOW.date()), store, [], NOW)
                cold = len(sim.usage_requests)
                later = NOW
                for _ in range(2):  # the third cycle is the steady state
                    later += dt.timedelta(minutes=15)
                    clock[0] += 15 * 60
                    sim.reset()
                    run_check(
                        rules,
                        UsageSource(client, cache=cache, today=later.date()),
                        store,
                        [],
                        later,
                    )
                rows.append((count, cold, len(sim.usage_requests)))
                if count == counts[-1]:
                    for r in sim.usage_requests:
                        q = r.query
                        print(
                            f"  steady: {q['group_by']}/{q['modality']}"
                            f" {q['start_date']}..{q['end_date']}",
                            file=sys.stderr,
                        )
                store.close()
    return rows


def synthetic_series(query, groups: list[str], rng: random.Random) -> UsageSeries:
    buckets = []
    for start, end in bucket_spans(query):
        days = (end - start).days
        amounts = {g: Decimal(rng.randint(0, 5000 * days)) / 100 for g in rng.sample(groups, 40)}
        top = sorted(amounts.items(), key=lambda kv: -kv[1])[:5]
        total = sum(amounts.values()) + Decimal(rng.randint(0, 100000 * days)) / 100
        listed = {g: Figures(a, a * 1000, 3) for g, a in top}
        buckets.append(Bucket(start, end, Figures(total, total * 1000, 500), listed))
    names = {g: f"Group {g}" for g in groups}
    return UsageSeries(
        query.group_by.value, query.modality.value, query.start, query.end, tuple(buckets), names
    )


def measure_engine(policies: int, groups: int, days: int, repeat: int) -> tuple[float, int, int]:
    """(b) engine time for ``policies`` over ``groups`` groups and ``days`` days of data."""
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_text(policies_yaml(policies, seed=2))
        rules = load_policies(path)
    keys = [f"g{i:03d}" for i in range(groups)]
    queries = plan(rules.policies, rules.anomalies, NOW)
    data = {}
    for query in queries:
        # Stretch every query back over `days` days so the series are a year long.
        start = min(query.start, NOW.date() - dt.timedelta(days=days))
        if query.modality is Modality.MONTHLY:
            start = start.replace(day=1)
        stretched = query.model_copy(update={"start": start})
        series = synthetic_series(stretched, keys, rng)
        data[query] = UsageSeries(
            series.group_by,
            series.modality,
            stretched.start,
            series.end,
            series.buckets,
            series.names,
        )
    best = []
    found = 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = len(evaluate(rules.policies, rules.anomalies, data, NOW))
        best.append(time.perf_counter() - started)
    return statistics.median(best), found, len(queries)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_slash(latency: float, concurrent: int) -> dict[str, float]:
    """(c) 50 concurrent identical slash commands while IonQ takes ``latency`` seconds."""
    port = free_port()
    with (
        SimServer(SimOrg(), api_key=KEY, now=NOW) as sim,
        FakeSlack() as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        sim.latency = latency
        env = dict(os.environ) | {
            "IONQ_BASE_URL": sim.base_url,
            "IONQ_ORG_ID": sim.org.org_id,
            "IONQ_API_KEY": KEY,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp}/b.db",
            "BUDGETBOT_POLICIES": str(REPO / "policies"),
            "BUDGETBOT_LOG_LEVEL": "WARNING",
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "budgetbot",
                "serve",
                "--port",
                str(port),
                "--now",
                NOW.isoformat(),
            ],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(url + "/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            acks: list[float] = []
            answers: dict[str, float] = {}
            sent_at: dict[str, float] = {}
            barrier = threading.Barrier(concurrent)

            def one(i: int) -> None:
                rid = f"b{i}"
                body = urlencode(
                    {
                        "team_id": "T123",
                        "user_id": f"U{i}",
                        "channel_id": "C0BENCH1",
                        "command": "/ionq-usage",
                        "text": "project weekly",
                        "response_url": slack.response_url(rid),
                    }
                )
                with httpx.Client(timeout=30) as http:
                    barrier.wait()
                    headers = signed_headers(SECRET, int(time.time()), body)
                    sent_at[rid] = time.monotonic()
                    http.post(url + "/slack/events", content=body, headers=headers)
                    acks.append(time.monotonic() - sent_at[rid])

            threads = [threading.Thread(target=one, args=(i,)) for i in range(concurrent)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 60
            while len(answers) < concurrent and time.monotonic() < deadline:
                for rid in list(sent_at):
                    if rid not in answers and slack.responses(rid):
                        answers[rid] = time.monotonic() - sent_at[rid]
                time.sleep(0.005)
            for t in threads:
                t.join()
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        acks.sort()
        done = sorted(answers.values())
        return {
            "ack_p50_ms": statistics.median(acks) * 1000,
            "ack_p99_ms": acks[max(0, int(len(acks) * 0.99) - 1)] * 1000,
            "answer_p50_s": statistics.median(done) if done else float("nan"),
            "answer_max_s": done[-1] if done else float("nan"),
            "answered": len(done),
            "upstream": len(sim.usage_requests),
            "serve_rss_mb": rss,
        }


def schedule_peak_rss(
    sim: SimServer, rules_yaml: str, seconds: float, env: dict[str, str] | None = None
) -> float:
    """Peak RSS (MB) of `budgetbot schedule` checking every simulated minute (60x speed)
    against ``sim`` for ``seconds`` with the policies ``rules_yaml`` (and ``env`` added)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "p.yaml").write_text(rules_yaml)
        full = (
            dict(os.environ)
            | {
                "IONQ_BASE_URL": sim.base_url,
                "IONQ_ORG_ID": sim.org.org_id,
                "IONQ_API_KEY": KEY,
                "DATABASE_URL": f"sqlite:///{tmp}/s.db",
                "BUDGETBOT_POLICIES": f"{tmp}/p.yaml",
                "BUDGETBOT_CHECK_SCHEDULE": "* * * * *",
                "BUDGETBOT_LOG_LEVEL": "WARNING",
            }
            | (env or {})
        )
        full.pop("SLACK_BOT_TOKEN", None)
        start = sim.now.isoformat()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "budgetbot",
                "schedule",
                "--clock-start",
                start,
                "--clock-rate",
                "60",
            ],
            env=full,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(seconds)
        rss = peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        return rss


def measure_schedule(policies: int, cycles: int) -> tuple[float, int]:
    """(d) peak RSS of the clock process running ``cycles`` check cycles of ``policies``."""
    with SimServer(SimOrg(), api_key=KEY, now=NOW) as sim:
        rss = schedule_peak_rss(sim, policies_yaml(policies), cycles + 2)
        return rss, len(sim.usage_requests)


def measure_ledger() -> dict[str, int]:
    """(g) the ledger walk's IonQ requests, every project keyed: the first walk back-filling a
    month, then steady cycles 15 minutes apart (the third is reported)."""
    end = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)  # a month's back-fill: November so far
    start = end.date().replace(day=1)
    org = SimOrg()
    # The default organization bills ~1,700 jobs a month: 45 more a day, of $1-$50 each in a
    # random project at a random time, make it ~3,000.
    rng = random.Random(7)
    for offset in range(61):
        day = dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(days=offset)
        for _ in range(45):
            at = day + dt.timedelta(seconds=rng.randrange(86_400))
            amount = Decimal(rng.randint(100, 5_000)).scaleb(-2)
            org.submit(rng.choice(org.projects).id, None, [amount], at)
    october = org.total(dt.date(2026, 10, 1), dt.date(2026, 11, 1))
    with (
        SimServer(org, api_key=KEY, now=end) as sim,
        IonQClient(sim.base_url, org.org_id, KEY) as client,
    ):
        clients = [client] + [
            client.with_key(key, key_label=f"IONQ_PROJECT_KEYS key {n}")
            for n, key in enumerate(sim.project_keys.values(), start=1)
        ]
        store = Store.memory()
        reader = LedgerReader(clients, store)
        first = reader.view(start, end.date() + dt.timedelta(days=1), end)
        at, steady, new = end, first, 0
        for _ in range(3):
            before = at
            at += dt.timedelta(minutes=15)
            sim.now = at
            steady = reader.view(start, at.date() + dt.timedelta(days=1), at)
            new = org.total(start, at.date() + dt.timedelta(1), until=at).job_count - (
                org.total(start, at.date() + dt.timedelta(1), until=before).job_count
            )
        store.close()
    return {
        "jobs_october": october.job_count,
        "jobs_backfilled": sum(d.total.jobs or 0 for d in first.days.values()),
        "keys": len(clients),
        "first_jobs": first.requests["jobs"],
        "first_cost": first.requests["cost"],
        "first_whoami": first.requests["whoami"],
        "steady_jobs": steady.requests["jobs"],
        "steady_cost": steady.requests["cost"],
        "steady_new": new,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"# budgetbot benchmark — {dt.date.today()}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.system()} {platform.release()}\n"
    )

    print("## (a) IonQ requests per check cycle")
    print("Steady: a cycle 30 minutes on, settled buckets stored, recent days kept an hour.")
    print("| policies | cold cycle | steady cycle | one-per-policy | steady ratio |")
    print("|---:|---:|---:|---:|---:|")
    for count, cold, steady in measure_requests([10, 100] if args.quick else [10, 100, 1000]):
        print(f"| {count} | {cold} | {steady} | {count} | {steady / count:.3f} |")

    groups, days = (100, 90) if args.quick else (500, 365)
    policies = 200 if args.quick else 1000
    seconds, found, queries = measure_engine(policies, groups, days, repeat=5)
    rss_b = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n## (b) engine: {policies} policies × {groups} groups × {days} days")
    print(
        f"median of 5: {seconds * 1000:.0f} ms ({found} findings from {queries} queries);"
        f" bench process peak RSS {rss_b:.0f} MB"
    )

    slash = measure_slash(args.latency, 50)
    print(
        f"\n## (c) 50 concurrent `/ionq-usage project weekly`, IonQ answering in {args.latency:g} s"
    )
    print(
        f"ack p50 {slash['ack_p50_ms']:.0f} ms, p99 {slash['ack_p99_ms']:.0f} ms;"
        f" full answer p50 {slash['answer_p50_s']:.2f} s, slowest"
        f" {slash['answer_max_s']:.2f} s ({slash['answered']:.0f}/50 answered);"
        f" IonQ requests: {slash['upstream']:.0f}"
    )

    rss_sched, reqs = measure_schedule(policies, cycles=5 if args.quick else 8)
    print("\n## (d) peak memory (VmHWM)")
    print(
        f"serve during (c): {slash['serve_rss_mb']:.0f} MB;"
        f" schedule with {policies} policies over several cycles: {rss_sched:.0f} MB"
        f" ({reqs} IonQ requests)"
    )

    g = measure_ledger()
    print("\n## (g) ledger walk: IonQ requests, every project keyed")
    print("A project two keys name (the organization's key names one) is walked once.")
    print(
        f"organization: {g['jobs_october']} jobs billed in October 2026 (the simulated one,"
        f" ~1,700, and 45 more a day), {g['keys']} keys (its own and one per project);"
        f" first walk (back-fills November 1-30, {g['jobs_backfilled']} jobs):"
        f" {g['first_jobs']} listing pages + {g['first_cost']} cost calls"
        f" + {g['first_whoami']} whoami; steady cycle (15 min on): {g['steady_jobs']}"
        f" listing pages + {g['steady_cost']} cost calls for {g['steady_new']} new jobs"
    )
    share = exact_budgets(NOW)  # the figures' own measure (bench/exact_share.py)
    rows = {k: v for k, v in share.items() if k.startswith("with") and isinstance(v, dict)}
    print(
        f"exact project budgets (project-monthly-cap, {NOW:%b %d}, of {share['projects']}): "
        + "; ".join(f"{label} {row['exact']}" for label, row in rows.items())
    )


if __name__ == "__main__":
    main()
