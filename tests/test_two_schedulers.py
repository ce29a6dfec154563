"""Two `schedule` processes on one PostgreSQL database through a simulated month: every alert
and digest is posted exactly once."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, budgetbot_command, process_env, wait_for

START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
RATE = 86_400.0  # one simulated day per real second
POLICY = """
policies:
  - name: org-month
    scope: organization
    budget: {usd: 200000}
    alert_at: [25, 50, 75, 100]
    forecast_at: [100]
    channel: "#quantum-spend"
  - name: project-month
    scope: project
    each: true
    budget: {usd: 30000}
    alert_at: [50, 80, 100]
    channel: "#quantum-spend"
  - name: user-week
    scope: user
    each: true
    period: week
    budget: {usd: 4000}
    alert_at: [80, 100]
    channel: "#quantum-spend"
digests:
  - name: weekly
    schedule: "0 9 * * MON"
    timezone: Europe/Berlin
    channel: "#quantum-spend"
"""


def posted(slack: FakeSlack) -> list[str]:
    """The dedup keys of budgetbot's posts, in order."""
    # Chart files the digests upload are messages too, without budgetbot's metadata.
    return [
        m["metadata"]["event_payload"]["dedup_key"]
        for m in slack.messages("#quantum-spend")
        if m.get("metadata")
    ]


def test_two_clock_processes_post_everything_once(pg_schema_url: str, tmp_path: Path):
    # Both processes and the simulator share this clock. It starts once both processes have had
    # time to start (on a loaded machine, importing budgetbot alone can take seconds): a process
    # that comes up after Nov 2 09:00 simulated would rightly not post that day's digest.
    anchor = time.time() + 8.0
    days = 30

    def sim_now() -> dt.datetime:
        return START + dt.timedelta(seconds=(time.time() - anchor) * RATE)

    (tmp_path / "rules.yaml").write_text(POLICY)
    with SimServer(SimOrg(), api_key=API_KEY, now=sim_now) as sim, FakeSlack() as slack:
        env = process_env(
            IONQ_BASE_URL=sim.base_url,
            IONQ_ORG_ID=sim.org.org_id,
            IONQ_API_KEY=API_KEY,
            SLACK_BOT_TOKEN="xoxb-two-clocks",
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=pg_schema_url,
            BUDGETBOT_POLICIES=tmp_path / "rules.yaml",
            BUDGETBOT_CHECK_SCHEDULE="0 */6 * * *",
        )
        args = budgetbot_command(
            "schedule",
            "--clock-start",
            START.isoformat(),
            "--clock-rate",
            str(RATE),
            "--clock-anchor",
            str(anchor),
        )
        # Logs go to files: a pipe nobody reads while the month runs could fill and stall them.
        logs = [tmp_path / f"schedule-{i}.log" for i in range(2)]
        procs = []
        for log in logs:
            with log.open("w") as err:
                procs.append(
                    subprocess.Popen(
                        args,
                        env=env,
                        cwd=tmp_path,
                        stdout=subprocess.DEVNULL,
                        stderr=err,
                        text=True,
                    )
                )
        # Run until the shared simulated clock is past the month and its last digest is out.
        end = START + dt.timedelta(days=days, hours=12)
        last_digest = "digest|weekly|2026-11-30T08:00:00+00:00"
        wait_for(
            lambda: sim_now() >= end and last_digest in posted(slack),
            seconds=days + 60,
            interval=0.2,
            message=lambda: (
                f"at {sim_now()}, digests posted: "
                + ", ".join(k for k in posted(slack) if k.startswith("digest|"))
                + "".join(f"\n{log.read_text()[-2000:]}" for log in logs)
            ),
        )
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, log in zip(procs, logs, strict=True):
            assert proc.wait(timeout=60) == 0, log.read_text()[-2000:]

        store = Store(pg_schema_url)
        rows = store.notifications()
        store.close()
        posts = posted(slack)
    assert rows and all(r.sent_at is not None for r in rows)
    assert Counter(posts) == Counter(r.dedup_key for r in rows)  # each posted exactly once
    digests = sorted(k for k in posts if k.startswith("digest|"))
    assert digests == [f"digest|weekly|2026-11-{d:02d}T08:00:00+00:00" for d in (2, 9, 16, 23, 30)]
    alerts = [k for k in posts if not k.startswith(("digest|", "notice|"))]
    assert any(k.startswith("org-month|*|2026-11|spend|") for k in alerts)
    assert any(k.startswith("user-week|") for k in alerts)
