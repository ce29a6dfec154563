"""What comes into budgetbot from Slack, checked before anything acts on it.

Two checks, in this order, for every request:

1. **Verification** (HTTP only): Slack's signature over ``v0:<timestamp>:<body>`` with the signing
   secret, and a timestamp within five minutes. :class:`StrictSignatureVerifier` is slack-sdk's
   verifier made total: a timestamp that is not a plain number of seconds (``abc``, ``1.5``,
   ``0x10``, ``1e3``, empty), a signature with non-ASCII characters or a body that is not UTF-8
   make it answer False where slack-sdk raises. A request that fails is answered 401 and causes
   nothing else: no listener, no error handler, no ``response_url`` call.
2. **Shape** (:func:`payload_problem`): the parsed body is a JSON object of sane depth, of a kind
   budgetbot answers (a slash command, a button click, an event, Slack's URL check), whose parts
   that Bolt and the listeners read have the types Slack documents. Anything else is answered 400
   with one log line, before Bolt's request parsing or matching could raise on it.

Bolt keeps its own verification as well (:class:`RequestSignature`, with the strict verifier), so
an app dispatched in process is as safe as the web endpoint.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from slack_bolt.middleware.request_verification import RequestVerification
from slack_sdk.signature import Clock, SignatureVerifier

from budgetbot.render.slack_text import MAX_VALUE

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "RequestSignature",
    "StrictSignatureVerifier",
    "payload_problem",
]

log = logging.getLogger("budgetbot.slack.inbound")

#: Slack's requests are a few kilobytes; a click carries its message (50 blocks at most).
MAX_BODY_BYTES = 1 << 20
#: Slack's payloads nest about ten levels (rich text in a message in a click); far more is abuse.
MAX_DEPTH = 64
#: A Unix time in seconds, as Slack sends it: ASCII digits only (``int()`` would take more).
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)

REFUSED_UNVERIFIED = "refused a request to /slack/events: signature missing, wrong or stale (401)"


class StrictSignatureVerifier(SignatureVerifier):
    """slack-sdk's request verifier that answers False, never raises, whatever the headers."""

    def __init__(self, signing_secret: str, clock: Clock | None = None) -> None:
        super().__init__(signing_secret, clock or Clock())

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        if not isinstance(timestamp, str) or not _TIMESTAMP.fullmatch(timestamp):
            return False
        # hmac.compare_digest raises on non-ASCII text.
        if not isinstance(signature, str) or not signature.isascii():
            return False
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                return False
        return super().is_valid(body, timestamp, signature)


class RequestSignature(RequestVerification):
    """Bolt's request verification with :class:`StrictSignatureVerifier`.

    A failure is one log line without the request (Bolt's own line carries the unverified body).
    Socket Mode requests are skipped, as Bolt does: they come over Slack's authenticated socket.
    """

    def __init__(self, signing_secret: str) -> None:
        super().__init__(signing_secret)
        self._verifier = StrictSignatureVerifier(signing_secret)

    def _debug_log_error(self, signature: Any, timestamp: Any, body: Any) -> None:
        log.warning(REFUSED_UNVERIFIED)


# -- shape ------------------------------------------------------------------------------------

_NOT_GIVEN = object()

#: Top-level fields that are text when present (null is tolerated: Slack sends some as null).
_TEXT_FIELDS = (
    "type",
    "token",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "team_id",
    "team_domain",
    "enterprise_id",
    "enterprise_name",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "api_app_id",
    "callback_id",
    "action_ts",
    "thread_ts",
    "event_id",
    "challenge",
    "function_execution_id",
    "bot_access_token",
    "ssl_check",
)
#: Who and where: an id, or an object with an ``id``.
_NAMED_FIELDS = ("team", "enterprise", "user", "channel")
_NAMED_TEXT = ("id", "name", "username", "domain", "team_id", "enterprise_id")
_FLAG_FIELDS = ("is_enterprise_install", "is_ext_shared_channel", "is_bot")
_MESSAGE_TEXT = ("ts", "thread_ts", "text", "type", "subtype", "bot_id")
_EVENT_TEXT = (
    "type",
    "subtype",
    "tab",
    "channel_type",
    "thread_ts",
    "bot_id",
    "user_team",
    "bot_access_token",
    "function_execution_id",
)
_ACTION_TEXT = ("action_id", "block_id", "type", "action_ts")
_CONTAINER_TEXT = ("type", "channel_id", "message_ts", "thread_ts")
_VIEW_TEXT = ("id", "type", "callback_id", "team_id", "app_installed_team_id")
_AUTHORIZATION_TEXT = ("team_id", "enterprise_id", "user_id")
_OTHER_OBJECTS = ("item", "function_data", "assistant_thread", "workflow_step", "state", "inputs")


