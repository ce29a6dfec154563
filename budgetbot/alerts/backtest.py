"""Replay the engine over history with throwaway state: what would have fired, and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from croniter import croniter

from budgetbot.render.messages import alert_headline
from budgetbot.render.text import safe_terminal
from budgetbot.rules.loader import PolicySet
from budgetbot.store.db import Store
from budgetbot.usage.source import UsageSource

from .cycle import Note, Outgoing, OutgoingDigest, OutgoingNotice, run_check

__all__ = ["Timeline", "replay_times", "run_backtest"]

_END_OF_DAY = dt.time(23, 59, 59, 999999)


def replay_times(start: dt.date, end: dt.date, step: str, cron: str) -> list[dt.datetime]:
    """The instants to evaluate at: each cron time (UTC), or each day's last instant."""
    if end < start:
        raise ValueError("--to is before --from")
    if step == "daily":
        days = (end - start).days + 1
        return [
            dt.datetime.combine(start + dt.timedelta(days=i), _END_OF_DAY, tzinfo=dt.UTC)
            for i in range(days)
        ]
    if step != "check":
        raise ValueError(f"--step must be 'check' or 'daily', not {step!r}")
    first = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC) - dt.timedelta(microseconds=1)
    last = dt.datetime.combine(end, _END_OF_DAY, tzinfo=dt.UTC)
    times = []
    it = croniter(cron, first)
    while (t := it.get_next(dt.datetime)) <= last:
        times.append(t)
    return times


@dataclass
class Timeline:
    entries: list[tuple[dt.datetime, Outgoing]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        for when, note in self.entries:
            f = note.finding
            thread = "  ↳" if note.thread else ""
            out.append(
                f"{when:%Y-%m-%d %H:%M}{thread} [{f.rule} {f.kind} {f.level_text}]"
                f" {safe_terminal(alert_headline(f))}"
            )
        return out


class _Collect:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, note: Outgoing) -> tuple[str, str]:
        self.sent.append(note)
        return note.channel or "backtest", f"backtest-{note.id}"

    def send_digest(self, note: OutgoingDigest) -> tuple[str, str]:
        return note.channel or "backtest", f"backtest-{note.id}"

    def send_notice(self, note: OutgoingNotice) -> tuple[str, str]:
        return note.channel or "backtest", f"backtest-{note.id}"

    def find_sent(self, note: Note) -> tuple[str, str] | None:
        return None


def run_backtest(rules: PolicySet, source: UsageSource, times: list[dt.datetime]) -> Timeline:
    """Evaluate at each instant with a fresh in-memory store; collect what would be sent."""
    store = Store.memory()
    sink = _Collect()
    timeline = Timeline()
    for when in times:
        before = len(sink.sent)
        run_check(rules, source, store, sink, when)
        timeline.entries.extend((when, note) for note in sink.sent[before:])
    store.close()
    return timeline
