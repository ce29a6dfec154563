"""The simulated organization served over real HTTP on loopback, with fault injection.

``SimServer`` answers what IonQ's v0.4 API answers for the two calls budgetbot makes::

    GET {base}/organizations/{organization_id}/usage?start_date=&end_date=&group_by=&modality=
    GET {base}/whoami

both with ``Authorization: apiKey <key>``. Checks run in IonQ's order: the key (401), the query
parameters (400, with ``validation``), then the organization (404).

Faults (``fail``, ``malformed``, ``drop_field``, ``extra_fields``, ``empty``, ``corrupt``,
``hang``, ``drip``) queue up in the order they are injected and each is used by one usage request:
``fail`` and ``malformed`` replace the answer whatever the request, ``hang`` delays it, ``drip``
sends its body one byte at a time, and the body faults change a 200 answer (a request that fails
on its own, say with 401, uses up its fault unchanged). ``corrupt`` breaks one of IonQ's own
invariants (``CORRUPTIONS`` names them). ``latency`` delays every request. ``requests`` records
every request the server received.
"""

from __future__ import annotations

import copy
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Literal, Self
from urllib.parse import parse_qs, unquote, urlsplit

from budgetbot.sim.model import GROUP_BYS, MODALITIES, GroupBy, Modality, SimOrg, to_json

__all__ = [
    "CORRUPTIONS",
    "DEFAULT_API_KEY",
    "DEFAULT_BASE_PATH",
    "DEFAULT_MALFORMED_BODY",
    "RecordedRequest",
    "SimServer",
]

DEFAULT_API_KEY: Final = "sim-key"
DEFAULT_BASE_PATH: Final = "/v0.4"
DEFAULT_MALFORMED_BODY: Final = '{"amount_total": 12.3, "usage_data": ['
DEFAULT_HANG_SECONDS: Final = 5.0
DEFAULT_DRIP_SECONDS: Final = 1.0

#: Answers that break IonQ's own invariants, as a flaky or compromised upstream might send them.
CORRUPTIONS: Final = (
    "duplicate_bucket",  # two buckets with the same date
    "misdated_bucket",  # a bucket dated after the request's end
    "unaligned_bucket",  # a bucket dated inside another one (a day after its start)
    "group_above_bucket",  # a listed group spent more than its whole bucket
    "empty_bucket",  # a bucket with zero totals that still lists groups
    "negative_amount",
    "negative_jobs",
    "fractional_jobs",
    "null_name",  # a listed group with neither id nor name
    "duplicate_group",  # one group listed twice in a bucket
    "huge_amount",  # 1e30 USD
    "overflow_amount",  # 1e999999: Decimal parses it; arithmetic on it overflows
    "nan_amount",  # NaN, which Python's json accepts
    "total_mismatch",  # amount_total is not the sum of the buckets
)
#: Marks a number the simulator writes verbatim (JSON literals ``to_json`` refuses to write).
_RAW: Final = "\x00raw:"

_KEY_NAME: Final = "budgetbot simulator key"
_AUTH_SCHEME: Final = "apiKey "
_USAGE_PARAMS: Final = ("start_date", "end_date", "group_by", "modality")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_GROUP_BY: Final[dict[str, GroupBy]] = {"job": "job", "project": "project", "user": "user"}
_MODALITY: Final[dict[str, Modality]] = {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}
_MESSAGES: Final[dict[int, str]] = {
    401: (
        "Invalid key provided. See https://docs.ionq.com/#authentication for details, "
        "or email support@ionq.co for help."
    ),
    429: "Too many requests. Please slow down and try again later.",
    500: "Internal service outage. Visit https://status.ionq.co/ to track this incident.",
    502: "Bad gateway. Visit https://status.ionq.co/ to track this incident.",
    503: "Service temporarily unavailable. Visit https://status.ionq.co/ for updates.",
    504: "Gateway timeout. Visit https://status.ionq.co/ to track this incident.",
}

Now = Callable[[], datetime] | datetime | None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the simulator received; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: Literal[
        "fail", "malformed", "drop_field", "extra_fields", "empty", "corrupt", "hang", "drip"
    ]
    status: int = 200
    retry_after: str | None = None
    body: str | None = None
    path: tuple[str, ...] = ()
    seconds: float = 0.0
    corruption: str = ""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    #: Seconds between the body's bytes (0: send it at once).
    drip: float = 0.0


