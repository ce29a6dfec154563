"""Requests into ``serve``'s WSGI application that must cause nothing: forged and malformed.

The application is the one ``budgetbot serve`` runs (``create_wsgi_app(build_app(...))`` with the
dependencies ``serve`` builds from settings), called in process over ``httpx.WSGITransport``;
IonQ is the simulator and Slack (Web API and ``response_url``) the fake. A request that fails
verification gets 401 and nothing else: no ``response_url`` call, no Slack or IonQ call, no store
write, not even a dispatch to Bolt. A signed but malformed one gets a 4xx and one log line, never
a 500 or a traceback. Both are laws over generated requests (hypothesis).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from budgetbot.cli.runtime import serve_runtime, slack_deps
from budgetbot.render.blocks import ACK_ACTION, AlertRef, alert_ref_value
from budgetbot.rules import load_policies
from budgetbot.sim import SimOrg, SimServer
from budgetbot.slack.app import build_app, socket_mode_handler
from budgetbot.slack.web import create_wsgi_app
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import slack_settings
from tests.support import API_KEY, NOW, wait_for

REPO = Path(__file__).resolve().parents[2]
SECRET = "inbound-signing-secret-3c9e"
BOT_TOKEN = "xoxb-inbound-token-71d2"
FORM = "application/x-www-form-urlencoded"
#: The timestamps of the issue: none is a number of seconds.
NOT_NUMBERS = ("abc", "1.5", "", "0x10", "1e3")


class Records(logging.Handler):
    """Every log record, for counting lines and looking for tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[logging.LogRecord]:
        return [r for r in self.records if r.levelno >= logging.WARNING]


@dataclass
class Inbound:
    client: httpx.Client
    sim: SimServer
    fake: FakeSlack
    db: Path
    app: App
    logs: Records
    dispatched: list[BoltRequest] = field(default_factory=list)

    def post(self, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
        self.logs.records.clear()
        content = body.encode() if isinstance(body, str) else body
        return self.client.post("/slack/events", content=content, headers=headers)

    def state(self) -> tuple[int, int, int, str]:
        """Everything a request could have caused: Slack calls (``response_url`` included),
        IonQ requests, dispatches to Bolt, and the store's whole content."""
        with sqlite3.connect(self.db) as conn:
            dump = "\n".join(conn.iterdump())
        return (len(self.fake.calls), len(self.sim.usage_requests), len(self.dispatched), dump)


@pytest.fixture(scope="module")
def inbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbound]:
    tmp = tmp_path_factory.mktemp("inbound")
    db = tmp / "state.db"
    logs = Records()
    root = logging.getLogger()
    root.addHandler(logs)
    with (
        SimServer(SimOrg(), api_key=API_KEY, now=NOW) as sim,
        FakeSlack(token=BOT_TOKEN) as fake,
    ):
        settings_ = slack_settings(
            sim,
            fake,
            database_url=f"sqlite:///{db}",
            policies=REPO / "policies",
            bot_token=BOT_TOKEN,
            signing_secret=SECRET,
        )
        deps = slack_deps(
            serve_runtime(settings_, now=lambda: NOW),
            load_policies(REPO / "policies"),
            now=lambda: NOW,
        )
        app = build_app(settings_, deps)
        dispatched: list[BoltRequest] = []
        real_dispatch = app.dispatch

        def counting_dispatch(req: BoltRequest) -> BoltResponse:
            dispatched.append(req)
            return real_dispatch(req)

        app.dispatch = counting_dispatch  # type: ignore[method-assign]
        transport = httpx.WSGITransport(app=create_wsgi_app(app, signing_secret=SECRET))
        try:
            with httpx.Client(transport=transport, base_url="http://budgetbot.test") as client:
                yield Inbound(client, sim, fake, db, app, logs, dispatched)
        finally:
            deps.close()
            root.removeHandler(logs)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("latin-1") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: bytes | str, content_type: str = FORM) -> dict[str, str]:
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(SECRET, ts, raw),
    }


