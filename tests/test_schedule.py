"""The clock process: due times, catch-up within grace, and once-only digests across kills."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import subprocess
from pathlib import Path

import pytest

from budgetbot.scheduler import Job, Scheduler, last_time, next_time, scaled_clock
from tests.support import API_KEY, budgetbot_command, outbox_rows, process_env, wait_for

UTC = dt.UTC


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def test_digest_times_follow_the_timezone_across_dst():
    cron = "0 9 * * MON"
    # 09:00 in Berlin is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
    assert next_time(cron, "Europe/Berlin", t("2026-11-20T00:00:00+00:00")) == t(
        "2026-11-23T08:00:00+00:00"
    )
    assert next_time(cron, "Europe/Berlin", t("2026-06-10T00:00:00+00:00")) == t(
        "2026-06-15T07:00:00+00:00"
    )
    assert last_time(cron, "Europe/Berlin", t("2026-11-23T08:00:00+00:00")) == t(
        "2026-11-23T08:00:00+00:00"
    )
    assert last_time(cron, "Europe/Berlin", t("2026-11-23T07:59:59+00:00")) == t(
        "2026-11-16T08:00:00+00:00"
    )


class FakeTime:
    """A clock that moves only when the scheduler waits; stops after a deadline."""

    def __init__(self, start: dt.datetime, until: dt.datetime) -> None:
        self.now = start
        self.until = until

    def clock(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += dt.timedelta(seconds=seconds)
        return self.now > self.until


def test_jobs_run_at_each_scheduled_time():
    ran: list[dt.datetime] = []
    fake = FakeTime(t("2026-11-23T07:50:00+00:00"), t("2026-11-23T09:00:00+00:00"))
    Scheduler(
        [Job("check", "*/15 * * * *", "UTC", ran.append)], clock=fake.clock, wait=fake.wait
    ).run()
    assert ran == [
        t(f"2026-11-23T{h}+00:00")
        for h in ("08:00:00", "08:15:00", "08:30:00", "08:45:00", "09:00:00")
    ]


def test_missed_digest_runs_once_within_grace_and_not_after():
    ran: list[dt.datetime] = []
    job = Job("digest", "0 9 * * MON", "Europe/Berlin", ran.append, grace=dt.timedelta(hours=12))
    late = FakeTime(t("2026-11-23T10:00:00+00:00"), t("2026-11-23T11:00:00+00:00"))
    Scheduler([job], clock=late.clock, wait=late.wait).run()
    assert ran == [t("2026-11-23T08:00:00+00:00")]
    ran.clear()
    too_late = FakeTime(t("2026-11-24T10:00:00+00:00"), t("2026-11-24T11:00:00+00:00"))
    Scheduler([job], clock=too_late.clock, wait=too_late.wait).run()
    assert ran == []


def test_a_failing_job_does_not_stop_the_clock():
    ran: list[dt.datetime] = []

    def boom(when: dt.datetime) -> None:
        raise RuntimeError("IonQ down")

    fake = FakeTime(t("2026-11-23T07:59:00+00:00"), t("2026-11-23T08:31:00+00:00"))
    Scheduler(
        [Job("bad", "*/15 * * * *", "UTC", boom), Job("good", "*/30 * * * *", "UTC", ran.append)],
        clock=fake.clock,
        wait=fake.wait,
    ).run()
    assert len(ran) == 2


def test_the_scheduler_says_when_it_has_caught_up(caplog):
    """One line after the catch-up names the next job: an operator (and a test watching the
    process) knows the process is now only waiting, without sleeping on it."""
    caplog.set_level(logging.INFO, logger="budgetbot.schedule")
    job = Job("digest weekly", "0 9 * * MON", "Europe/Berlin", lambda _: None)
    fake = FakeTime(t("2026-11-23T07:00:00+00:00"), t("2026-11-23T07:30:00+00:00"))
    Scheduler([job], clock=fake.clock, wait=fake.wait).run()
    assert "caught up; next: digest weekly at 2026-11-23T08:00:00+00:00" in caplog.messages


def test_scaled_clock_runs_from_its_start_at_its_rate():
    wall = [t("2026-12-04T10:00:00+00:00")]
    clock = scaled_clock(t("2026-11-23T07:59:00+00:00"), 60.0, wall=lambda: wall[0])
    assert clock() == t("2026-11-23T07:59:00+00:00")
    wall[0] += dt.timedelta(seconds=2)
    assert clock() == t("2026-11-23T08:01:00+00:00")  # two real seconds, two simulated minutes
    real = scaled_clock(wall=lambda: wall[0])
    assert real() == wall[0]
    # Two processes given one anchor (a Unix time) read one simulated clock.
    anchor = wall[0].timestamp() - 10
    shared = scaled_clock(t("2026-11-01T00:00:00+00:00"), 2.0, anchor, wall=lambda: wall[0])
    assert shared() == t("2026-11-01T00:00:20+00:00")
    # Started before its anchor, it stands at its start until the anchor comes.
    early = scaled_clock(
        t("2026-11-01T00:00:00+00:00"), 86_400.0, anchor + 20, wall=lambda: wall[0]
    )
    assert early() == t("2026-11-01T00:00:00+00:00")


# -- the real process, killed across the digest's minute -------------------------------------

DIGEST_POLICY = """
digests:
  - name: weekly
    schedule: "0 9 * * MON"
    timezone: Europe/Berlin
    channel: "#quantum-spend"