def _is_text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _too_deep(doc: Any, limit: int) -> bool:
    """Whether ``doc`` nests containers more than ``limit`` deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[Any] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _text_problem(doc: Mapping[str, Any], fields: Iterable[str], where: str) -> str | None:
    for name in fields:
        if not _is_text(doc.get(name)):
            return f"{where}{name} is not text"
    return None


def _named_problem(doc: Mapping[str, Any], where: str) -> str | None:
    for name in _NAMED_FIELDS:
        value = doc.get(name)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict):
            return f"{where}{name} is neither an id nor an object"
        if problem := _text_problem(value, _NAMED_TEXT, f"{where}{name}."):
            return problem
    return None


def _object_problem(doc: Mapping[str, Any], name: str, where: str) -> str | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, dict):
        return f"{where}{name} is not an object"
    return None


def _objects(value: Any, where: str) -> tuple[list[dict[str, Any]], str | None]:
    """The objects of a list that must hold only objects, or the problem."""
    if value is None:
        return [], None
    if not isinstance(value, list):
        return [], f"{where} is not a list"
    if not all(isinstance(item, dict) for item in value):
        return [], f"{where} holds something that is not an object"
    return value, None


def _message_problem(message: Any, where: str) -> str | None:
    if message is None:
        return None
    if not isinstance(message, dict):
        return f"{where} is not an object"
    if problem := _text_problem(message, _MESSAGE_TEXT, f"{where}."):
        return problem
    if problem := _named_problem(message, f"{where}."):
        return problem
    return _objects(message.get("blocks"), f"{where}.blocks")[1]


def _common_problem(body: Mapping[str, Any]) -> str | None:
    """Type errors in the parts Bolt reads from any request (context, matching, middleware)."""
    checks = (
        _text_problem(body, _TEXT_FIELDS, ""),
        _named_problem(body, ""),
        *(
            None if _is_text(body.get(f)) or isinstance(body.get(f), bool) else f"{f} is not a flag"
            for f in _FLAG_FIELDS
        ),
        *(_object_problem(body, name, "") for name in (*_OTHER_OBJECTS, "container", "view")),
        _message_problem(body.get("message"), "message"),
        _message_problem(body.get("previous_message"), "previous_message"),
    )
    if problem := next((p for p in checks if p), None):
        return problem
    container = body.get("container")
    if container and (problem := _text_problem(container, _CONTAINER_TEXT, "container.")):
        return problem
    view = body.get("view")
    if view and (problem := _text_problem(view, _VIEW_TEXT, "view.")):
        return problem
    authorizations, problem = _objects(body.get("authorizations"), "authorizations")
    if problem:
        return problem
    for auth in authorizations:
        if problem := _text_problem(auth, _AUTHORIZATION_TEXT, "authorizations[]."):
            return problem
    urls, problem = _objects(body.get("response_urls"), "response_urls")
    if problem:
        return problem
    for url in urls:
        if problem := _text_problem(url, ("response_url",), "response_urls[]."):
            return problem
    return _event_problem(body.get("event"))


def _event_problem(event: Any) -> str | None:
    if event is None:
        return None
    if not isinstance(event, dict):
        return "event is not an object"
    checks = (
        _text_problem(event, _EVENT_TEXT, "event."),
        _named_problem(event, "event."),
        *(_object_problem(event, name, "event.") for name in _OTHER_OBJECTS),
        _message_problem(event.get("message"), "event.message"),
        _message_problem(event.get("previous_message"), "event.previous_message"),
    )
    return next((p for p in checks if p), None)


def _click_problem(body: Mapping[str, Any]) -> str | None:
    actions, problem = _objects(body.get("actions"), "actions")
    if problem:
        return problem
    if not actions:
        return "a click without actions"
    for action in actions:
        if problem := _text_problem(action, _ACTION_TEXT, "actions[]."):
            return problem
        if not isinstance(action.get("action_id"), str):
            return "a click without an action_id"
        value = action.get("value")
        if not _is_text(value):
            return "actions[].value is not text"
        if value is not None and len(value) > MAX_VALUE:
            return f"actions[].value is longer than {MAX_VALUE} characters"
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "a click without a user object"
    return None


def payload_problem(body: Any) -> str | None:
    """Why a parsed Slack request cannot be answered, or None when its shape is sound.

    Checks what Bolt and budgetbot's listeners read, nothing else: unknown fields pass. The
    kinds answered are slash commands, ``block_actions`` (the alert buttons), ``event_callback``
    (the App Home), ``url_verification`` and ``ssl_check``; a listener for another kind needs its
    shape here too.
    """
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if not body:
        return "the body is empty"
    if _too_deep(body, MAX_DEPTH):
        return f"the body nests deeper than {MAX_DEPTH} levels"
    if problem := _common_problem(body):
        return problem
    kind = body.get("type")
    if "command" in body and kind is None:
        if not isinstance(body["command"], str):
            return "a slash command without a command"
        # Slack sends every slash command with one; the answer goes there, after the ack.
        url = body.get("response_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            return "a slash command without an http(s) response_url"
        return None
    if "ssl_check" in body:
        return None
    if kind == "block_actions":
        return _click_problem(body)
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            return "an event without a type"
        return None
    if kind == "url_verification":
        return None if isinstance(body.get("challenge"), str) else "a URL check without challenge"
    return f"not a kind of request budgetbot answers (type {str(kind)[:40]!r})"
