"""The simulated organization served over real HTTP on loopback, with fault injection.

``SimServer`` answers what IonQ's v0.4 API answers for the calls budgetbot makes, each with
``Authorization: apiKey <key>`` (the route names in brackets are what faults aim at)::

    GET  {base}/organizations/{organization_id}/usage?start_date=&end_date=&group_by=&modality=
                                                         [usage]
    GET  {base}/whoami                                   [whoami]
    GET  {base}/jobs?status=&limit=&next=                [jobs]
    GET  {base}/jobs/{id}                                [job]
    GET  {base}/jobs/{id}/cost                           [cost]
    PUT  {base}/jobs/status/cancel  and  {base}/jobs/{id}/status/cancel   [cancel]
    POST {base}/jobs/{id}/clone                          [clone]

Checks run in IonQ's order: the key (401), the query parameters (400, with ``validation``), then
the organization or the job (404). Keys: ``api_key`` is the organization's key — it reads usage,
and its ``/whoami`` names the first project, whose jobs it lists — and ``project_keys`` holds one
key per project, which lists and cancels only that project's jobs (and gets 403 from usage).

Faults (``fail``, ``malformed``, ``drop_field``, ``extra_fields``, ``empty``, ``corrupt``,
``hang``, ``drip``) queue up in the order they are injected and each is used by one request to its
route (``route="usage"`` unless told): ``fail`` and ``malformed`` replace the answer whatever the
request, ``hang`` delays it, ``drip`` sends its body one byte at a time, and the body faults change
a 2xx answer (a request that fails on its own, say with 401, uses up its fault unchanged).
``corrupt`` breaks one of IonQ's own invariants (``CORRUPTIONS`` names them). ``latency`` delays
every request. ``requests`` records every request the server received.

The faults live in :mod:`budgetbot.sim.faults`, the answers and the query's checks in
:mod:`budgetbot.sim.answers`, the jobs endpoints in :mod:`budgetbot.sim.jobs_api`, the HTTP
plumbing in :mod:`budgetbot.sim.handler`.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qs, unquote, urlsplit

from budgetbot.sim import jobs_api
from budgetbot.sim.answers import MESSAGES, Answer, Fail, error, json_answer, validate
from budgetbot.sim.faults import (
    CORRUPTIONS,
    DEFAULT_MALFORMED_BODY,
    ROUTES,
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
    "ROUTES",
    "RecordedRequest",
    "SimServer",
]

DEFAULT_API_KEY: Final = "sim-key"
DEFAULT_BASE_PATH: Final = "/v0.4"

_KEY_NAME: Final = "budgetbot simulator key"
_PROJECT_KEY_NAME: Final = "budgetbot simulator project key"
_AUTH_SCHEME: Final = "apiKey "

Now = Callable[[], datetime] | datetime | None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the simulator received; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str = ""
    route: str | None = None
    """The route's name (``ROUTES``); None for a path the API does not have."""


