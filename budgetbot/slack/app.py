"""The Bolt app: built in one place, from settings and a few dependencies.

:func:`build_app` is the only constructor of the Bolt ``App``; what its listeners need comes in
a :class:`~budgetbot.slack.deps.Deps` (built by ``budgetbot serve`` from the shared runtime). It
runs in HTTP mode with ``process_before_response=False``: Bolt answers Slack as soon as a listener
calls ``ack()`` and lets the listener go on in :data:`LISTENER_THREADS` worker threads (Bolt's
default of 5 would queue the sixth slash command behind five slow IonQ queries). Request
verification is always on, with a verifier that refuses (401) rather than raises on a malformed
timestamp or signature, so the error handler never sees an unverified request (see
:mod:`budgetbot.slack.inbound`). Bolt checks the token with ``auth.test`` while it is built, so a
refused token stops ``serve`` at start-up
rather than at the first request.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from slack_bolt import App, BoltResponse, Respond
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError, SlackClientError

from budgetbot.settings import Settings

from .deliver import make_web_client
from .deps import Deps
from .inbound import RequestSignature, payload_problem
from .listeners import register_listeners
from .replies import APOLOGY

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

__all__ = [
    "APOLOGY",
    "INTERACTIVE_ATTEMPTS",
    "INTERACTIVE_DEADLINE",
    "LISTENER_THREADS",
    "SlackStartupError",
    "build_app",
    "run_socket_mode",
]

log = logging.getLogger("budgetbot.slack")

#: Listener threads: slash commands running at once before the next one waits for a thread.
LISTENER_THREADS = 64
#: Someone is waiting in Slack: give up on IonQ sooner than a scheduled check would.
INTERACTIVE_DEADLINE = 20.0
INTERACTIVE_ATTEMPTS = 3


class SlackStartupError(Exception):
    """``serve`` cannot start; the message is one line that names the setting to check."""


def _startup_error(exc: Exception) -> SlackStartupError:
    """One line for a failed ``auth.test``: Slack's error code, never the token."""
    cause = exc.__context__ if isinstance(exc, BoltError) else exc
    if isinstance(cause, SlackApiError):
        data = getattr(cause.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        return SlackStartupError(
            f"Slack refused SLACK_BOT_TOKEN (auth.test answered {code or 'an error'}):"
            " check SLACK_BOT_TOKEN"
        )
    if isinstance(cause, URLError | OSError | SlackClientError):
        return SlackStartupError(
            f"Could not reach Slack to check SLACK_BOT_TOKEN ({type(cause).__name__}):"
            " check SLACK_API_URL and the network"
        )
    return SlackStartupError(f"Could not start the Slack app: {type(exc).__name__}")


class _DropMessage(logging.Filter):
    """Drops one known log message (and nothing else)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


def _quiet_token_warning() -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns on every start that
    it uses our client (which carries that same token) instead. Silence that one line."""
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _DropMessage) for f in bolt_logger.filters):
        bolt_logger.addFilter(_DropMessage(warning_client_prioritized_and_token_skipped()))


def build_app(settings: Settings, deps: Deps) -> App:
    """The Bolt app with every listener registered.

    Needs ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` (also in Socket Mode, where Bolt
    does not need it to check requests but still refuses to run without one). Raises
    :class:`SlackStartupError` when one is missing or Slack refuses the token.
    """
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        raise SlackStartupError("SLACK_BOT_TOKEN is not set: serve needs the bot token (xoxb-…)")
    secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    )
    if not secret.strip():
        raise SlackStartupError(
            "SLACK_SIGNING_SECRET is not set: serve needs it to verify requests from Slack"
            " (Basic Information > App Credentials in the app's settings)"
        )
    client = make_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    _quiet_token_warning()
    try:
        app = App(
            client=client,
            signing_secret=secret,
            process_before_response=False,
            # Bolt's own verifier raises on a timestamp like "abc" (then the error handler
            # answers the unverified response_url): ours, first after Slack's SSL check.
            request_verification_enabled=False,
            before_authorize=RequestSignature(secret),
            token_verification_enabled=True,
            listener_executor=ThreadPoolExecutor(
                max_workers=LISTENER_THREADS, thread_name_prefix="budgetbot-listener"
            ),
        )
    except (BoltError, SlackClientError, OSError) as exc:
        raise _startup_error(exc) from None
    app.error(_on_error)
    if settings.allowed_team_ids is not None:
        app.use(team_guard(settings.allowed_team_ids))
    register_listeners(app, deps)
    return app


