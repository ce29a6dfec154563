"""No secret in any output: the main scenarios run with known secret values, and every log line
(at DEBUG, third-party libraries included), error, printed line, stored row and message sent to
Slack is searched for them."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.cli.runtime import Runtime
from budgetbot.ionq import IonQClient, IonQError
from budgetbot.settings import Settings
from budgetbot.sim import SimOrg, SimServer
from budgetbot.store import Store
from tests.fakes.slack_api import FakeSlack
from tests.slack.test_signing import signed_headers
from tests.support import budgetbot_command, process_env, wait_for

IONQ_KEY = "ionq-K3Y-0f-known-value-91c2"
BOT_TOKEN = "xoxb-known-b0t-t0ken-55e1"
SIGNING = "known-signing-s3cret-7d40"
PROJECT_KEY = "ionq-pr0ject-K3Y-known-33aa"
BAD_PROJECT_KEY = "ionq-bad-pr0ject-known-77bb"
SECRETS = (IONQ_KEY, BOT_TOKEN, SIGNING, PROJECT_KEY, BAD_PROJECT_KEY)
NOW = "2026-11-20T12:00:00+00:00"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    org = SimOrg()
    project_keys = {org.projects[1].id: PROJECT_KEY}
    with (
        SimServer(org, api_key=IONQ_KEY, now=dt_now(), project_keys=project_keys) as sim,
        FakeSlack() as slack,
    ):
        env = {
            "IONQ_BASE_URL": sim.base_url,
            "IONQ_ORG_ID": org.org_id,
            "IONQ_API_KEY": IONQ_KEY,
            # One good project key and one IonQ refuses: both are secrets.
            "IONQ_PROJECT_KEYS": f"{PROJECT_KEY}, {BAD_PROJECT_KEY}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "BUDGETBOT_POLICIES": str(REPO / "policies"),
            "BUDGETBOT_LOG_LEVEL": "DEBUG",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        yield env | {"_slack": slack, "_sim": sim}  # type: ignore[dict-item]


def dt_now():
    import datetime as dt

    return dt.datetime.fromisoformat(NOW)


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_secret_anywhere(world, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # everything, httpx and slack_sdk included
    slack: FakeSlack = world["_slack"]  # type: ignore[assignment]
    sim: SimServer = world["_sim"]  # type: ignore[assignment]
    outputs: list[str] = []
    runner = CliRunner()

    def run(*args: str, **env: str) -> None:
        result = runner.invoke(main, list(args), env=env or None)
        outputs.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception))

    run("report", "project", "weekly", "--now", NOW)
    run("report", "user", "daily", "7d", "--json", "--now", NOW)
    run("check", "--now", NOW)
    run("digest", "--now", NOW)
    run("check", "--dry-run", "--now", NOW)
    # Failures: IonQ refuses a key, Slack refuses a token, IonQ is down, Slack is down.
    run("report", "--now", NOW, IONQ_API_KEY=IONQ_KEY + "-wrong")
    slack.token = "xoxb-someone-else"
    run("digest", "--now", "2026-11-23T08:00:00+00:00")
    slack.token = None
    sim.fail(503, times=100)
    run("check", "--now", "2026-11-21T12:00:00+00:00")
    sim.reset()
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after="0", times=None)
    run("check", "--now", "2026-11-25T12:00:00+00:00")
    slack.reset()

    # reprs and errors of the objects that hold secrets
    settings = Settings()
    outputs += [repr(settings), str(settings), repr(IonQClient("http://x", "o", IONQ_KEY))]
    outputs += [repr(settings.project_keys), str(settings.project_keys)]

    # the queue, read with every key: a refused project key is logged; then IonQ fails
    with Runtime(settings) as runtime:
        reader = runtime.queue_reader()
        outputs += [repr(reader), repr(reader.clients), repr(reader.snapshot(dt_now()))]
        # the ledger, walked with the same keys
        ledger, today = runtime.ledger_reader(), dt_now().date()
        view = ledger.view(today.replace(day=1), today, dt_now())
        outputs += [repr(ledger), repr(ledger.keys), repr(view)]
        sim.malformed(times=1, route="jobs")  # not retried: no real waiting
        with pytest.raises(IonQError) as failed:
            reader.snapshot(dt_now())
        outputs += [str(failed.value), repr(failed.value)]
    assert "IONQ_PROJECT_KEYS key 2" in caplog.text

    # the web process, with real signed requests, in a subprocess
    outputs.append(serve_and_ask(world, tmp_path))

    store = Store(world["DATABASE_URL"])
    rows = store.notifications()
    store.close()
    assert rows, "the scenarios should have produced notifications"
    sent_to_slack = [json.dumps(body) for _, body, _ in slack.calls]
    to_ionq = [json.dumps(r.query) + r.path + r.body for r in sim.requests]
    everything = {
        "printed": "\n".join(outputs),
        "logged": caplog.text,
        "stored": "\n".join(r.payload + (r.last_error or "") for r in rows),
        "posted to Slack": "\n".join(sent_to_slack),
        "sent to IonQ outside the header": "\n".join(to_ionq),
    }
    # The capture really saw third-party DEBUG lines (slack_sdk logs each request it sends).
    assert "chat.postMessage" in caplog.text and "budgetbot.cycle" in caplog.text
    for where, text in everything.items():
        assert text.strip(), f"nothing was {where}: the scenario did not run"
        assert leaks(text) == [], f"a secret was {where}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_and_ask(world: dict[str, str], tmp_path: Path) -> str:
    port = free_port()
    env = process_env(**{k: v for k, v in world.items() if not k.startswith("_")})
    proc = subprocess.Popen(
        budgetbot_command("serve", "--port", str(port), "--now", NOW),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def answering() -> bool:
            try:
                return httpx.get(base + "/healthz").status_code in (200, 503)
            except httpx.TransportError:
                return False

        wait_for(answering)
        texts = ("project weekly", "budgets", "projekt", "user daily 7d")
        for text in texts:
            body = urlencode(
                {
                    "team_id": "T123",
                    "user_id": "U1",
                    "channel_id": "C0123456",
                    "command": "/ionq-usage",
                    "text": text,
                    "response_url": world["_slack"].response_url("s"),
                }
            )  # type: ignore[attr-defined]
            headers = signed_headers(SIGNING, int(time.time()), body)
            httpx.post(base + "/slack/events", content=body, headers=headers, timeout=10)
        httpx.post(base + "/slack/events", content="x=1", headers={"X-Slack-Signature": "v0=no"})
        # Let the listeners answer (their output is what we search): each command answers once.
        wait_for(lambda: len(world["_slack"].responses("s")) >= len(texts))  # type: ignore[attr-defined]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    return out + err
