"""Which findings become notifications (pure): one per (rule, group, period, kind) and level.

Each stage takes data and returns data; the store is read before and written after, by the cycle.

    highest_level_only → dedup (against levels already fired) → thread under the first alert
    → snooze

A level fires once per (rule, group, period, kind). When several levels are crossed at once, one
notification names the highest and every crossed level is recorded. Findings that are only
*possibly* crossed (IonQ's top-5 lists hide part of the figure) are never notified as breaches.

A snoozed (rule, group) stays quiet until its snooze ends: what would notify is ``SNOOZED`` and
its levels are *not* recorded, so the first cycle after the snooze notifies the highest level
crossed meanwhile, once, and never a level already sent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from budgetbot.rules.findings import Finding

__all__ = ["Decision", "Reason", "decide", "fired_key", "snooze", "snooze_key"]


class Reason(StrEnum):
    """Why a finding is (or is not) notified; shown in logs and in ``check --dry-run``."""

    FIRST = "first alert of this rule, group and period"
    HIGHER_LEVEL = "a higher level than already sent"
    ALREADY_SENT = "already sent"
    UNCERTAIN = "possibly crossed: IonQ's top-5 lists hide part of the figure"
    SNOOZED = "snoozed from Slack"


@dataclass(frozen=True)
class Decision:
    finding: Finding
    reason: Reason
    #: Levels to record as fired (every crossed level not yet recorded).
    record: tuple[str, ...] = ()
    #: ``SNOOZED``: when the snooze ends.
    until: dt.datetime | None = None

    @property
    def notify(self) -> bool:
        return self.reason in (Reason.FIRST, Reason.HIGHER_LEVEL)

    @property
    def dedup_key(self) -> str:
        return self.finding.dedup_key


def fired_key(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.rule, finding.group_key, finding.period, finding.kind)


def snooze_key(finding: Finding) -> tuple[str, str]:
    """What a snooze covers: one rule and one group, every kind and period."""
    return (finding.rule, finding.group_key)


def decide(
    findings: Iterable[Finding],
    fired: dict[tuple[str, str, str, str], set[str]],
    threads_started: set[str],
    snoozed: Mapping[tuple[str, str], dt.datetime] | None = None,
) -> list[Decision]:
    """Decide every finding's fate given the levels already fired, the threads started and the
    snoozes in force (``(rule, group_key)`` → end of the snooze)."""
    by_key: dict[tuple[str, str, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        by_key[fired_key(f)].append(f)
    decisions: list[Decision] = []
    started = set(threads_started)
    for key, group in by_key.items():
        decisions.extend(_decide_one(group, fired.get(key, set()), started))
    return snooze(decisions, snoozed or {})


def snooze(
    decisions: Sequence[Decision], snoozed: Mapping[tuple[str, str], dt.datetime]
) -> list[Decision]:
    """The snooze stage: a notification of a snoozed (rule, group) becomes ``SNOOZED``.

    Its levels are left unrecorded, so they are still "new" when the snooze ends. Decisions
    that notify nothing (already sent, uncertain, quietly recorded) pass unchanged.
    """
    out = []
    for d in decisions:
        until = snoozed.get(snooze_key(d.finding))
        out.append(
            d if until is None or not d.notify else Decision(d.finding, Reason.SNOOZED, (), until)
        )
    return out


def _decide_one(group: Sequence[Finding], done: set[str], started: set[str]) -> list[Decision]:
    certain = sorted((f for f in group if f.certain), key=lambda f: f.level)
    out = [Decision(f, Reason.UNCERTAIN) for f in group if not f.certain]
    new = [f for f in certain if f.level_text not in done]
    if not new:
        return out + [Decision(f, Reason.ALREADY_SENT) for f in certain]
    top = new[-1]
    highest_done = max((Decimal(level) for level in done), default=None)
    record = tuple(f.level_text for f in new)
    if highest_done is not None and top.level <= highest_done:
        # A higher level went out already: record quietly, never step back down.
        return [*out, Decision(top, Reason.ALREADY_SENT, record)]
    reason = Reason.HIGHER_LEVEL if top.thread_key in started else Reason.FIRST
    started.add(top.thread_key)
    return [*out, Decision(top, reason, record)]
