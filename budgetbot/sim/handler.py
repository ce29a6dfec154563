"""The simulator's HTTP plumbing: a threading server and the handler that writes its answers.

The handler asks its server's ``respond`` (``SimServer._respond``) for the answer to each request
and writes it, at once or one byte at a time (``drip``), staying quiet when a client goes away
mid-answer. It knows no ``SimServer``, so the two modules import each other one way only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from budgetbot.sim.answers import Answer

__all__ = ["HTTPServer", "Handler"]


class HTTPServer(ThreadingHTTPServer):
    """Serves each request in a daemon thread, so ``stop()`` never waits for one."""

    daemon_threads = True
    block_on_close = False
    #: The answer to (method, target, lower-cased headers, body); None: the simulator stopped
    #: meanwhile.
    respond: Callable[[str, str, dict[str, str], str], Answer | None]
    #: Set when the simulator stops; wakes a dripping answer.
    stopping: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer (timeouts do that on purpose)."""


class Handler(BaseHTTPRequestHandler):
    """Answers every method through the server's ``respond``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "IonQ-sim/0.4"
    sys_version = ""
    server: HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """No log line per request."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.respond(self.command, self.path, headers, payload)
        if answer is None:
            self.close_connection = True
            return
        data = answer.body.encode("utf-8")
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not answer.drip:
                self.wfile.write(data)
            for index in range(len(data) if answer.drip else 0):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                if self.server.stopping.wait(answer.drip):
                    self.close_connection = True
                    return
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_PATCH = _serve
