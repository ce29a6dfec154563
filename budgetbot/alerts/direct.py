"""Direct messages to the people spending: the ``dm`` destination's stage and its snoozes.

A user-scope policy with ``notify: person`` tells the user spending, by direct message, as well
as its channel. After :func:`~budgetbot.alerts.stages.record` has put the alerts in the outbox
for the channel, :func:`record_direct` adds one more row per alert of such a policy, for the
destination :data:`~budgetbot.alerts.notifiers.DIRECT`, addressed (the row's ``channel``) to the
Slack user ``people:`` maps the IonQ user to. Being its own outbox row, a direct message is
delivered once, retried when Slack fails, and never blocks or repeats the channel's post.

A user the mapping does not name is logged (``direct message not sent``) every time an alert
would have gone to them: never silently skipped. A person's snooze (the alert's *Snooze*
buttons, clicked in the direct message) quiets their direct messages of that rule and group
until it ends; the channel's alerts go on. It is kept in the store's status table, one key per
(rule, group), so it needs no schema change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from budgetbot.store.db import Store

from .cycle import Cycle
from .notifiers import DIRECT
from .outbox import AlertPayload, encode

__all__ = [
    "PersonSnooze",
    "person_snooze",
    "record_direct",
    "snooze_person",
]

log = logging.getLogger("budgetbot.cycle")

_SNOOZE_PREFIX = "dm-snooze:"


@dataclass(frozen=True)
class PersonSnooze:
    """A person's snooze of their direct messages about one rule and group."""

    until: dt.datetime
    by_user: str
    at: dt.datetime


def _snooze_key(rule: str, group_key: str) -> str:
    # Status keys are at most 64 characters; a rule and a group may be far longer.
    digest = hashlib.sha256(f"{rule}\n{group_key}".encode()).hexdigest()[:40]
    return _SNOOZE_PREFIX + digest


def snooze_person(
    store: Store, rule: str, group_key: str, until: dt.datetime, by_user: str, now: dt.datetime
) -> None:
    """Quiet the direct messages of (rule, group) until ``until`` (the latest click wins)."""
    doc = {
        "rule": rule,
        "group": group_key,
        "until": until.isoformat(),
        "by": by_user[:64],
        "at": now.isoformat(),
    }
    store.set_status(_snooze_key(rule, group_key), json.dumps(doc), now)


def person_snooze(store: Store, rule: str, group_key: str, now: dt.datetime) -> PersonSnooze | None:
    """The person's snooze of (rule, group) in force at ``now``, if any."""
    found = store.get_status(_snooze_key(rule, group_key))
    if found is None or not found[0]:
        return None
    try:
        doc = json.loads(found[0])
        if doc["rule"] != rule or doc["group"] != group_key:
            return None  # another (rule, group) with the same digest prefix: not this one
        snooze = PersonSnooze(
            dt.datetime.fromisoformat(doc["until"]),
            str(doc["by"]),
            dt.datetime.fromisoformat(doc["at"]),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("an unreadable direct-message snooze of %s is ignored", rule)
        return None
    return snooze if snooze.until > now else None


def record_direct(cycle: Cycle) -> bool:
    """The stage: one ``dm`` outbox row per alert of a ``notify: person`` policy, addressed to
    the person ``people:`` maps its user to; unmapped users are logged, snoozed ones held."""
    result, store, now = cycle.result, cycle.store, cycle.now
    if result.error is not None:
        return True
    personal = {p.name for p in cycle.rules.policies if p.notify == "person"}
    decisions = [d for d in result.to_notify if d.finding.rule in personal]
    if not decisions:
        return True
    delivering = any(n.destination == DIRECT for n in cycle.notifiers)
    rows = []
    for d in decisions:
        finding = d.finding
        person = cycle.rules.people.slack_user(finding.group_key, finding.group_name)
        if person is None:
            result.unmapped.append(finding.group_name)
            log.warning(
                "direct message not sent: IonQ user %r (policy %s, %s) has no entry in people:",
                finding.group_name,
                finding.rule,
                finding.group_key,
            )
            continue
        snooze = person_snooze(store, finding.rule, finding.group_key, now)
        if snooze is not None:
            log.info(
                "direct message of %s held: snoozed by %s until %s",
                d.dedup_key,
                snooze.by_user,
                snooze.until.isoformat(),
            )
            continue
        payload = encode(AlertPayload(finding, d.reason))
        rows.append((d.dedup_key, finding.thread_key, person, payload))
    if rows and not delivering:
        log.warning(
            "%d direct message(s) not sent: they need Slack (SLACK_BOT_TOKEN) in this process",
            len(rows),
        )
    elif rows:
        store.record([], rows, now, destinations=[DIRECT])
    return True
