"""The real ``budgetbot serve`` in a subprocess, driven over loopback HTTP like Slack drives it.

IonQ is the simulator (started here, with latency so that a slow IonQ is visible), Slack's Web API
and ``response_url`` are the fake; requests are signed by the test. The process is stopped with
SIGTERM at the end, and nothing it logged may contain a secret.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from budgetbot.sim import SimOrg, SimServer
from budgetbot.slack.replies import APOLOGY, IONQ_DOWN, WORKING
from tests.fakes.slack_api import FakeSlack, iter_blocks_text
from tests.slack.test_signing import sign, signed_headers
from tests.support import NOW, budgetbot_command, process_env, wait_for

REPO = Path(__file__).resolve().parents[2]
BOT_TOKEN = "xoxb-test-7f3a9c1e5b-serve-token"
SIGNING_SECRET = "serve-signing-secret-5e2d8a"
IONQ_KEY = "ionq-serve-key-4b6c0d"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, IONQ_KEY)
LISTENING = re.compile(r"serving Slack at http://[^:]+:(\d+)/slack/events")
#: Slack gives up on a slash command not acknowledged within 3 seconds.
ACK_LIMIT = 3.0


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    stderr: Path
    sim: SimServer
    fake: FakeSlack

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


def _env(tmp: Path, sim: SimServer, fake: FakeSlack, **over: str) -> dict[str, str]:
    settings = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "IONQ_BASE_URL": sim.base_url,
        "IONQ_ORG_ID": sim.org_id,
        "IONQ_API_KEY": IONQ_KEY,
        "BUDGETBOT_POLICIES": str(REPO / "policies"),
        "DATABASE_URL": f"sqlite:///{tmp / 'state.db'}",
    }
    return process_env(**(settings | over))


def _serve_cmd() -> list[str]:
    return budgetbot_command("serve", "--host", "127.0.0.1", "--port", "0")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve")
    stderr = tmp / "stderr.log"
    with (
        SimServer(SimOrg(), api_key=IONQ_KEY, now=NOW) as sim,
        FakeSlack(token=BOT_TOKEN) as fake,
        stderr.open("wb") as err,
    ):
        proc = subprocess.Popen(
            [*_serve_cmd(), "--now", NOW.isoformat()],
            cwd=tmp,
            env=_env(tmp, sim, fake),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            port = _wait_listening(proc, stderr)
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url)
            yield Served(proc, url, stderr, sim, fake)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
        log = stderr.read_text(errors="replace")
        assert code == 0, log
        assert "budgetbot stopped" in log
        for secret in SECRETS:
            assert secret not in log


def _wait_listening(proc: subprocess.Popen[bytes], stderr: Path) -> int:
    def port() -> int | None:
        m = LISTENING.search(stderr.read_text(errors="replace"))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}:\n{stderr.read_text()}")
        return None

    return wait_for(port, 20, message=lambda: f"serve did not start:\n{stderr.read_text()}")


def _wait_healthy(url: str) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(healthy, 10, message="no /healthz")


@pytest.fixture(autouse=True)
def _clean(served: Served) -> None:
    served.sim.reset()


def form(text: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "verification-token-unused",
            "team_id": "T123",
            "team_domain": "fake-workspace",
            "channel_id": "C0123456",
            "channel_name": "quantum-spend",
            "user_id": "U0123",
            "user_name": "alice",
            "command": "/ionq-usage",
            "text": text,
            "api_app_id": "A0123",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def post(
    served: Served,
    body: str,
    *,
    secret: str | None = SIGNING_SECRET,
    age: float = 0.0,
) -> tuple[httpx.Response, float]:
    """POST a slash command; returns the answer and the seconds it took."""
    if secret is None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        # The server checks the timestamp against its own (wall) clock.
        headers = signed_headers(secret, int(time.time() - age), body)
    started = time.monotonic()
    response = httpx.post(f"{served.url}/slack/events", content=body, headers=headers, timeout=10)
    return response, time.monotonic() - started


def slash(served: Served, text: str, id_: str) -> tuple[httpx.Response, float]:
    return post(served, form(text, served.fake.response_url(id_)))


def wait_answer(served: Served, id_: str, timeout: float = 20.0) -> dict[str, Any]:
    found = wait_for(
        lambda: served.fake.responses(id_),
        timeout,
        message=lambda: f"nothing arrived at response_url {id_!r}:\n{served.log()[-3000:]}",
    )
    return found[0]


def handled_so_far(served: Served) -> None:
    """A barrier instead of a sleep: a help command sent now is answered, so the requests sent
    before it have been taken in and handled (help needs no IonQ, so it never waits)."""
    marker = f"barrier-{time.monotonic_ns()}"
    slash(served, "help", marker)
    wait_answer(served, marker)


def text_of(message: dict[str, Any]) -> str:
    return " ".join([message.get("text", ""), *iter_blocks_text(message.get("blocks") or [])])


# -- routes ---------------------------------------------------------------------------------


def test_healthz_and_unknown_paths(served: Served) -> None:
    health = httpx.get(f"{served.url}/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "last_good_cycle": None,  # no check cycle has run against this fresh database
        "ionq_unavailable_since": None,
        "oldest_pending_notification": None,
    }
    assert httpx.get(f"{served.url}/nope").status_code == 404
    assert httpx.post(f"{served.url}/slack/other", content="x").status_code == 404
    assert httpx.get(f"{served.url}/slack/events").status_code == 405


def test_unsigned_wrongly_signed_and_stale_requests_get_401(served: Served) -> None:
    body = form("project weekly", served.fake.response_url("denied"))
    assert post(served, body, secret=None)[0].status_code == 401
    assert post(served, body, secret="not-the-secret")[0].status_code == 401
    assert post(served, body, age=6 * 60)[0].status_code == 401
    tampered = signed_headers(SIGNING_SECRET, int(time.time()), body)
    response = httpx.post(
        f"{served.url}/slack/events", content=body.replace("weekly", "daily"), headers=tampered
    )
    assert response.status_code == 401
    handled_so_far(served)
    assert served.sim.usage_requests == []
    assert served.fake.responses("denied") == []


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "", "0x10", "1e3"])
def test_a_timestamp_that_is_no_number_gets_401_and_no_call_to_its_response_url(
    served: Served, timestamp: str
) -> None:
    body = form("project weekly", served.fake.response_url("no-number"))
    for signature in ("v0=" + "0" * 64, sign(SIGNING_SECRET, timestamp, body)):
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        response = httpx.post(f"{served.url}/slack/events", content=body, headers=headers)
        assert response.status_code == 401
    handled_so_far(served)  # nothing may arrive later either
    assert served.fake.responses("no-number") == []
    assert served.sim.usage_requests == []
    assert "Traceback" not in served.log()


# -- slash commands -------------------------------------------------------------------------


def test_report_is_acknowledged_before_ionq_answers(served: Served) -> None:
    served.sim.latency = 5.0
    response, took = slash(served, "project weekly", "report")
    assert response.status_code == 200
    assert took < ACK_LIMIT, f"acknowledged after {took:.2f}s"
    assert response.json() == {"text": WORKING, "response_type": "ephemeral"}
    answer = wait_answer(served, "report")
    assert answer["response_type"] == "ephemeral"
    assert "IonQ spend by project, weekly" in text_of(answer)
    assert answer["blocks"][0]["type"] == "header"
    assert len(served.sim.usage_requests) == 1


def test_share_answers_in_channel(served: Served) -> None:
    response, _ = slash(served, "user daily 7d share", "share")
    assert response.status_code == 200
    answer = wait_answer(served, "share")
    assert answer["response_type"] == "in_channel"
    assert "IonQ spend by user, daily" in text_of(answer)


@pytest.mark.parametrize(
    ("text", "expect", "id_"),
    [
        ("help", "/ionq-usage budgets", "help"),
        ("projekt weekly", "/ionq-usage project weekly", "typo"),
        ("ob " * 3333, "/ionq-usage budgets", "absurd"),
    ],
)
def test_help_and_typos_are_acknowledged_then_answered_without_ionq(
    served: Served, text: str, expect: str, id_: str
) -> None:
    served.sim.latency = 5.0
    response, took = slash(served, text, id_)
    assert response.status_code == 200 and took < ACK_LIMIT
    assert response.json() == {"text": WORKING, "response_type": "ephemeral"}
    doc = wait_answer(served, id_)
    assert doc["response_type"] == "ephemeral"
    shown = text_of(doc)
    assert expect in shown
    if text == "projekt weekly":
        assert "Did you mean" in shown
    handled_so_far(served)
    assert served.sim.usage_requests == []
    assert len(served.fake.responses(id_)) == 1


def test_budgets_view(served: Served) -> None:
    served.sim.latency = 1.0
    response, took = slash(served, "budgets", "budgets")
    assert response.status_code == 200 and took < ACK_LIMIT
    answer = wait_answer(served, "budgets")
    assert answer["response_type"] == "ephemeral"
    text = text_of(answer)
    assert "Budgets this period" in text
    for rule in ("org-monthly", "chem-monthly", "user-weekly"):
        assert rule in text


def test_ionq_outage_is_one_polite_sentence(served: Served) -> None:
    served.sim.fail(503, times=50)
    response, _ = slash(served, "org monthly", "outage")
    assert response.status_code == 200
    answer = wait_answer(served, "outage")
    assert answer["text"] == IONQ_DOWN
    assert answer["response_type"] == "ephemeral"
    assert APOLOGY not in text_of(answer)
    assert "IonQ" in served.log()  # the details are in the log instead


def test_many_commands_at_once_do_not_queue(served: Served) -> None:
    """20 slow commands at once: each acknowledged in time, all answered in about one delay."""
    served.sim.latency = 3.0
    count = 20
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(
            pool.map(lambda i: slash(served, "project weekly", f"many-{i}"), range(count))
        )
    assert all(r.status_code == 200 for r, _ in results)
    assert max(took for _, took in results) < ACK_LIMIT
    for i in range(count):
        wait_answer(served, f"many-{i}", timeout=15)
    # With Bolt's default 5 listener threads this would take four rounds (12 s and more).
    assert time.monotonic() - started < 9.0


# -- start-up failures ----------------------------------------------------------------------


def _start_and_fail(tmp: Path, sim: SimServer, fake: FakeSlack, **env: str) -> tuple[int, str]:
    run = subprocess.run(
        _serve_cmd(),
        cwd=tmp,
        env=_env(tmp, sim, fake, **env),
        capture_output=True,
        timeout=30,
    )
    return run.returncode, run.stderr.decode(errors="replace")


def test_serve_refuses_to_start_without_a_signing_secret(served: Served, tmp_path: Path) -> None:
    code, err = _start_and_fail(tmp_path, served.sim, served.fake, SLACK_SIGNING_SECRET="")
    assert code == 1
    assert "Error: SLACK_SIGNING_SECRET is not set" in err
    assert "Traceback" not in err


def test_serve_refuses_to_start_with_a_rejected_token(served: Served, tmp_path: Path) -> None:
    refused = "xoxb-refused-by-fake-slack-99"
    code, err = _start_and_fail(tmp_path, served.sim, served.fake, SLACK_BOT_TOKEN=refused)
    assert code == 1
    assert "Slack refused SLACK_BOT_TOKEN (auth.test answered invalid_auth)" in err
    assert refused not in err and "Traceback" not in err


def _socket_mode(tmp: Path, sim: SimServer, fake: FakeSlack, app_token: str) -> tuple[int, str]:
    run = subprocess.run(
        [*_serve_cmd(), "--socket-mode"],
        cwd=tmp,
        env=_env(tmp, sim, fake, SLACK_APP_TOKEN=app_token),
        capture_output=True,
        timeout=60,
    )
    return run.returncode, run.stderr.decode(errors="replace")


@pytest.mark.parametrize("error", ["invalid_auth", "not_allowed_token_type"])
def test_socket_mode_with_a_refused_app_token_is_one_line_naming_it(
    served: Served, tmp_path: Path, error: str
) -> None:
    token = "xapp-1-A0-refused-app-token-31"
    served.fake.fail("apps.connections.open", error=error, status=200)
    code, err = _socket_mode(tmp_path, served.sim, served.fake, token)
    assert code == 1
    assert served.fake.calls_to("apps.connections.open")
    assert "Traceback" not in err and "connected" not in err
    naming = [line for line in err.splitlines() if "SLACK_APP_TOKEN" in line]
    assert naming == [
        f"Error: Slack refused SLACK_APP_TOKEN (apps.connections.open answered {error}):"
        " check SLACK_APP_TOKEN (an app-level token, xapp-…, with connections:write)"
    ], err
    assert token not in err and BOT_TOKEN not in err


@pytest.mark.parametrize("end", ["\r", "\n", "\t"])
def test_socket_mode_with_a_control_character_in_the_app_token_is_one_line(
    served: Served, tmp_path: Path, end: str
) -> None:
    # A .env file with CRLF line endings: the header cannot be sent, and the ValueError was a
    # traceback quoting the token.
    token = "xapp-1-A0-token-from-a-crlf-file-77"
    code, err = _socket_mode(tmp_path, served.sim, served.fake, token + end)
    assert code == 1
    assert "Traceback" not in err and "connected" not in err
    naming = [line for line in err.splitlines() if "SLACK_APP_TOKEN" in line]
    assert len(naming) == 1 and naming[0].startswith("Error: "), err
    assert token not in err


def test_socket_mode_that_cannot_connect_is_one_line(served: Served, tmp_path: Path) -> None:
    # The fake hands out a WebSocket URL where no WebSocket is served.
    code, err = _socket_mode(tmp_path, served.sim, served.fake, "xapp-1-A0-accepted-app-token")
    assert code == 1
    assert "Traceback" not in err and "connected" not in err
    naming = [line for line in err.splitlines() if "SLACK_APP_TOKEN" in line]
    assert len(naming) == 1 and naming[0].startswith("Error: Could not connect to Slack"), err


def test_an_oversized_body_is_refused_from_its_length_before_it_is_sent(served: Served) -> None:
    # Unsigned, 100 MB announced and nothing sent: the 413 must not wait for (and spool) a body
    # that will be refused anyway; waitress used to wait for all of it (its limit was 1 GB).
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: budgetbot\r\nContent-Length: 100000000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"X-Slack-Request-Timestamp: abc\r\nX-Slack-Signature: v0=1\r\n\r\n"
        )
        assert conn.recv(64).startswith(b"HTTP/1.1 413")
