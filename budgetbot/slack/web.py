"""The production web entry: a WSGI application served by waitress (not Bolt's dev server).

Routes::

    POST /slack/events   Slack's requests (slash commands, interactivity, events), to Bolt
    GET  /healthz        200 {"status": "ok"} while the process serves
    GET  /metrics        Prometheus text format (no Slack signature; keep it off the internet)
    anything else        404

Before Bolt sees a request, :func:`events_endpoint` reads at most :data:`MAX_BODY_BYTES` (413
beyond), verifies Slack's signature (401 for a missing, wrong, malformed or more than five
minutes old one, and nothing else happens) and checks the body's shape (400 and one log line for
anything Bolt or a listener could not read); see :mod:`budgetbot.slack.inbound`.
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any, NoReturn
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.request.internals import (
    build_normalized_headers,
    extract_content_type,
    parse_body,
)
from waitress.server import create_server

from .inbound import (
    MAX_BODY_BYTES,
    REFUSED_UNVERIFIED,
    StrictSignatureVerifier,
    payload_problem,
)

__all__ = [
    "DEFAULT_THREADS",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "METRICS_PATH",
    "HealthCheck",
    "create_wsgi_app",
    "events_endpoint",
    "health",
    "serve_http",
]

log = logging.getLogger("budgetbot.web")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
#: Waitress request threads. Each Slack request holds one only until ``ack()``; the slow part
#: runs on the Bolt app's listener threads.
DEFAULT_THREADS = 8

#: A named check for ``/healthz``: returns None when healthy, else a short reason.
HealthCheck = Callable[[], str | None]


def health(
    checks: Mapping[str, HealthCheck] | None = None,
    info: Callable[[], dict[str, Any]] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Status code and body of ``/healthz``: 200 ``{"status": "ok"}`` unless a check fails.

    ``info`` adds facts to the body either way (e.g. the time of the last good cycle).
    """
    failing: dict[str, str] = {}
    for name, check in (checks or {}).items():
        try:
            problem = check()
        except Exception as exc:  # a broken check is a failing one
            problem = type(exc).__name__
        if problem is not None:
            failing[name] = problem
    extra: dict[str, Any] = {}
    if info is not None:
        try:
            extra = info()
        except Exception as exc:
            failing["info"] = type(exc).__name__
    if failing:
        return 503, {"status": "failing", "checks": failing, **extra}
    return 200, {"status": "ok", **extra}


def _reply(
    start_response: StartResponse, status: str, body: bytes, content_type: str
) -> Iterable[bytes]:
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _wsgi_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers = {
        key[5:].lower().replace("_", "-"): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.lower().replace("_", "-")] = str(environ[key])
    return headers


def _bolt_request(raw: bytes, headers: dict[str, str], query: str) -> BoltRequest | str:
    """The verified body as Bolt's request, or why it cannot be one."""
    try:
        text = raw.decode("utf-8")
        # Parsed as Bolt will parse it, so the shape checked is the shape Bolt sees.
        body = parse_body(text, extract_content_type(build_normalized_headers(dict(headers))))
        problem = payload_problem(body)
    except (ValueError, RecursionError) as exc:  # JSON and UTF-8 errors are ValueErrors
        return f"the body is not readable ({type(exc).__name__})"
    if problem is not None:
        return problem
    try:
        return BoltRequest(body=text, query=query, headers=dict(headers))
    except Exception as exc:  # a shape payload_problem missed: still the sender's fault
        return f"Bolt could not read it ({type(exc).__name__})"


def events_endpoint(
    app: App, signing_secret: str
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """``POST /slack/events``: verify, parse and check a request, then hand it to Bolt.

    Replaces Bolt's WSGI adapter, which parses the body (and may raise on it) before anything is
    verified. Here an unverified request is 401 before its body is parsed, and a verified one
    that is not valid UTF-8, not JSON where JSON is due, or of the wrong shape is 400, each
    with one log line and without reaching Bolt.
    """
    verifier = StrictSignatureVerifier(signing_secret)

    def refuse(start_response: StartResponse, status: str, reason: str) -> Iterable[bytes]:
        log.warning("%s", reason)
        return _reply(start_response, status, f"{status[4:]}\n".encode(), "text/plain")

    def endpoint(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return refuse(start_response, "400 Bad Request", "refused a request: bad length")
        if length > MAX_BODY_BYTES:
            return refuse(
                start_response,
                "413 Content Too Large",
                f"refused a request of {length} bytes (more than {MAX_BODY_BYTES})",
            )
        raw: bytes = environ["wsgi.input"].read(length) if length else b""
        headers = _wsgi_headers(environ)
        if not verifier.is_valid(
            raw, headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        ):
            return refuse(start_response, "401 Unauthorized", REFUSED_UNVERIFIED)
        request = _bolt_request(raw, headers, str(environ.get("QUERY_STRING") or ""))
        if isinstance(request, str):
            return refuse(start_response, "400 Bad Request", f"refused a signed request: {request}")
        answer = app.dispatch(request)
        response = WsgiHttpResponse(answer.status, answer.headers, answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()

    return endpoint


def create_wsgi_app(
    app: App,
    *,
    signing_secret: str,
    checks: Mapping[str, HealthCheck] | None = None,
    info: Callable[[], dict[str, Any]] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> WSGIApplication:
    """The WSGI application: Slack at ``/slack/events``, health at ``/healthz``, the
    Prometheus exposition at ``/metrics`` (when ``metrics`` is given), else 404."""
    events = events_endpoint(app, signing_secret)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH:
            if method != "POST":
                return _reply(
                    start_response, "405 Method Not Allowed", b"POST only\n", "text/plain"
                )
            return events(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            code, doc = health(checks, info)
            status = "200 OK" if code == 200 else "503 Service Unavailable"
            return _reply(start_response, status, json.dumps(doc).encode(), "application/json")
        if path == METRICS_PATH and metrics is not None and method in ("GET", "HEAD"):
            try:
                body = metrics()
            except Exception as exc:  # the store unreachable: say so, never a traceback
                log.warning("/metrics failed: %s", type(exc).__name__)
                return _reply(
                    start_response, "503 Service Unavailable", b"unavailable\n", "text/plain"
                )
            return _reply(start_response, "200 OK", body, CONTENT_TYPE_LATEST)
        return _reply(start_response, "404 Not Found", b"Not Found\n", "text/plain")

    return application


def _stop(signum: int, frame: FrameType | None) -> NoReturn:
    # waitress's loop treats SystemExit as "close and return".
    raise SystemExit(0)


def serve_http(
    application: WSGIApplication,
    *,
    host: str,
    port: int,
    threads: int = DEFAULT_THREADS,
    on_listen: Callable[[str, int], None] | None = None,
) -> None:
    """Serve ``application`` with waitress until SIGTERM or Ctrl-C, then return."""
    server = create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="budgetbot",
        clear_untrusted_proxy_headers=True,
        # A larger body is refused (413) from its Content-Length, before it is read and spooled.
        max_request_body_size=MAX_BODY_BYTES,
    )
    bound_port = int(getattr(server, "effective_port", port))
    bound_host = str(getattr(server, "effective_host", host))
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        if on_listen is not None:
            on_listen(bound_host, bound_port)
        server.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