class _Fail(Exception):
    """An error answer, raised while checking a request."""

    def __init__(self, answer: _Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class SimServer:
    """A loopback HTTP server that answers like IonQ's API for ``org``.

    ``now`` is the simulated present: a fixed aware datetime, a function returning one, or
    ``None`` for the real UTC clock. Jobs submitted at or after it do not exist yet. With
    ``new_fields`` the answers carry IonQ's September 2026 fields. Use it as a context manager
    (``with SimServer(SimOrg()) as srv: ...``) or call ``start()`` and ``stop()``.
    """

    def __init__(
        self,
        org: SimOrg,
        *,
        api_key: str = DEFAULT_API_KEY,
        now: Now = None,
        base_path: str = DEFAULT_BASE_PATH,
        new_fields: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.org = org
        self.api_key = api_key
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.new_fields = new_fields
        self.host = host
        self.port = port
        self._now: Callable[[], datetime] = _clock(now)
        self._latency = 0.0
        self._lock = threading.Lock()
        self._faults: deque[_Fault] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        base = re.escape(self.base_path)
        self._usage_route = re.compile(rf"{base}/organizations/([^/]+)/usage/?")
        self._whoami_route = re.compile(rf"{base}/whoami/?")

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Bind (port 0 picks a free one) and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.sim = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-ionq-{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any request still sleeping (latency, hang)."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:43123/v0.4`` (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.base_path}"

    @property
    def org_id(self) -> str:
        """The organization id the server knows."""
        return self.org.org_id

    # -- time -----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The simulated present (aware, UTC)."""
        return _utc(self._now())

    @now.setter
    def now(self, value: Callable[[], datetime] | datetime | None) -> None:
        self._now = _clock(value)

    # -- faults ---------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is answered (default 0)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._latency = float(seconds)

    def fail(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``times`` usage requests with ``status`` and an IonQ-style error."""
        if not 400 <= status <= 599:
            raise ValueError(f"fail() takes an error status (400-599), not {status}")
        self._queue(_Fault("fail", status=status, retry_after=retry_after, body=body), times)

    def malformed(self, times: int = 1, body: str = DEFAULT_MALFORMED_BODY) -> None:
        """Answer 200 with ``body``, which is not valid JSON."""
        self._queue(_Fault("malformed", body=body), times)

    def drop_field(self, path: str, times: int = 1) -> None:
        """Answer 200 without the field at the dotted ``path`` (``"usage_data.0.amount"``)."""
        parts = tuple(path.split("."))
        if not path or any(not part for part in parts):
            raise ValueError(f"not a dotted path: {path!r}")
        self._queue(_Fault("drop_field", path=parts), times)

    def extra_fields(self, times: int = 1) -> None:
        """Answer 200 with unknown fields added at every level of the body."""
        self._queue(_Fault("extra_fields"), times)

    def empty(self, times: int = 1) -> None:
        """Answer 200 with ``usage_data: []`` and zero totals."""
        self._queue(_Fault("empty"), times)

    def corrupt(self, corruption: str, times: int = 1) -> None:
        """Answer 200 with a body that breaks one of IonQ's invariants (see ``CORRUPTIONS``)."""
        if corruption not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {corruption!r}; one of {', '.join(CORRUPTIONS)}")
        self._queue(_Fault("corrupt", corruption=corruption), times)

    def drip(self, times: int = 1, seconds: float = DEFAULT_DRIP_SECONDS) -> None:
        """Send the headers at once, then the body one byte every ``seconds`` (a slow loris)."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._queue(_Fault("drip", seconds=seconds), times)

    def hang(self, times: int = 1, seconds: float = DEFAULT_HANG_SECONDS) -> None:
        """Wait ``seconds`` before answering (for client timeouts); ``stop()`` cuts it short."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._queue(_Fault("hang", seconds=seconds), times)

    @property
    def pending_faults(self) -> int:
        """How many usage requests still have a fault waiting for them."""
        with self._lock:
            return len(self._faults)

    def reset(self) -> None:
        """Forget queued faults, recorded requests and latency."""
        with self._lock:
            self._faults.clear()
            self._requests.clear()
            self._latency = 0.0

    # -- the log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def usage_requests(self) -> list[RecordedRequest]:
        """The recorded requests to the usage endpoint."""
        return [r for r in self.requests if self._usage_route.fullmatch(r.path)]

    # -- serving --------------------------------------------------------------------------

    def _queue(self, fault: _Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.extend([fault] * times)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _respond(self, method: str, target: str, headers: dict[str, str]) -> _Answer | None:
        """The answer to one request, or ``None`` when the server stopped meanwhile."""
        split = urlsplit(target)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers))
        if self._latency and self._stopping.wait(self._latency):
            return None
        if method != "GET":
            return _error(405, "Method not allowed")
        usage = self._usage_route.fullmatch(path)
        if usage is None:
            if self._whoami_route.fullmatch(path):
                return self._catch(lambda: self._whoami(headers))
            return _error(404, "Not Found")
        fault = self._take_fault()
        if fault is not None and fault.kind == "hang" and self._stopping.wait(fault.seconds):
            return None
        if fault is not None and fault.kind == "fail":
            return _fault_error(fault)
        if fault is not None and fault.kind == "malformed":
            return _Answer(200, fault.body or "", (("Content-Type", "application/json"),))
        try:
            body = self._usage(unquote(usage.group(1)), query, headers)
        except _Fail as failure:
            return failure.answer
        if fault is None or fault.kind == "hang":
            return _json_answer(200, body)
        if fault.kind == "drip":
            plain = _json_answer(200, body)
            return _Answer(plain.status, plain.body, plain.headers, drip=fault.seconds)
        if fault.kind == "corrupt":
            return _corrupt(fault.corruption, body, query)
        return _mutate(fault, body)

    def _catch(self, handle: Callable[[], dict[str, Any]]) -> _Answer:
        try:
            return _json_answer(200, handle())
        except _Fail as failure:
            return failure.answer

    def _check_key(self, headers: dict[str, str]) -> None:
        given = headers.get("authorization")
        if given is None:
            raise _Fail(_error(401, "Missing authentication: send 'Authorization: apiKey <key>'"))
        if not given.startswith(_AUTH_SCHEME) or given[len(_AUTH_SCHEME) :] != self.api_key:
            raise _Fail(_error(401, _MESSAGES[401]))

    def _whoami(self, headers: dict[str, str]) -> dict[str, Any]:
        self._check_key(headers)
        key_bits = random.Random(f"{self.org.seed}:key").getrandbits(128)
        key_id = str(uuid.UUID(int=key_bits, version=4))
        project_id = self.org.projects[0].id
        # DESIGN §2 names these fields id/name/project; IonQ's OpenAPI document names them
        # key_id/key_name/project_id. Clients are meant to ignore unknown fields, so give both.
        return {
            "id": key_id,
            "name": _KEY_NAME,
            "project": project_id,
            "key_id": key_id,
            "key_name": _KEY_NAME,
            "project_id": project_id,
        }

    def _usage(self, org_id: str, query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        self._check_key(headers)
        start, end, group_by, modality = _validate(query)
        if org_id != self.org.org_id:
            raise _Fail(_error(404, "Organization not found"))
        return self.org.usage_body(
            group_by, modality, start, end, until=self.now, new_fields=self.new_fields
        )


def _mutate(fault: _Fault, body: dict[str, Any]) -> _Answer:
    """A 200 answer changed by a body fault."""
    if fault.kind == "empty":
        changed = dict(body, amount_total=0, time_us_total=0, job_count=0, usage_data=[])
        if "amount_totals" in changed:
            changed["amount_totals"] = []
        return _json_answer(200, changed)
    if fault.kind == "extra_fields":
        return _json_answer(200, _with_extra_fields(body))
    if fault.kind == "drop_field":
        changed = copy.deepcopy(body)
        if not _drop(changed, fault.path):
            dotted = ".".join(fault.path)
            return _error(500, f"simulator: drop_field path {dotted!r} is not in this answer")
        return _json_answer(200, changed)
    return _json_answer(200, body)


def _corrupt(corruption: str, body: dict[str, Any], query: dict[str, str]) -> _Answer:
    """A 200 answer that breaks one of IonQ's invariants (``CORRUPTIONS``)."""
    changed = copy.deepcopy(body)
    data: list[dict[str, Any]] = changed["usage_data"]
    with_groups = [u for u in data if u["group_usages"]]
    if not with_groups:
        return _error(500, "simulator: corrupt() needs an answer with a listed group")
    bucket, group = with_groups[0], with_groups[0]["group_usages"][0]
    if corruption == "duplicate_bucket":
        data.insert(0, copy.deepcopy(bucket))
    elif corruption == "misdated_bucket":
        bucket["from"] = query["end_date"]
    elif corruption == "unaligned_bucket":
        start = date.fromisoformat(bucket["from"])
        if query["modality"] == "daily":
            bucket["from"] = query["end_date"]  # every day starts a daily bucket
        else:
            bucket["from"] = start.replace(day=start.day + 1 if start.day < 28 else 2).isoformat()
    elif corruption == "group_above_bucket":
        group["amount"] = bucket["amount"] + 1
    elif corruption == "empty_bucket":
        bucket.update(amount=0, time_us=0, job_count=0)
    elif corruption == "negative_amount":
        group["amount"] = -group["amount"] - 1
    elif corruption == "negative_jobs":
        bucket["job_count"] = -3
    elif corruption == "fractional_jobs":
        bucket["job_count"] = _RAW + "2.5"
    elif corruption == "null_name":
        group["group_id"] = group["group_name"] = None
    elif corruption == "duplicate_group":
        bucket["group_usages"].append(copy.deepcopy(group))
    elif corruption == "huge_amount":
        bucket["amount"] = _RAW + "1e30"
        changed["amount_total"] = _RAW + "1e30"
    elif corruption == "overflow_amount":
        bucket["amount"] = _RAW + "1e999999"
    elif corruption == "nan_amount":
        bucket["amount"] = _RAW + "NaN"
    else:  # total_mismatch
        changed["amount_total"] = changed["amount_total"] + 1000
    text = re.sub(r'"\\u0000raw:([^"]*)"', r"\1", to_json(changed))
    return _Answer(200, text, (("Content-Type", "application/json"),))


def _json_answer(status: int, body: dict[str, Any]) -> _Answer:
    return _Answer(status, to_json(body), (("Content-Type", "application/json"),))


def _error(status: int, message: str, **extra: Any) -> _Answer:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"statusCode": status, "error": phrase, "message": message, **extra}
    return _Answer(status, to_json(body), (("Content-Type", "application/json"),))


def _fault_error(fault: _Fault) -> _Answer:
    headers: list[tuple[str, str]] = []
    if fault.retry_after is not None:
        headers.append(("Retry-After", fault.retry_after))
    if fault.body is not None:
        headers.append(("Content-Type", "application/json"))
        return _Answer(fault.status, fault.body, tuple(headers))
    answer = _error(fault.status, _MESSAGES.get(fault.status, "Request failed."))
    return _Answer(answer.status, answer.body, answer.headers + tuple(headers))


def _bad_request(key: str, message: str) -> _Fail:
    return _Fail(_error(400, message, validation={"source": "query", "keys": [key]}))


def _validate(query: dict[str, str]) -> tuple[date, date, GroupBy, Modality]:
    """The usage query's parameters, or a 400 naming the first bad one (as IonQ's Joi does)."""
    for key in _USAGE_PARAMS:
        if key not in query or query[key] == "":
            raise _bad_request(key, f'"{key}" is required')
    dates: list[date] = []
    for key in ("start_date", "end_date"):
        text = query[key]
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            dates.append(date.fromisoformat(text))
        except ValueError:
            raise _bad_request(key, f'"{key}" must be a valid date (YYYY-MM-DD)') from None
    if query["group_by"] not in GROUP_BYS:
        raise _bad_request("group_by", f'"group_by" must be one of [{", ".join(GROUP_BYS)}]')
    if query["modality"] not in MODALITIES:
        raise _bad_request("modality", f'"modality" must be one of [{", ".join(MODALITIES)}]')
    for key in query:
        if key not in _USAGE_PARAMS:
            raise _bad_request(key, f'"{key}" is not allowed')
    start, end = dates
    if start >= end:
        raise _bad_request("end_date", '"end_date" must be greater than "ref:start_date"')
    return start, end, _GROUP_BY[query["group_by"]], _MODALITY[query["modality"]]


def _with_extra_fields(body: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["x_sim_request_id"] = "sim-00000000"
    changed["x_sim_meta"] = {"region": "us-east-1", "flags": ["beta", 3, None]}
    for index, bucket in enumerate(changed.get("usage_data", [])):
        bucket["x_sim_bucket"] = index
        bucket["x_sim_to"] = None
        for rank, group in enumerate(bucket.get("group_usages", []), start=1):
            group["x_sim_rank"] = rank
            group["x_sim_tags"] = {"backend": "qpu.forte-1"}
        for amount in bucket.get("amounts", []):
            amount["x_sim_rate"] = 1
    for amount in changed.get("amount_totals", []):
        amount["x_sim_rate"] = 1
    return changed


def _drop(node: Any, path: tuple[str, ...]) -> bool:
    *parents, last = path
    for part in parents:
        node = _child(node, part)
        if node is None:
            return False
    if isinstance(node, dict) and last in node:
        del node[last]
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]
        return True
    return False


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def _clock(now: Now) -> Callable[[], datetime]:
    if now is None:
        return lambda: datetime.now(UTC)
    if isinstance(now, datetime):
        fixed = _utc(now)
        return lambda: fixed
    return now


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    sim: SimServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer (timeouts do that on purpose)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "IonQ-sim/0.4"
    sys_version = ""
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """No log line per request."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.sim._respond(self.command, self.path, headers)
        if answer is None:
            self.close_connection = True
            return
        payload = answer.body.encode("utf-8")
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if not answer.drip:
                self.wfile.write(payload)
            for index in range(len(payload) if answer.drip else 0):
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()
                if self.server.sim._stopping.wait(answer.drip):
                    self.close_connection = True
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