def slash_form(text: str, response_url: str) -> str:
    return urlencode(
        {
            "token": "unused",
            "team_id": "T123",
            "channel_id": "C0123456",
            "user_id": "U0123",
            "command": "/ionq-usage",
            "text": text,
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
    )


def alert_value() -> str:
    ref = AlertRef(
        "chem-monthly", "p-chem", "2026-11", dt.date(2026, 12, 1), "t", "chem-monthly|p-chem|80"
    )
    value = alert_ref_value(ref)
    assert value is not None
    return value


def click_payload(response_url: str) -> dict[str, Any]:
    """A well-formed click on an alert's *Acknowledge*, as Slack sends it."""
    return {
        "type": "block_actions",
        "team": {"id": "T123", "domain": "fake"},
        "user": {"id": "U0ALICE", "username": "alice", "team_id": "T123"},
        "api_app_id": "A0BUDGET",
        "token": "unused",
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C01"},
        "trigger_id": "1.2.3",
        "channel": {"id": "C01", "name": "quantum-spend"},
        "message": {"ts": "1700000000.000100", "text": "alert", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": ACK_ACTION,
                "block_id": "b",
                "value": alert_value(),
                "action_ts": "1700000000.000001",
            }
        ],
    }


def home_event() -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T123",
        "api_app_id": "A0BUDGET",
        "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
        "event_id": "Ev1",
        "event_time": 1700000000,
    }


def as_form_payload(doc: Any) -> str:
    return urlencode({"payload": dumps(doc)})


def assert_quiet(inbound: Inbound, before: tuple[int, int, int, str], *, dispatch: bool) -> None:
    calls, ionq, dispatched, dump = inbound.state()
    assert calls == before[0], inbound.fake.calls[before[0] :]
    assert ionq == before[1]
    assert dump == before[3]
    if not dispatch:
        assert dispatched == before[2], "a refused request reached Bolt"
    assert not [r for r in inbound.logs.records if r.exc_info], "a traceback was logged"


# -- 1. unverified requests -------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", NOT_NUMBERS)
def test_a_timestamp_that_is_no_number_is_401_and_nothing_else(
    inbound: Inbound, timestamp: str
) -> None:
    body = slash_form("project weekly", inbound.fake.response_url("forged"))
    before = inbound.state()
    for signature in ("v0=" + "0" * 64, sign(SECRET, timestamp, body.encode()), ""):
        headers = {
            "Content-Type": FORM,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        response = inbound.post(body, headers)
        assert response.status_code == 401
        assert len(inbound.logs.warnings()) <= 1
    assert_quiet(inbound, before, dispatch=False)
    assert inbound.fake.responses("forged") == []


#: Printable ASCII (httpx's WSGI transport carries nothing else; see the verifier's own test).
_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=24)


@dataclass(frozen=True)
class Forgery:
    """How a generated request fails verification; the test builds it with the fake's URLs."""

    body: str
    timestamp: str | None
    signature: str  # "right", "wrong-secret", "other-body", "missing" or "text:<header>"
    content_type: str

    def build(self, response_url: str) -> tuple[bytes, dict[str, str]]:
        bodies: dict[str, bytes] = {
            "slash": slash_form("project weekly", response_url).encode(),
            "click": as_form_payload(click_payload(response_url)).encode(),
            "event": json.dumps(home_event()).encode(),
            "broken": b"payload={",
            "list": as_form_payload([1, 2]).encode(),
        }
        body = bodies.get(self.body, self.body.encode("latin-1"))
        ts = self.timestamp if self.timestamp is not None else ""
        signatures = {
            "right": sign(SECRET, ts, body),
            "wrong-secret": sign("not-" + SECRET, ts, body),
            "other-body": sign(SECRET, ts, body + b"&x=1"),
        }
        headers = {"Content-Type": self.content_type}
        if self.timestamp is not None:
            headers["X-Slack-Request-Timestamp"] = self.timestamp
        if self.signature.startswith("text:"):
            headers["X-Slack-Signature"] = self.signature.removeprefix("text:")
        elif self.signature in signatures:
            headers["X-Slack-Signature"] = signatures[self.signature]
        return body, headers


