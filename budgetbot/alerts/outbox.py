"""The outbox payload: one typed value per kind of notification, and its one codec.

Every reader of an outbox row's ``payload`` (delivery, the alert buttons, the App Home) goes
through :func:`decode`; every writer through :func:`encode`. ``Finding`` and ``DigestReport``
are serialized by their own pydantic models. Payloads written before this codec (``type``
missing means an alert) read the same.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from budgetbot.actions.model import Outcome, Proposal
from budgetbot.reports.digest import DigestReport
from budgetbot.rules.findings import Finding
from budgetbot.store.db import Store

from .decide import Reason
from .notifiers import CHAT

__all__ = [
    "ActionResultPayload",
    "AlertPayload",
    "DigestPayload",
    "NoticePayload",
    "Payload",
    "PayloadError",
    "ProposalPayload",
    "decode",
    "digest_key",
    "encode",
    "enqueue_digest",
    "enqueue_notice",
]


class PayloadError(ValueError):
    """An outbox payload that cannot be read back (damaged, or of an unknown kind)."""


@dataclass(frozen=True)
class AlertPayload:
    """A finding to announce, and why it is announced."""

    finding: Finding
    reason: Reason


@dataclass(frozen=True)
class DigestPayload:
    digest: DigestReport


@dataclass(frozen=True)
class NoticePayload:
    """An operational notice, or a "back under …" reply in an alert's thread."""

    text: str


@dataclass(frozen=True)
class ProposalPayload:
    """A budget action proposed in an alert's thread ("Cancel 3 queued jobs of …"), with its
    button (Slack) or its line (terminal)."""

    proposal: Proposal


@dataclass(frozen=True)
class ActionResultPayload:
    """What an action did, posted in its thread: an automatic action, a dry run's "would
    cancel", or an action finished after a restart (no click was waiting for it)."""

    outcome: Outcome


Payload = AlertPayload | DigestPayload | NoticePayload | ProposalPayload | ActionResultPayload


def _alert_doc(p: AlertPayload) -> dict[str, Any]:
    return {"type": "alert", "finding": p.finding.model_dump(mode="json"), "reason": p.reason.name}


def _digest_doc(p: DigestPayload) -> dict[str, Any]:
    return {"type": "digest", "digest": p.digest.model_dump(mode="json")}


def _notice_doc(p: NoticePayload) -> dict[str, Any]:
    return {"type": "notice", "text": p.text}


def _proposal_doc(p: ProposalPayload) -> dict[str, Any]:
    return {"type": "proposal", "proposal": p.proposal.model_dump(mode="json")}


def _result_doc(p: ActionResultPayload) -> dict[str, Any]:
    return {"type": "action_result", "outcome": p.outcome.model_dump(mode="json")}


def _alert(doc: dict[str, Any]) -> AlertPayload:
    return AlertPayload(Finding.model_validate(doc["finding"]), Reason[doc["reason"]])


def _digest(doc: dict[str, Any]) -> DigestPayload:
    return DigestPayload(DigestReport.model_validate(doc["digest"]))


def _notice(doc: dict[str, Any]) -> NoticePayload:
    text = doc["text"]
    if not isinstance(text, str):
        raise TypeError("a notice's text is not a string")
    return NoticePayload(text)


def _proposal(doc: dict[str, Any]) -> ProposalPayload:
    return ProposalPayload(Proposal.model_validate(doc["proposal"]))


def _result(doc: dict[str, Any]) -> ActionResultPayload:
    return ActionResultPayload(Outcome.model_validate(doc["outcome"]))


_ENCODERS: dict[type[Any], Callable[[Any], dict[str, Any]]] = {
    AlertPayload: _alert_doc,
    DigestPayload: _digest_doc,
    NoticePayload: _notice_doc,
    ProposalPayload: _proposal_doc,
    ActionResultPayload: _result_doc,
}
_DECODERS: dict[str, Callable[[dict[str, Any]], Payload]] = {
    "alert": _alert,
    "digest": _digest,
    "notice": _notice,
    "proposal": _proposal,
    "action_result": _result,
}


def encode(payload: Payload) -> str:
    """The stored text of ``payload``."""
    return json.dumps(_ENCODERS[type(payload)](payload))


def decode(text: str) -> Payload:
    """The payload stored as ``text``; raises :class:`PayloadError` if it cannot be read."""
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict):
            raise TypeError("not an object")
        kind = doc.get("type", "alert")
        if kind not in _DECODERS:
            raise PayloadError(f"unknown kind of notification {str(kind)[:40]!r}")
        return _DECODERS[kind](doc)
    except PayloadError:
        raise
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise PayloadError(f"{type(exc).__name__}: {exc}") from None


def digest_key(name: str, scheduled_for: dt.datetime) -> str:
    """The outbox key of a digest: one per name and scheduled time."""
    return f"digest|{name}|{scheduled_for.astimezone(dt.UTC).isoformat()}"


def enqueue_digest(
    store: Store,
    digest: DigestReport,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    *,
    destinations: Sequence[str] = (CHAT,),
) -> int | None:
    """Put a digest in the outbox once per (name, scheduled time); None if already there.

    The unique key is what makes a digest post once even when two clock processes, or one
    restarted after a crash, both find it due.
    """
    key = digest_key(digest.name, scheduled_for)
    row = (key, key, digest.channel, encode(DigestPayload(digest)))
    ids = store.record([], [row], now, destinations=destinations)
    return ids[0] if ids else None


def enqueue_notice(
    store: Store,
    key: str,
    text: str,
    channel: str | None,
    now: dt.datetime,
    *,
    destinations: Sequence[str] = (CHAT,),
) -> int | None:
    """Put an operational notice in the outbox once per ``key``; None if already there."""
    row = (key, key, channel, encode(NoticePayload(text)))
    ids = store.record([], [row], now, destinations=destinations)
    return ids[0] if ids else None
