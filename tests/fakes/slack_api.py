"""A fake Slack Web API on loopback, recording every call (the way slack-sdk tests itself).

``FakeSlack()`` serves a stdlib ``ThreadingHTTPServer`` from a daemon thread on port 0; point
``WebClient(base_url=fake.base_url)`` (or ``SLACK_API_URL``) at it. Web API methods live under
``/api/<method>`` and need ``Authorization: Bearer xoxb-…``; ``POST /response/<id>`` stands in for
a slash command's ``response_url`` and ``POST /upload/<file_id>`` for the upload URL of
``files_upload_v2``.

Channels have members, as in Slack: the bot may post to a public channel it is not in
(``chat:write.public``), but reading its history or a thread (``conversations.history`` /
``replies``) answers ``not_in_channel`` until it joins (``conversations.join``) or is invited
(:meth:`FakeSlack.add_channel` with ``member=True``). A private channel (``private=True``) cannot
be joined (``method_not_supported_for_channel_type``) and, to a non-member, does not exist.

Direct messages: ``conversations.open`` with a user the fake knows (``users``, by id) answers
that user's ``D…`` conversation; an unknown user is ``user_not_found``, as in Slack.

Faults are injected per method with :meth:`FakeSlack.fail`: a 429 with ``Retry-After``, an
``{"ok": false, "error": …}`` answer with status 200, a 5xx, or a raw (malformed) body.

Scopes are checked as Slack checks them: a method whose scope the app was not granted answers
``missing_scope`` with ``needed`` (:data:`METHOD_SCOPES`); by default the fake grants exactly the
bot scopes of ``slack-manifest.yaml``, so a scope missing there fails here too. User groups have
members (``usergroups.users.list``); ``chat.postEphemeral`` messages are kept apart
(:meth:`FakeSlack.ephemerals`), never in a channel's history.

Like Slack, ``chat.postMessage``, ``chat.update`` and ``views.publish`` refuse blocks over Block
Kit's limits (``invalid_blocks``, see :func:`block_kit_errors`) and a fallback text over 40,000
characters (``msg_too_long``); ``files.completeUploadExternal`` answers only each file's id and
title (no permalink: ``files.info`` gives it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

__all__ = [
    "METHOD_SCOPES",
    "FakeSlack",
    "Fault",
    "block_kit_errors",
    "iter_blocks_text",
    "manifest_scopes",
]

TEAM_ID = "T123"
BOT_USER_ID = "UBOT"
BOT_ID = "B1"
INVALID_TOKEN = "xoxb-invalid"
INVALID_APP_TOKEN = "xapp-invalid"
#: Methods called with the app-level token (``xapp-…``) rather than the bot token.
APP_TOKEN_METHODS = ("apps.connections.open",)
_ID = re.compile(r"^[CDG][A-Z0-9]{6,}$")
#: Block Kit's limits as Slack enforces them (a message; a Home tab or modal view).
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
#: The bot scope each Web API method needs (Slack's method pages); methods not listed need none
#: the fake checks (history and lists need one per kind of channel: not modelled).
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.lookupByEmail": "users:read.email",
    "usergroups.list": "usergroups:read",
    "usergroups.users.list": "usergroups:read",
    "conversations.join": "channels:join",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
}
_MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


@cache
def manifest_scopes() -> frozenset[str]:
    """The bot scopes ``slack-manifest.yaml`` asks for: what an installed budgetbot is granted."""
    manifest = yaml.safe_load(_MANIFEST.read_text())
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


@dataclass
class Fault:
    """One injected failure; ``times=None`` fails every call."""

    method: str
    error: str
    status: int
    retry_after: str | None
    times: int | None
    channel: str | None = None
    body: str | None = None
    used: int = 0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method != method or (self.times is not None and self.used >= self.times):
            return False
        return self.channel is None or params.get("channel") == self.channel


@dataclass
class _Message:
    channel: str
    ts: str
    body: dict[str, Any]
    replies: list[str] = field(default_factory=list)

    def as_slack(self, *, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self.ts,
            "text": self.body.get("text", ""),
        }
        if self.body.get("blocks") is not None:
            out["blocks"] = self.body["blocks"]
        thread_ts = self.body.get("thread_ts")
        if thread_ts:
            out["thread_ts"] = thread_ts
        if self.replies:
            out["thread_ts"] = self.ts
            out["reply_count"] = len(self.replies)
        if with_metadata and self.body.get("metadata"):
            out["metadata"] = self.body["metadata"]
        return out


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _decode(value: Any) -> Any:
    """Form-encoded JSON fields (``blocks``, ``metadata``, ``files``) arrive as strings."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack:
    """A Slack Web API on ``127.0.0.1``; use as a context manager."""

    def __init__(
        self,
        *,
        users: dict[str, str] | None = None,
        usergroups: dict[str, str] | None = None,
        token: str | None = None,
        app_token: str | None = None,
        latency: float = 0.0,
        members: dict[str, list[str]] | None = None,
        scopes: frozenset[str] | None = None,
    ) -> None:
        #: e-mail → user id, for ``users.lookupByEmail`` (case-insensitive).
        self.users: dict[str, str] = dict(users or {})
        #: handle (without ``@``) → user group id, for ``usergroups.list``.
        self.usergroups: dict[str, str] = dict(usergroups or {})
        #: user group id → its members' user ids, for ``usergroups.users.list``.
        self.members_of: dict[str, list[str]] = {k: list(v) for k, v in (members or {}).items()}
        #: The bot scopes granted (default: the manifest's).
        self.scopes: frozenset[str] = manifest_scopes() if scopes is None else scopes
        #: When set, the only accepted token; else any ``xoxb-…`` but ``xoxb-invalid``.
        self.token = token
        #: The same for the app-level token of Socket Mode (``xapp-…`` but ``xapp-invalid``).
        self.app_token = app_token
        #: Seconds the server waits before answering each request.
        self.latency = latency
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.uploads: dict[str, bytes] = {}
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[Fault] = []
        self._messages: list[_Message] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._files: dict[str, dict[str, Any]] = {}
        self._ts = 0
        self._ids = 0
        #: method → seconds to wait AFTER handling a call, before answering: the call has taken
        #: effect (a message is posted) while the client still waits — a crash window.
        self.answer_delay: dict[str, float] = {}
        #: channel id → name, for conversations.list (every channel posted to by name).
        self.channel_names: dict[str, str] = {}
        #: Channel ids the bot is a member of (joined or invited).
        self.members: set[str] = set()
        #: Channel ids of private channels.
        self.private: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        ready = threading.Event()

        def serve() -> None:
            ready.set()
            server.serve_forever(poll_interval=0.05)

        self._thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        assert self._server is not None, "FakeSlack is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def base_url(self) -> str:
        """The Web API base URL, ending in ``/api/``."""
        return self.root_url + "api/"

    def response_url(self, id_: str) -> str:
        """A ``response_url`` whose posts :meth:`responses` returns."""
        return f"{self.root_url}response/{id_}"

    # -- what was received --------------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for m, body, _ in self.calls if m == method]

    def posts(self) -> list[dict[str, Any]]:
        """Bodies of every ``chat.postMessage`` call (failed ones included)."""
        return self.calls_to("chat.postMessage")

    def responses(self, id_: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._responses.get(id_, []))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """What is in a channel (name or id), oldest first, threads included."""
        cid = self.channel_id(channel)
        with self._lock:
            return [m.as_slack(with_metadata=True) for m in self._messages if m.channel == cid]

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """``chat.postEphemeral`` messages delivered (to ``user``), oldest first."""
        with self._lock:
            return [e for e in self._ephemerals if user is None or e.get("user") == user]

    def views(self) -> dict[str, dict[str, Any]]:
        """App Home views published, by user id."""
        with self._lock:
            return dict(self._views)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._faults.clear()

    # -- behaviour ----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: str | None = "1",
        times: int | None = 1,
        *,
        channel: str | None = None,
        body: str | None = None,
    ) -> Fault:
        """Make the next ``times`` calls to ``method`` fail (``None``: every call).

        ``method`` is a Web API method or ``"response_url"``. ``channel`` limits the fault to
        calls naming that channel; ``body`` replaces the JSON answer with raw text.
        """
        fault = Fault(method, error, status, retry_after, times, channel, body)
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_channel(self, name: str, *, private: bool = False, member: bool = False) -> str:
        """Create a channel (``#name``), the bot invited when ``member``; returns its id."""
        cid = self.channel_id(name)
        with self._lock:
            self.channel_names[cid] = name.removeprefix("#")
            if private:
                self.private.add(cid)
            if member:
                self.members.add(cid)
        return cid

    @staticmethod
    def channel_id(channel: str) -> str:
        """The stable id the fake gives a channel name (``#name`` or ``name``); ids pass."""
        if _ID.match(channel):
            return channel
        if _USER_ID.match(channel):  # a DM to a user
            return "D" + hashlib.sha1(channel.encode()).hexdigest()[:9].upper()
        name = channel.removeprefix("#")
        return "C" + hashlib.sha1(name.encode()).hexdigest()[:9].upper()

    # -- request handling (server threads) ----------------------------------------------------

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, params):
                    fault.used += 1
                    return fault
        return None

    def _next_ts(self) -> str:
        self._ts += 100
        return f"1700000000.{self._ts:06d}"

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:08d}"

    def _authorized(self, headers: dict[str, str], method: str = "") -> str | None:
        """None when the token is accepted, else Slack's error code."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.startswith("Bearer "):
            return "not_authed"
        token = auth.removeprefix("Bearer ").strip()
        if not token:
            return "not_authed"
        if method in APP_TOKEN_METHODS:
            if not token.startswith("xapp-"):
                return "not_allowed_token_type"
            if self.app_token is not None:
                return None if token == self.app_token else "invalid_auth"
            return "invalid_auth" if token == INVALID_APP_TOKEN else None
        if self.token is not None:
            return None if token == self.token else "invalid_auth"
        if not token.startswith("xoxb-") or token == INVALID_TOKEN:
            return "invalid_auth"
        return None

    def _api(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        needed = METHOD_SCOPES.get(method)
        if needed is not None and needed not in self.scopes:
            provided = ",".join(sorted(self.scopes))
            return {"ok": False, "error": "missing_scope", "needed": needed, "provided": provided}
        with self._lock:
            result: dict[str, Any] = handler(p)
        return result

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake-workspace.slack.test/",
            "team": "Fake Workspace",
            "user": "budgetbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        # No WebSocket is served here: a client that gets this far fails to connect.
        return {"ok": True, "url": self.root_url.replace("http://", "ws://") + "socket-mode"}

    def _find(self, channel: str, ts: str) -> _Message | None:
        return next((m for m in self._messages if m.channel == channel and m.ts == ts), None)

    def _new_message_refused(self, p: dict[str, Any]) -> dict[str, Any] | None:
        """Slack's answer to a new message it refuses (no channel, no text, over the limits)."""
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks") and not p.get("attachments"):
            return {"ok": False, "error": "no_text"}
        refused = _refused(p)
        if refused is not None:
            return refused
        if not self._visible(self.channel_id(str(p["channel"]))):
            return {"ok": False, "error": "channel_not_found"}
        return None

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        refused = self._new_message_refused(p)
        if refused is not None:
            return refused
        cid = self.channel_id(str(p["channel"]))
        if not _ID.match(str(p["channel"])):
            self.channel_names[cid] = str(p["channel"]).removeprefix("#")
        thread_ts = p.get("thread_ts")
        if thread_ts:
            parent = self._find(cid, str(thread_ts))
            if parent is None:
                return {"ok": False, "error": "thread_not_found"}
        message = _Message(cid, self._next_ts(), dict(p))
        if thread_ts:
            parent.replies.append(message.ts)  # type: ignore[union-attr]
        self._messages.append(message)
        return {
            "ok": True,
            "channel": cid,
            "ts": message.ts,
            "message": message.as_slack(with_metadata=True),
        }

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self.channel_id(str(p.get("channel", "")))
        message = self._find(cid, str(p.get("ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        refused = _refused(p)
        if refused is not None:
            return refused
        for key in ("text", "blocks", "metadata"):
            if key in p:
                message.body[key] = p[key]
        return {
            "ok": True,
            "channel": cid,
            "ts": message.ts,
            "text": message.body.get("text", ""),
            "message": message.as_slack(with_metadata=True),
        }

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not _USER_ID.match(str(p.get("user", ""))):
            return {"ok": False, "error": "user_not_found"}
        refused = self._new_message_refused(p)
        if refused is not None:
            return refused
        cid = self.channel_id(str(p["channel"]))
        thread_ts = p.get("thread_ts")
        if thread_ts and self._find(cid, str(thread_ts)) is None:
            return {"ok": False, "error": "thread_not_found"}
        ts = self._next_ts()
        self._ephemerals.append({**p, "channel": cid, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self.channel_id(str(p.get("channel", "")))
        ts = str(p.get("message_ts", ""))
        if self._find(cid, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": cid,
            "permalink": f"https://fake-workspace.slack.test/archives/{cid}/p{ts.replace('.', '')}",
        }

    def _visible(self, cid: str) -> bool:
        """A private channel does not exist for a bot that is not in it."""
        return cid not in self.private or cid in self.members

    def _unreadable(self, cid: str) -> str | None:
        """Slack's error for reading a channel's messages, or None when the bot may."""
        if not self._visible(cid):
            return "channel_not_found"
        if cid.startswith("D") or cid in self.members:
            return None
        return "not_in_channel"

    def _m_conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        channels = [
            {
                "id": cid,
                "name": name,
                "is_channel": True,
                "is_private": cid in self.private,
                "is_member": cid in self.members,
            }
            for cid, name in sorted(self.channel_names.items())
            if self._visible(cid)
        ]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _m_conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        if not _ID.match(channel):
            return {"ok": False, "error": "channel_not_found"}  # as Slack: ids only
        if channel.startswith("D"):
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        if not self._visible(channel):
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.private:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        answer: dict[str, Any] = {"ok": True, "channel": {"id": channel, "is_member": True}}
        if channel in self.members:
            answer["warning"] = "already_in_channel"
        self.members.add(channel)
        return answer

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        if not _ID.match(str(p.get("channel", ""))):
            return {"ok": False, "error": "channel_not_found"}  # as Slack: ids only
        cid = self.channel_id(str(p.get("channel", "")))
        refused = self._unreadable(cid)
        if refused:
            return {"ok": False, "error": refused}
        with_metadata = _truthy(p.get("include_all_metadata", False))
        limit = int(p.get("limit") or 100)
        oldest = float(p.get("oldest") or 0)
        latest = float(p["latest"]) if p.get("latest") else None
        top = [
            m
            for m in self._messages
            if m.channel == cid
            and not m.body.get("thread_ts")
            and float(m.ts) >= oldest
            and (latest is None or float(m.ts) <= latest)
        ]
        top.reverse()  # newest first
        start = int(p.get("cursor") or 0)
        page, more = top[start : start + limit], len(top) > start + limit
        return {
            "ok": True,
            "messages": [m.as_slack(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        cid = self.channel_id(str(p.get("channel", "")))
        refused = self._unreadable(cid)
        if refused:
            return {"ok": False, "error": refused}
        parent = self._find(cid, str(p.get("ts", "")))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        with_metadata = _truthy(p.get("include_all_metadata", False))
        thread = [parent] + [m for m in self._messages if m.ts in parent.replies]
        return {
            "ok": True,
            "messages": [m.as_slack(with_metadata=with_metadata) for m in thread],
            "has_more": False,
        }

    def _m_conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        """A direct message with one user: as Slack, only a known user (by id) can be opened,
        and the same user always gets the same ``D…`` conversation."""
        users = [u.strip() for u in str(p.get("users", "")).split(",") if u.strip()]
        if not users and not p.get("channel"):
            return {"ok": False, "error": "users_list_not_supplied"}
        if len(users) != 1:
            return {"ok": False, "error": "not_implemented"}  # group DMs: not used
        user = users[0]
        if not _USER_ID.match(user) or user not in self.users.values():
            return {"ok": False, "error": "user_not_found"}
        cid = self.channel_id(user)
        return {"ok": True, "channel": {"id": cid, "is_im": True, "user": user}}

    def _m_users_lookupByEmail(self, p: dict[str, Any]) -> dict[str, Any]:
        email = str(p.get("email", "")).lower()
        by_email = {k.lower(): v for k, v in self.users.items()}
        if email not in by_email:
            return {"ok": False, "error": "users_not_found"}
        uid = by_email[email]
        return {
            "ok": True,
            "user": {
                "id": uid,
                "team_id": TEAM_ID,
                "name": email.split("@")[0],
                "profile": {"email": email},
            },
        }

    def _m_usergroups_list(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "usergroups": [
                {"id": sid, "team_id": TEAM_ID, "handle": handle, "name": handle}
                for handle, sid in self.usergroups.items()
            ],
        }

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = str(p.get("usergroup", ""))
        if not group:
            return {"ok": False, "error": "invalid_arguments"}
        if group not in self.usergroups.values() and group not in self.members_of:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.members_of.get(group, []))}

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user_id", ""))
        view = p.get("view")
        if not user or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        errors = block_kit_errors(view.get("blocks") or [], max_blocks=MAX_VIEW_BLOCKS)
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        self._views[user] = view
        return {"ok": True, "view": {"id": "V" + user, **view}}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not p.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        return {"ok": True, "upload_url": f"{self.root_url}upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        out = []
        for f in files:
            if f.get("id") not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            # As Slack: only the id and title; the permalink is in files.info.
            title = f.get("title") or f["id"]
            out.append({"id": f["id"], "title": title})
            self._files[f["id"]] = {"id": f["id"], "title": title, "name": f["id"]}
        channel = p.get("channel_id")
        if channel:
            text = p.get("initial_comment") or ""
            body = {"text": text, "files": out}
            if p.get("thread_ts"):
                body["thread_ts"] = p["thread_ts"]
            self._messages.append(_Message(self.channel_id(str(channel)), self._next_ts(), body))
        return {"ok": True, "files": out}

    def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        file = self._files.get(str(p.get("file", "")))
        if file is None:
            return {"ok": False, "error": "file_not_found"}
        link = f"https://fake-workspace.slack.test/files/{BOT_USER_ID}/{file['id']}"
        return {"ok": True, "file": {**file, "permalink": link}}


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(
            self, status: int, body: str, extra: dict[str, str] | None = None, *, json_: bool = True
        ) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            kind = "application/json; charset=utf-8" if json_ else "text/plain; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            # The client may have given up waiting (a timeout test): nothing left to answer.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)

        def _params(self, raw: bytes, query: str) -> dict[str, Any]:
            params: dict[str, Any] = dict(parse_qsl(query))
            kind = self.headers.get("Content-Type", "")
            if raw and kind.startswith("application/json"):
                doc = json.loads(raw.decode("utf-8"))
                if isinstance(doc, dict):
                    params.update(doc)
            elif raw:
                params.update({k: _decode(v) for k, v in parse_qsl(raw.decode("utf-8"))})
            return params

        def _fault_answer(self, fault: Fault) -> None:
            extra = {}
            if fault.retry_after is not None and fault.status != 200:
                extra["Retry-After"] = fault.retry_after
            body = fault.body
            if body is None:
                body = json.dumps({"ok": False, "error": fault.error})
            self._send(fault.status, body, extra)

        def do_GET(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            if fake.latency:
                time.sleep(fake.latency)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            headers = dict(self.headers.items())
            path = url.path
            if path.startswith("/response/"):
                id_ = path.removeprefix("/response/")
                doc = json.loads(raw.decode("utf-8") or "{}")
                with fake._lock:
                    fake._responses.setdefault(id_, []).append(doc)
                fault = fake._fault("response_url", doc)
                if fault is not None:
                    self._fault_answer(fault)
                    return
                if isinstance(doc, dict) and _refused(doc) is not None:
                    self._send(400, "invalid_blocks", json_=False)  # as Slack's response_url
                    return
                self._send(200, "ok", json_=False)
                return
            if path.startswith("/upload/"):
                file_id = path.removeprefix("/upload/")
                with fake._lock:
                    fake.uploads[file_id] = raw
                self._send(200, "OK - " + str(len(raw)), json_=False)
                return
            if not path.startswith("/api/"):
                self._send(404, json.dumps({"ok": False, "error": "not_found"}))
                return
            method = path.removeprefix("/api/")
            try:
                params = self._params(raw, url.query)
            except ValueError:
                self._send(200, json.dumps({"ok": False, "error": "invalid_json"}))
                return
            with fake._lock:
                fake.calls.append((method, params, headers))
            denied = fake._authorized(headers, method)
            if denied is not None:
                self._send(200, json.dumps({"ok": False, "error": denied}))
                return
            fault = fake._fault(method, params)
            if fault is not None:
                self._fault_answer(fault)
                return
            answer = json.dumps(fake._api(method, params))
            if fake.answer_delay.get(method):
                time.sleep(fake.answer_delay[method])
            self._send(200, answer)

    return Handler


def iter_blocks_text(blocks: list[dict[str, Any]]) -> Iterator[str]:
    """Every text string inside Block Kit blocks (for assertions)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(blocks)


def _text_of(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("text"), str):
        return str(node["text"])
    return None


def block_kit_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """What Slack would refuse in ``blocks`` (empty when it takes them), per Block Kit's limits:
    blocks per message or view, header 150 and section 3,000 characters, 10 fields of 2,000,
    1 to 10 context elements, 25 actions elements, button text 75, value 2,000, URL 3,000,
    ids 255, a confirm dialog's plain-text title 100, text 300 and buttons 30."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    errors = []
    if len(blocks) > max_blocks:
        errors.append(f"{len(blocks)} blocks, more than {max_blocks}")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            errors.append(f"[{i}] is not an object")
            continue
        kind = block.get("type")
        where = f"[{i}] {kind}"
        if len(str(block.get("block_id", ""))) > 255:
            errors.append(f"{where}: block_id over 255")
        text = _text_of(block.get("text"))
        if kind == "header":
            if block["text"].get("type") != "plain_text" or text is None or len(text) > 150:
                errors.append(f"{where}: text must be plain_text of at most 150 characters")
        elif kind == "section":
            fields = block.get("fields") or []
            if text is None and not fields:
                errors.append(f"{where}: needs text or fields")
            if text is not None and not 0 < len(text) <= 3000:
                errors.append(f"{where}: text of {len(text)} characters (1 to 3,000)")
            if len(fields) > 10 or any(len(_text_of(f) or "") > 2000 for f in fields):
                errors.append(f"{where}: at most 10 fields of 2,000 characters")
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 10:
                errors.append(f"{where}: {len(elements)} elements (1 to 10)")
            if any(not 0 < len(_text_of(e) or "") <= 3000 for e in elements):
                errors.append(f"{where}: element text of 1 to 3,000 characters")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                errors.append(f"{where}: {len(elements)} elements (1 to 25)")
            for e in elements:
                if len(_text_of(e.get("text")) or "") > 75:
                    errors.append(f"{where}: button text over 75")
                if len(str(e.get("value", ""))) > 2000 or len(str(e.get("url", ""))) > 3000:
                    errors.append(f"{where}: button value over 2,000 or url over 3,000")
                if len(str(e.get("action_id", ""))) > 255:
                    errors.append(f"{where}: action_id over 255")
                if "confirm" in e:
                    errors += _confirm_errors(e["confirm"], where)
        elif kind != "divider":
            errors.append(f"{where}: not a block type budgetbot uses")
    return errors


#: A confirm dialog's parts: each plain_text, at most this long (title and text required).
_CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}


def _confirm_errors(confirm: Any, where: str) -> list[str]:
    """What Slack refuses in a button's confirm dialog."""
    if not isinstance(confirm, dict):
        return [f"{where}: confirm is not an object"]
    errors = []
    for part, limit in _CONFIRM_LIMITS.items():
        obj = confirm.get(part)
        if obj is None and part in ("confirm", "deny"):
            continue
        text = _text_of(obj)
        if not isinstance(obj, dict) or obj.get("type") != "plain_text" or text is None:
            errors.append(f"{where}: confirm.{part} must be plain_text")
        elif not 0 < len(text) <= limit:
            errors.append(f"{where}: confirm.{part} of {len(text)} characters (1 to {limit})")
    if confirm.get("style") not in (None, "primary", "danger"):
        errors.append(f"{where}: confirm.style must be primary or danger")
    return errors


def _refused(p: dict[str, Any]) -> dict[str, Any] | None:
    """Slack's answer to a message over its limits, else None."""
    if len(str(p.get("text") or "")) > MAX_MESSAGE_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    blocks = p.get("blocks")
    if blocks is not None:
        errors = block_kit_errors(blocks)
        if errors:
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
    return None