@st.composite
def forgeries(draw: st.DrawFn) -> Forgery:
    """A request that fails verification: a timestamp that is no number, stale or missing, or a
    signature that is wrong, made with another secret or over another body, or missing."""
    body = draw(
        st.one_of(
            st.sampled_from(["slash", "click", "event", "broken", "list"]),
            st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200),
        )
    )
    now = int(time.time())
    ts_kind = draw(st.sampled_from(["not-a-number", "text", "stale", "fresh", "missing"]))
    timestamp: str | None
    if ts_kind == "not-a-number":
        timestamp = draw(st.sampled_from(NOT_NUMBERS))
    elif ts_kind == "text":
        timestamp = draw(_HEADER_TEXT.filter(lambda s: not s.lstrip("+-").isdigit()))
    elif ts_kind == "stale":
        timestamp = str(now + draw(st.sampled_from([-1, 1])) * draw(st.integers(400, 10**12)))
    elif ts_kind == "fresh":
        timestamp = str(now)
    else:
        timestamp = None
    signature = draw(
        st.one_of(
            st.sampled_from(["right", "wrong-secret", "other-body", "missing"]),
            _HEADER_TEXT.map(lambda s: "text:" + s),
        )
    )
    if ts_kind == "fresh" and signature == "right":
        signature = "wrong-secret"  # the one combination that would verify
    content_type = draw(st.sampled_from([FORM, "application/json", "text/plain"]))
    return Forgery(body, timestamp, signature, content_type)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forgery=forgeries())
def test_law_every_request_failing_verification_is_401_and_causes_nothing(
    inbound: Inbound, forgery: Forgery
) -> None:
    body, headers = forgery.build(inbound.fake.response_url("forged"))
    before = inbound.state()
    response = inbound.post(body, headers)
    assert response.status_code == 401, forgery
    assert len(inbound.logs.warnings()) <= 1
    assert_quiet(inbound, before, dispatch=False)
    assert inbound.fake.responses("forged") == []


# -- 2. signed but malformed ------------------------------------------------------------------


@dataclass(frozen=True)
class Deep:
    """A value nested ``depth`` lists deep, spliced into the JSON text (``json.dumps`` itself
    refuses to write such depth)."""

    depth: int

    def text(self) -> str:
        return "[" * self.depth + '"x"' + "]" * self.depth


def dumps(doc: Any) -> str:
    """JSON text of ``doc``, with any :class:`Deep` inside written out."""
    deep: list[Deep] = []

    def default(value: object) -> object:
        if isinstance(value, Deep):
            deep.append(value)
            return f"__deep_{len(deep) - 1}__"
        raise TypeError(type(value).__name__)

    text = json.dumps(doc, default=default)
    for i, d in enumerate(deep):
        text = text.replace(f'"__deep_{i}__"', d.text())
    return text


