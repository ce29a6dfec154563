"""The production web entry: a WSGI application served by waitress (not Bolt's dev server).

Routes::

    POST /slack/events   Slack's requests (slash commands, interactivity, events), to Bolt
    GET  /healthz        200 {"status": "ok"} while the process serves
    anything else        404

Bolt's request verification answers 401 to a request whose signature is missing, wrong, or
more than five minutes old.
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any, NoReturn
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

__all__ = [
    "DEFAULT_THREADS",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "HealthCheck",
    "create_wsgi_app",
    "health",
    "serve_http",
]

log = logging.getLogger("budgetbot.web")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
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


def create_wsgi_app(
    app: App,
    *,
    checks: Mapping[str, HealthCheck] | None = None,
    info: Callable[[], dict[str, Any]] | None = None,
) -> WSGIApplication:
    """The WSGI application: Bolt at ``/slack/events``, health at ``/healthz``, else 404."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH:
            if method != "POST":
                return _reply(
                    start_response, "405 Method Not Allowed", b"POST only\n", "text/plain"
                )
            return bolt(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            code, doc = health(checks, info)
            status = "200 OK" if code == 200 else "503 Service Unavailable"
            return _reply(start_response, status, json.dumps(doc).encode(), "application/json")
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