def _team_id(body: Mapping[str, Any]) -> str | None:
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    return str(team) if team else None


def team_guard(allowed: frozenset[str]) -> Callable[..., BoltResponse | None]:
    """A middleware refusing requests from workspaces outside ``SLACK_ALLOWED_TEAM_IDS``.

    It runs after Bolt's signature check, so only a correctly signed request reaches it.
    """

    def guard(body: dict[str, Any], next: Callable[[], BoltResponse | None]) -> BoltResponse | None:
        team = _team_id(body)
        if team in allowed:
            return next()
        log.warning(
            "refused a request from Slack workspace %s (not in SLACK_ALLOWED_TEAM_IDS)", team
        )
        return BoltResponse(status=403, body="This workspace may not use budgetbot.")

    return guard


def _on_error(
    error: Exception, body: dict[str, Any], logger: logging.Logger, respond: Respond | None
) -> None:
    """The one error handler: log the details, answer the user with one apologetic sentence."""
    logger.error(
        "unhandled error in a Slack listener (%s %s): %s",
        body.get("command") or body.get("type") or "request",
        body.get("text", ""),
        error,
        exc_info=error,
    )
    if respond is None or not body.get("response_url"):
        return
    try:
        respond(text=APOLOGY, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the apology itself failed: the log is all that is left
        logger.error("could not send the apology to response_url: %s", type(exc).__name__)


def _socket_startup_error(exc: Exception) -> SlackStartupError:
    """One line for a failed ``apps.connections.open``: Slack's error code, never the token."""
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        return SlackStartupError(
            f"Slack refused SLACK_APP_TOKEN (apps.connections.open answered {code or 'an error'}):"
            " check SLACK_APP_TOKEN (an app-level token, xapp-…, with connections:write)"
        )
    return SlackStartupError(
        f"Could not connect to Slack over Socket Mode ({type(exc).__name__}):"
        " check SLACK_APP_TOKEN, SLACK_API_URL and the network"
    )


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    """Bolt's Socket Mode handler, refusing malformed payloads as the web endpoint does.

    Slack's socket is authenticated, so there is no signature to check; a payload that
    :func:`payload_problem` refuses is acknowledged (so Slack does not resend it) with one log
    line and never reaches Bolt.
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.socket_mode.response import SocketModeResponse

    class Handler(SocketModeHandler):
        def handle(  # type: ignore[override]  # as slack-bolt's own handler
            self, client: SocketModeClient, req: SocketModeRequest
        ) -> None:
            problem = payload_problem(req.payload)
            if problem is not None:
                log.warning("refused a Socket Mode request (%s): %s", req.type, problem)
                client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                return
            super().handle(client, req)

    # A library logger (WARNING by default, like Bolt's own) rather than budgetbot's (INFO).
    quiet = logging.getLogger("slack_sdk.socket_mode")
    # slack-sdk logs a refused token itself, in several lines; the startup error says it in one.
    if not any(isinstance(f, _DropPrefix) for f in quiet.filters):
        quiet.addFilter(_DropPrefix("Failed to retrieve WSS URL"))
    return Handler(app, app_token, logger=quiet)


class _DropPrefix(logging.Filter):
    """Drops log messages that start with a known prefix."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


def run_socket_mode(app: App, app_token: str, stop: threading.Event | None = None) -> None:
    """Connect to Slack over Socket Mode and handle requests until SIGTERM, Ctrl-C or ``stop``.

    Raises :class:`SlackStartupError` (one line naming SLACK_APP_TOKEN) when Slack refuses the
    token or cannot be reached; "connected" is said only once it is.
    """
    if any(c.isspace() or not c.isprintable() for c in app_token):
        # A CR or LF (a .env file with CRLF endings) cannot go in a header; slack-sdk's error
        # and log line would quote the token.
        raise SlackStartupError(
            "SLACK_APP_TOKEN holds whitespace or a control character"
            " (a line ending from a .env file?): check SLACK_APP_TOKEN"
        )
    handler = socket_mode_handler(app, app_token)
    try:
        handler.client.connect()
        if not handler.client.is_connected():  # slack-sdk logs a failed handshake, not raises
            raise SlackClientError("the WebSocket handshake failed")
    except (SlackClientError, OSError, ValueError) as exc:
        # ValueError: a token that cannot be sent in a header (a CR or LF from a .env file);
        # its message quotes the token, so only the type is said.
        handler.client.close()
        raise _socket_startup_error(exc) from None
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    log.info("budgetbot connected to Slack over Socket Mode; Ctrl-C stops it")
    try:
        stop.wait()
    finally:
        handler.client.close()