class SimServer(FaultInjection):
    """A loopback HTTP server that answers like IonQ's API for ``org``.

    ``now`` is the simulated present: a fixed aware datetime, a function returning one, or
    ``None`` for the real UTC clock. Jobs submitted after it do not exist yet, and a job
    is in usage once it completed before it. With ``new_fields`` the answers carry IonQ's
    September 2026 fields. ``project_keys`` maps project ids to keys (default: one derived from
    the seed for every project); ``cost_unit`` is ``usd`` or ``credit`` (an organization billed in
    credits); with ``api_key_project=False`` the organization's key names no project in
    ``/whoami`` and lists no jobs. Use it as a context manager
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
        project_keys: Mapping[str, str] | None = None,
        cost_unit: str = "usd",
        api_key_project: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if cost_unit not in jobs_api.COST_UNITS:
            raise ValueError(f"cost_unit is one of {', '.join(jobs_api.COST_UNITS)}")
        self.org = org
        self.api_key = api_key
        self.cost_unit = cost_unit
        self.api_key_project = api_key_project
        keys = jobs_api.derive_project_keys(org.seed, org.projects)
        self._project_keys = dict(keys if project_keys is None else project_keys)
        for project_id in self._project_keys:
            org.project(project_id)  # a KeyError names a project the organization lacks
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
        # (route, method, path); the bulk cancel comes before the routes of one job
        self._routes: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
            (route, method, re.compile(base + path))
            for route, method, path in (
                ("usage", "GET", r"/organizations/([^/]+)/usage/?"),
                ("whoami", "GET", r"/whoami/?"),
                ("jobs", "GET", r"/jobs/?"),
                ("cancel", "PUT", r"/jobs/status/cancel/?"),
                ("cancel", "PUT", r"/jobs/([^/]+)/status/cancel/?"),
                ("cost", "GET", r"/jobs/([^/]+)/cost/?"),
                ("clone", "POST", r"/jobs/([^/]+)/clone/?"),
                ("job", "GET", r"/jobs/([^/]+)/?"),
            )
        )

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

    @property
    def project_keys(self) -> dict[str, str]:
        """Project id → that project's API key (a copy)."""
        return dict(self._project_keys)

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
        return self.route_requests("usage")

    @property
    def job_requests(self) -> list[RecordedRequest]:
        """The recorded requests to the jobs endpoints (listing, job, cost, cancel, clone)."""
        return [r for r in self.requests if r.route in ("jobs", "job", "cost", "cancel", "clone")]

    def route_requests(self, *routes: str) -> list[RecordedRequest]:
        """The recorded requests to these routes (``ROUTES``), oldest first."""
        unknown = set(routes) - set(ROUTES)
        if unknown:
            raise ValueError(f"unknown route {sorted(unknown)}; one of {', '.join(ROUTES)}")
        return [r for r in self.requests if r.route in routes]

    # -- serving --------------------------------------------------------------------------

    def _respond(
        self, method: str, target: str, headers: dict[str, str], payload: str = ""
    ) -> Answer | None:
        """The answer to one request, or ``None`` when the server stopped meanwhile."""
        split = urlsplit(target)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        found = [(r, m, p.fullmatch(path)) for r, m, p in self._routes if p.fullmatch(path)]
        allowed = [(r, match) for r, m, match in found if m == method]
        route = allowed[0][0] if allowed else None
        with self._lock:
            self._requests.append(RecordedRequest(method, path, query, headers, payload, route))
        if self._latency and self._stopping.wait(self._latency):
            return None
        if not found:
            return error(404, "Not Found")
        if route is None:
            return error(405, "Method not allowed")
        match = allowed[0][1]
        assert match is not None
        args = tuple(unquote(g) for g in match.groups())
        fault = self._take_fault(route)
        if fault is not None and fault.kind == "hang" and self._stopping.wait(fault.seconds):
            return None
        if fault is not None and fault.kind == "fail":
            return fault_error(fault)
        if fault is not None and fault.kind == "malformed":
            return Answer(200, fault.body or "", (("Content-Type", "application/json"),))
        try:
            status, body = self._answer(route, args, query, headers, payload)
        except Fail as failure:
            return failure.answer
        if fault is None or fault.kind == "hang":
            return json_answer(status, body)
        if fault.kind == "drip":
            plain = json_answer(status, body)
            return Answer(plain.status, plain.body, plain.headers, drip=fault.seconds)
        if fault.kind == "corrupt":
            return corrupted(fault.corruption, body, query, status, route)
        return mutated(fault, body, route, status)

    def _answer(
        self,
        route: str,
        args: tuple[str, ...],
        query: dict[str, str],
        headers: dict[str, str],
        payload: str,
    ) -> tuple[int, dict[str, Any]]:
        """The status and body of a request to ``route`` (errors raise :class:`Fail`)."""
        if route == "usage":
            return 200, self._usage(args[0], query, headers)
        project_id, key_project = self._caller(headers)
        if route == "whoami":
            return 200, self._whoami(project_id, key_project)
        now, org = self.now, self.org
        if route == "jobs":
            return 200, jobs_api.list_jobs(org, project_id, query, now)
        if route == "cancel" and not args:
            return 200, jobs_api.cancel_many(org, project_id, payload, now)
        if route == "cancel":
            return 200, jobs_api.cancel_one(org, project_id, args[0], now)
        if route == "clone":
            return 201, jobs_api.clone(org, project_id, args[0], payload, now)
        job = jobs_api.own_job(org, project_id, args[0], now)
        if route == "cost":
            return 200, jobs_api.cost_body(org, job, now, self.cost_unit)
        return 200, jobs_api.job_body(org, job, now)

    def _caller(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """The caller's project (None: its key names none), and that project again if the key is
        a project key (None for the organization's key); 401 for a missing or unknown key."""
        given = headers.get("authorization")
        if given is None:
            raise Fail(error(401, "Missing authentication: send 'Authorization: apiKey <key>'"))
        key = given[len(_AUTH_SCHEME) :] if given.startswith(_AUTH_SCHEME) else None
        if key is not None and key == self.api_key:
            return (self.org.projects[0].id if self.api_key_project else None), None
        for project_id, project_key in self._project_keys.items():
            if key is not None and key == project_key:
                return project_id, project_id
        raise Fail(error(401, MESSAGES[401]))

    def _whoami(self, project_id: str | None, key_project: str | None) -> dict[str, Any]:
        key_id = jobs_api.key_id(self.org.seed, key_project)
        name = _KEY_NAME if key_project is None else _PROJECT_KEY_NAME
        # DESIGN §2 names these fields id/name/project; IonQ's OpenAPI document names them
        # key_id/key_name/project_id. Clients are meant to ignore unknown fields, so give both.
        # A key without a project has neither project field (Whoami requires only the key's).
        body: dict[str, Any] = {"id": key_id, "name": name}
        if project_id is not None:
            body["project"] = project_id
        body.update({"key_id": key_id, "key_name": name})
        if project_id is not None:
            body["project_id"] = project_id
        return body

    def _usage(self, org_id: str, query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
        if self._caller(headers)[1] is not None:
            raise Fail(error(403, "A project key cannot read the organization's usage"))
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