"""


@pytest.fixture
def clock_env(sim, org, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "digest.yaml").write_text(DIGEST_POLICY)
    return process_env(
        IONQ_BASE_URL=sim.base_url,
        IONQ_ORG_ID=org.org_id,
        IONQ_API_KEY=API_KEY,
        DATABASE_URL=f"sqlite:///{tmp_path / 'state.db'}",
        BUDGETBOT_POLICIES=tmp_path / "rules",
        BUDGETBOT_CHECK_SCHEDULE="0 0 1 1 *",  # keep the check cycle out of this test
    )


class Clock:
    """A running ``budgetbot schedule`` whose log is a file the test can watch."""

    def __init__(self, env: dict[str, str], cwd: Path, clock_start: str, rate: float) -> None:
        self.log = cwd / f"schedule-{clock_start}.log"
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                budgetbot_command(
                    "schedule", "--clock-start", clock_start, "--clock-rate", str(rate)
                ),
                env=env,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )

    def caught_up(self) -> None:
        """Wait until the process has run what was due at its start and only waits now."""
        wait_for(lambda: "caught up; next:" in self.log.read_text(), message=self.log.read_text)

    def stop(self) -> str:
        """SIGTERM, then its standard output; it must stop cleanly."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=20)
        assert self.proc.returncode == 0, self.log.read_text()
        return out

    def kill(self) -> str:
        """SIGKILL (no clean shutdown), then its standard output."""
        self.proc.kill()
        out, _ = self.proc.communicate(timeout=10)
        return out


def digests(tmp_path: Path) -> list[tuple[str, bool]]:
    return outbox_rows(tmp_path / "state.db")


def test_killed_before_the_minute_posts_once_after_restart(clock_env, tmp_path):
    # 08:59:00 Berlin; killed before 09:00 (SIGKILL: no clean shutdown).
    clock = Clock(clock_env, tmp_path, "2026-11-23T08:59:00+01:00", 1.0)
    clock.caught_up()
    clock.kill()
    assert not (tmp_path / "state.db").exists() or digests(tmp_path) == []
    # Back at 09:05, within the grace window: the missed digest goes out once.
    clock = Clock(clock_env, tmp_path, "2026-11-23T09:05:00+01:00", 1.0)
    wait_for(lambda: (tmp_path / "state.db").exists() and any(s for _, s in digests(tmp_path)))
    assert clock.stop().count("DIGEST") == 1
    # And once more at 09:10: nothing new.
    clock = Clock(clock_env, tmp_path, "2026-11-23T09:10:00+01:00", 1.0)
    clock.caught_up()
    assert "DIGEST" not in clock.stop()
    rows = digests(tmp_path)
    assert rows == [("digest|weekly|2026-11-23T08:00:00+00:00", True)]


def test_killed_right_after_posting_does_not_post_again(clock_env, tmp_path):
    clock = Clock(clock_env, tmp_path, "2026-11-23T08:59:58+01:00", 1.0)
    wait_for(lambda: (tmp_path / "state.db").exists() and any(s for _, s in digests(tmp_path)))
    assert clock.kill().count("DIGEST") == 1
    clock = Clock(clock_env, tmp_path, "2026-11-23T09:01:00+01:00", 1.0)
    clock.caught_up()
    assert "DIGEST" not in clock.stop()
    assert len(digests(tmp_path)) == 1


def test_digest_command_dry_run_prints_the_digest(ionq_env, tmp_path):
    from click.testing import CliRunner

    from budgetbot.cli import main

    (tmp_path / "d.yaml").write_text(DIGEST_POLICY)
    result = CliRunner().invoke(
        main,
        [
            "digest",
            "--dry-run",
            "--now",
            "2026-11-23T08:00:00Z",
            "--policies",
            str(tmp_path / "d.yaml"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "week of Nov 16" in result.output and "Top projects" in result.output
    bad = CliRunner().invoke(main, ["digest", "nope", "--policies", str(tmp_path / "d.yaml")])
    assert bad.exit_code == 2 and "no digest named 'nope'" in bad.output


def test_a_failing_digest_is_retried_within_its_grace_then_given_up():
    attempts: list[dt.datetime] = []

    def flaky(when: dt.datetime) -> None:
        attempts.append(when)
        if len(attempts) < 3:
            raise RuntimeError("IonQ unavailable")

    job = Job("digest", "0 9 * * MON", "Europe/Berlin", flaky, grace=dt.timedelta(hours=1))
    fake = FakeTime(t("2026-11-23T07:59:00+00:00"), t("2026-11-23T10:00:00+00:00"))
    Scheduler([job], clock=fake.clock, wait=fake.wait).run()
    # Every attempt is for the same scheduled time; the third one succeeds.
    assert attempts == [t("2026-11-23T08:00:00+00:00")] * 3

    always: list[dt.datetime] = []

    def down(when: dt.datetime) -> None:
        always.append(when)
        raise RuntimeError("IonQ unavailable")

    job = Job("digest", "0 9 * * MON", "Europe/Berlin", down, grace=dt.timedelta(minutes=30))
    fake = FakeTime(t("2026-11-23T07:59:00+00:00"), t("2026-11-23T10:00:00+00:00"))
    Scheduler([job], clock=fake.clock, wait=fake.wait).run()
    # 08:00, then every 5 minutes up to 08:30; the next try would be past the grace window.
    assert always == [t("2026-11-23T08:00:00+00:00")] * 7
