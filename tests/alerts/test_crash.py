"""`check` killed with SIGKILL mid-delivery: every alert is still posted exactly once."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.support import API_KEY, budgetbot_command, outbox_rows, process_env, wait_for

NOW = "2026-11-20T12:00:00+00:00"
POLICY = """
policies:
  - name: org-month
    scope: organization
    budget: {usd: 180000}
    alert_at: [25, 50]
    channel: "#quantum-spend"
  - name: org-quarter
    scope: organization
    period: quarter
    budget: {usd: 540000}
    alert_at: [30]
    channel: "#quantum-spend"
  - name: project-month
    scope: project
    each: true
    budget: {usd: 15000}
    alert_at: [50]
    channel: "#quantum-spend"
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def env(sim, org, slack, tmp_path: Path) -> dict[str, str]:
    (tmp_path / "rules.yaml").write_text(POLICY)
    return process_env(
        IONQ_BASE_URL=sim.base_url,
        IONQ_ORG_ID=org.org_id,
        IONQ_API_KEY=API_KEY,
        SLACK_BOT_TOKEN="xoxb-crash-test",
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'state.db'}",
        BUDGETBOT_POLICIES=tmp_path / "rules.yaml",
        # The killed process's lease must not hold the restarted one back: keep it tiny.
        BUDGETBOT_DELIVERY_LEASE="0.001",
    )


def start_check(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        budgetbot_command("check", "--now", NOW),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows(tmp_path: Path) -> list[tuple[str, bool]]:
    return outbox_rows(tmp_path / "state.db")


def posted_keys(slack: FakeSlack) -> Counter[str]:
    return Counter(
        m["metadata"]["event_payload"]["dedup_key"] for m in slack.messages("#quantum-spend")
    )


def finish(env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        budgetbot_command("check", "--now", NOW),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_killed_between_recording_and_posting(env, slack, tmp_path):
    slack.fail("chat.postMessage", "internal_error", status=500, retry_after=None, times=None)
    proc = start_check(env, tmp_path)
    wait_for(
        lambda: (
            (tmp_path / "state.db").exists()
            and rows(tmp_path)
            and slack.calls_to("chat.postMessage")
        )
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    recorded = rows(tmp_path)
    assert len(recorded) >= 3 and not any(sent for _, sent in recorded)
    assert posted_keys(slack) == Counter()
    slack.reset()
    finish(env, tmp_path)
    assert all(sent for _, sent in rows(tmp_path))
    assert posted_keys(slack) == Counter({key: 1 for key, _ in recorded})


def test_killed_right_after_posting(env, slack, tmp_path):
    slack.answer_delay["chat.postMessage"] = 30.0  # Slack has the message; the answer hangs
    proc = start_check(env, tmp_path)
    wait_for(lambda: len(slack.messages("#quantum-spend")) == 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    recorded = rows(tmp_path)
    assert len(recorded) >= 3 and not any(sent for _, sent in recorded)
    slack.answer_delay.clear()
    finish(env, tmp_path)
    assert all(sent for _, sent in rows(tmp_path))
    # The interrupted post was found by its metadata, not posted again.
    assert posted_keys(slack) == Counter({key: 1 for key, _ in recorded})
    assert slack.calls_to("conversations.history")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


def recorded(url: str) -> list[tuple[str, bool]]:
    """(dedup_key, sent) of every notification, read while another process writes."""
    if url.startswith("sqlite:///"):
        return outbox_rows(url.removeprefix("sqlite:///"))
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.text("SELECT dedup_key, sent_at FROM notifications"))
            return [(key, sent is not None) for key, sent in found.all()]
    except sa.exc.ProgrammingError:
        return []  # no schema yet
    finally:
        engine.dispose()


def test_a_killed_process_lease_is_taken_over_at_once(env, database_url, slack, tmp_path):
    # The real lease (10 minutes): the next cycle must not wait for it to end.
    env = {k: v for k, v in env.items() if k != "BUDGETBOT_DELIVERY_LEASE"}
    env["DATABASE_URL"] = database_url
    slack.answer_delay["chat.postMessage"] = 30.0  # killed while sending, lease held
    proc = start_check(env, tmp_path)
    wait_for(lambda: len(slack.messages("#quantum-spend")) == 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    before = recorded(database_url)
    assert len(before) >= 3 and not any(sent for _, sent in before)
    slack.answer_delay.clear()
    done = subprocess.run(
        budgetbot_command("check", "--now", NOW),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "being sent by another process" not in done.stderr
    assert all(sent for _, sent in recorded(database_url))
    assert posted_keys(slack) == Counter({key: 1 for key, _ in before})