def _set(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``doc`` with the value at ``path`` replaced (containers along it copied)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = list(doc) if isinstance(doc, list) else dict(doc)
    copy[head] = _set(doc[head], rest, value) if rest else value
    return copy


#: Parts of a click Slack always sends as objects, and what else they could be.
_NOT_OBJECTS = st.one_of(
    st.text(max_size=10),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
)
_NOT_STRINGS = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_NOT_LISTS = st.one_of(
    st.text(max_size=10),
    st.integers(),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

MALFORMED_CLICK_PARTS: list[tuple[tuple[str | int, ...], st.SearchStrategy[Any]]] = [
    (("actions",), st.one_of(_NOT_LISTS, st.just([]), st.lists(_NOT_OBJECTS, min_size=1))),
    (("actions", 0), _NOT_OBJECTS),
    (("actions", 0, "action_id"), _NOT_STRINGS),
    (("actions", 0, "value"), st.one_of(_NOT_STRINGS, st.integers(1_000, 3_000).map(Deep))),
    (("user",), _NOT_OBJECTS),
    (("user", "id"), _NOT_STRINGS),
    (("team",), st.one_of(st.integers(), st.lists(st.integers(), max_size=2))),
    (("container",), _NOT_OBJECTS.filter(lambda v: not isinstance(v, str))),
    (("container", "message_ts"), _NOT_STRINGS),
    (("message",), _NOT_OBJECTS.filter(lambda v: not isinstance(v, str))),
    (("message", "blocks"), st.one_of(_NOT_LISTS, st.lists(_NOT_OBJECTS, min_size=1))),
    (("channel",), st.one_of(st.integers(), st.lists(st.integers(), max_size=2))),
    (("type",), _NOT_STRINGS),
    (("response_url",), _NOT_STRINGS),
]
MALFORMED_EVENT_PARTS: list[tuple[tuple[str | int, ...], st.SearchStrategy[Any]]] = [
    (("event",), _NOT_OBJECTS),
    (("event", "type"), _NOT_STRINGS),
    (("event", "user"), st.one_of(st.integers(), st.lists(st.integers(), max_size=2))),
    (("event", "tab"), _NOT_STRINGS),
    (("team_id",), _NOT_STRINGS),
]


@st.composite
def malformed_requests(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """A correctly signed request whose content is malformed: (body, content type, what)."""
    kind = draw(st.sampled_from(["click", "event", "slash-json", "not-an-object", "raw", "deep"]))
    response_url = "http://127.0.0.1:1/response/malformed"
    if kind == "click":
        path, values = draw(st.sampled_from(MALFORMED_CLICK_PARTS))
        doc = _set(click_payload(response_url), path, draw(values))
        return as_form_payload(doc).encode(), FORM, f"click {path}"
    if kind == "event":
        path, values = draw(st.sampled_from(MALFORMED_EVENT_PARTS))
        doc = _set(home_event(), path, draw(values))
        return dumps(doc).encode(), "application/json", f"event {path}"
    if kind == "slash-json":
        field_ = draw(st.sampled_from(["command", "text", "user_id", "channel_id", "team_id"]))
        doc = {"command": "/ionq-usage", "text": "help", "user_id": "U1", "channel_id": "C1"}
        doc[field_] = draw(_NOT_STRINGS)
        return json.dumps(doc).encode(), "application/json", f"slash command {field_}"
    if kind == "not-an-object":
        doc = draw(st.one_of(_NOT_OBJECTS, st.none()))
        if draw(st.booleans()):
            return as_form_payload(doc).encode(), FORM, "payload not an object"
        return json.dumps(doc).encode(), "application/json", "body not an object"
    if kind == "raw":
        body = draw(
            st.sampled_from(
                [b"payload={", b"payload=%FF%FE", b'{"type": ', b"\xff\xfe\x00", b"payload=[1"]
            )
        )
        return body, draw(st.sampled_from([FORM, "application/json"])), f"raw {body!r}"
    depth = draw(st.integers(100, 5_000))
    path = draw(st.sampled_from([("message", "blocks"), ("actions", 0, "value"), ("view",)]))
    doc = _set(click_payload(response_url), path, Deep(depth))
    return as_form_payload(doc).encode(), FORM, f"{depth} levels at {path}"


def _refused_once(inbound: Inbound, response: httpx.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
    warnings = inbound.logs.warnings()
    assert len(warnings) == 1, (what, [r.getMessage() for r in warnings])
    assert "\n" not in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("doc", "what"),
    [
        ({**click_payload("x"), "actions": "not a list"}, "actions not a list"),
        ({**click_payload("x"), "actions": ["not an object"]}, "actions of strings"),
        ({**click_payload("x"), "user": "U0ALICE"}, "user not an object"),
        ([1, 2, 3], "payload not an object"),
        (_set(click_payload("x"), ("actions", 0, "value"), Deep(1_000)), "value 1,000 deep"),
        (
            _set(click_payload("x"), ("actions", 0, "value"), "[" * 1_000 + "]" * 1_000),
            "value: JSON text 1,000 deep",
        ),
    ],
)
def test_signed_malformed_click_is_a_4xx_and_one_log_line(
    inbound: Inbound, doc: Any, what: str
) -> None:
    before = inbound.state()
    body = as_form_payload(doc)
    response = inbound.post(body, signed(body))
    _refused_once(inbound, response, what)
    assert_quiet(inbound, before, dispatch=True)


@pytest.mark.parametrize("response_url", [None, "", "notaurl", "file:///etc/passwd"])
def test_signed_slash_command_without_a_usable_response_url_is_a_4xx(
    inbound: Inbound, response_url: str | None
) -> None:
    # Slack sends every slash command with an https response_url; without one, the listener's
    # answer raised inside Bolt (a traceback and an error handler) after a 200.
    fields = dict(parse_qsl(slash_form("help", "x")))
    if response_url is None:
        del fields["response_url"]
    else:
        fields["response_url"] = response_url
    body = urlencode(fields)
    before = inbound.state()
    response = inbound.post(body, signed(body))
    _refused_once(inbound, response, f"response_url {response_url!r}")
    assert_quiet(inbound, before, dispatch=False)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null", b"{", b"\xff\xfe"])
def test_signed_json_body_that_is_not_an_object_is_a_4xx(inbound: Inbound, body: bytes) -> None:
    before = inbound.state()
    response = inbound.post(body, signed(body, "application/json"))
    _refused_once(inbound, response, repr(body))
    assert_quiet(inbound, before, dispatch=False)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=malformed_requests())
def test_law_signed_malformed_requests_are_4xx_with_one_log_line(
    inbound: Inbound, request: tuple[bytes, str, str]
) -> None:
    body, content_type, what = request
    before = inbound.state()
    response = inbound.post(body, signed(body, content_type))
    _refused_once(inbound, response, what)
    assert_quiet(inbound, before, dispatch=True)


# -- and what is well-formed still works --------------------------------------------------------


def _wait(predicate: Callable[[], bool]) -> None:
    wait_for(predicate, 15, message="nothing arrived")


def test_signed_slash_command_and_click_still_work(inbound: Inbound) -> None:
    body = slash_form("project weekly", inbound.fake.response_url("fine"))
    assert inbound.post(body, signed(body)).status_code == 200
    _wait(lambda: bool(inbound.fake.responses("fine")))
    assert "IonQ spend by project" in json.dumps(inbound.fake.responses("fine"))
    click = as_form_payload(click_payload(inbound.fake.response_url("click")))
    assert inbound.post(click, signed(click)).status_code == 200

    def acknowledged() -> bool:
        with sqlite3.connect(inbound.db) as conn:
            return bool(conn.execute("SELECT count(*) FROM acks").fetchone()[0])

    _wait(acknowledged)
    assert not [r for r in inbound.logs.records if r.exc_info]


def test_url_verification_is_answered(inbound: Inbound) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    response = inbound.post(body, signed(body, "application/json"))
    assert response.status_code == 200 and "c-123" in response.text


# -- Socket Mode: the same shape check ------------------------------------------------------------


class RecordingSocketClient:
    """Stands in for the Socket Mode client: records what would go back over the socket."""

    def __init__(self) -> None:
        self.sent: list[SocketModeResponse] = []
        self.logger = logging.getLogger("tests.socket_mode")

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("interactive", {**click_payload("x"), "actions": "not a list"}),
        ("interactive", {**click_payload("x"), "user": "U0ALICE"}),
        ("events_api", {**home_event(), "event": ["not", "an", "object"]}),
        ("slash_commands", {"command": "/ionq-usage", "text": {"a": 1}, "user_id": "U1"}),
    ],
)
def test_socket_mode_refuses_malformed_payloads_with_an_empty_ack(
    inbound: Inbound, kind: str, payload: dict[str, Any]
) -> None:
    handler = socket_mode_handler(inbound.app, "xapp-1-never-connected")
    try:
        before = inbound.state()
        inbound.logs.records.clear()
        client = RecordingSocketClient()
        handler.handle(client, SocketModeRequest(kind, "envelope-1", payload))  # type: ignore[arg-type]
        assert [r.envelope_id for r in client.sent] == ["envelope-1"]
        assert client.sent[0].payload is None
        _refused_once(inbound, httpx.Response(400), kind)
        assert_quiet(inbound, before, dispatch=False)
    finally:
        handler.client.close()


def test_socket_mode_passes_well_formed_payloads_to_bolt(inbound: Inbound) -> None:
    handler = socket_mode_handler(inbound.app, "xapp-1-never-connected")
    try:
        before = len(inbound.dispatched)
        client = RecordingSocketClient()
        payload = {
            "command": "/ionq-usage",
            "text": "help",
            "user_id": "U1",
            "team_id": "T123",
            "response_url": inbound.fake.response_url("socket-mode"),
        }
        handler.handle(client, SocketModeRequest("slash_commands", "envelope-2", payload))  # type: ignore[arg-type]
        assert len(inbound.dispatched) == before + 1
        assert [r.envelope_id for r in client.sent] == ["envelope-2"]
        _wait(lambda: bool(inbound.fake.responses("socket-mode")))
    finally:
        handler.client.close()
