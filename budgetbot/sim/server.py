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

The faults live in :mod:`budgetbot.sim.faults`, the answers and the query's checks in
:mod:`budgetbot.sim.answers`, the HTTP plumbing in :mod:`budgetbot.sim.handler`.
"""

from __future__ import annotations

import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qs, unquote, urlsplit

from budgetbot.sim.answers import MESSAGES, Answer, Fail, error, json_answer, validate
from budgetbot.sim.faults import (
    CORRUPTIONS,
    DEFAULT_MALFORMED_BODY,
    FaultInjection,
    corrupted,
    fault_error,
    mutated,
)
from budgetbot.sim.handler import Handler, HTTPServer
from budgetbot.sim.model import SimOrg

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

_KEY_NAME: Final = "budgetbot simulator key"
_AUTH_SCHEME: Final = "apiKey "

Now = Callable[[], datetime] | datetime | None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the simulator received; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class SimServer(FaultInjection):
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
        self._faults = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: HTTPServer | None = None
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
        httpd = HTTPServer((self.host, self.port), Handler)
        httpd.respond = self._respond
        httpd.stopping = self._stopping
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

    # -- faults (the methods come from FaultInjection) --------------------------------------

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

    def _respond(self, method: str, target: str, headers: dict[str, str]) -> Answer | None:
        """The answer to one request, or ``None`` when the server stopped meanwhile."""
        split = urlsplit(target)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers))
        if self._latency and self._stopping.wait(self._latency):
            return None
        if method != "GET":
            return error(405, "Method not allowed")
        usage = self._usage_route.fullmatch(path)
        if usage is None:
            if self._whoami_route.fullmatch(path):
                return self._catch(lambda: self._whoami(headers))
            return error(404, "Not Found")
        fault = self._take_fault()
        if fault is not None and fault.kind == "hang" and self._stopping.wait(fault.seconds):
            return None
        if fault is not None and fault.kind == "fail":
            return fault_error(fault)
        if fault is not None and fault.kind == "malformed":
            return Answer(200, fault.body or "", (("Content-Type", "application/json"),))
        try:
            body = self._usage(unquote(usage.group(1)), query, headers)
        except Fail as failure:
            return failure.answer
        if fault is None or fault.kind == "hang":
            return json_answer(200, body)
        if fault.kind == "drip":
            plain = json_answer(200, body)
            return Answer(plain.status, plain.body, plain.headers, drip=fault.seconds)
        if fault.kind == "corrupt":
            return corrupted(fault.corruption, body, query)
        return mutated(fault, body)

    def _catch(self, handle: Callable[[], dict[str, Any]]) -> Answer:
        try:
            return json_answer(200, handle())
        except Fail as failure:
            return failure.answer

    def _check_key(self, headers: dict[str, str]) -> None:
        given = headers.get("authorization")
        if given is None:
            raise Fail(error(401, "Missing authentication: send 'Authorization: apiKey <key>'"))
        if not given.startswith(_AUTH_SCHEME) or given[len(_AUTH_SCHEME) :] != self.api_key:
            raise Fail(error(401, MESSAGES[401]))

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
        start, end, group_by, modality = validate(query)
        if org_id != self.org.org_id:
            raise Fail(error(404, "Organization not found"))
        return self.org.usage_body(
            group_by, modality, start, end, until=self.now, new_fields=self.new_fields
        )


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
