"""The cycle as named stages, and notifiers with one method each, a list of them per process."""

from __future__ import annotations

import ast
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from budgetbot.alerts import pipeline
from budgetbot.alerts.console import ConsoleNotifier
from budgetbot.alerts.deliver import deliver
from budgetbot.alerts.notifiers import (
    CHAT,
    DIRECT,
    DeliveryError,
    Note,
    Notifier,
    Outgoing,
    OutgoingNotice,
    Receipt,
)
from budgetbot.alerts.outbox import enqueue_notice
from budgetbot.alerts.pipeline import run_check
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.slack.direct import DirectMessageNotifier
from budgetbot.slack.notifier import SlackNotifier
from budgetbot.store import Store
from budgetbot.usage import UsageSource

ALERTS = Path(__file__).resolve().parents[2] / "budgetbot" / "alerts"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
#: Receivers of a clock read (``self.now()``, an injected clock, is not one).
CLOCKS = {"time", "datetime", "date", "dt.datetime", "dt.date", "datetime.datetime"}
RULES = PolicySet(
    policies=(
        Policy.model_validate(
            {
                "name": "org-monthly",
                "scope": "organization",
                "period": "month",
                "budget": {"usd": Decimal(1)},
                "alert_at": [50, 100],
                "channel": "#quantum-spend",
            }
        ),
    )
)


class Keep:
    """A notifier for another destination that keeps what it is given."""

    def __init__(self, destination: str, *, fail: bool = False) -> None:
        self.destination = destination
        self.fail = fail
        self.got: list[Note] = []

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        if self.fail:
            raise DeliveryError(f"{self.destination} is down")
        self.got.append(note)
        return Receipt(self.destination, f"{self.destination}-{note.id}")


def test_the_cycle_reads_as_its_stages_in_order() -> None:
    assert [s.__name__ for s in pipeline.STAGES] == [
        "plan",
        "fetch",
        "evaluate",
        "decide",
        "propose",
        "record",
        "record_direct",
        "act",
        "deliver",
        "after_cycle",
        "record_metrics",
    ]


def test_a_notifier_has_one_method() -> None:
    methods = {
        name
        for cls in (ConsoleNotifier, SlackNotifier, DirectMessageNotifier)
        for name in vars(cls)
        if not name.startswith("_") and callable(vars(cls)[name])
    }
    assert methods == {"deliver"}
    assert isinstance(ConsoleNotifier(io.StringIO()), Notifier)
    assert ConsoleNotifier(io.StringIO()).destination == CHAT
    assert DirectMessageNotifier.destination == DIRECT != CHAT


def test_each_destination_gets_its_own_row_and_one_failing_never_blocks_another(
    sim, client, tmp_path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    out = io.StringIO()
    mail, metrics = Keep("mail"), Keep("metrics", fail=True)
    sim.now = NOW
    result = run_check(
        RULES, UsageSource(client), store, [ConsoleNotifier(out), mail, metrics], NOW
    )
    assert result.error is None and result.to_notify
    rows = store.notifications()
    by_destination = {
        d: sorted(r.dedup_key for r in rows if r.destination == d)
        for d in ("chat", "mail", "metrics")
    }
    assert by_destination["chat"] == by_destination["mail"] == by_destination["metrics"]
    assert by_destination["chat"]  # the alerts, once per destination
    assert [n.dedup_key for n in mail.got] == by_destination["mail"]
    assert "org-monthly" in out.getvalue()
    assert len(result.failed) == len(by_destination["metrics"])  # the failing one only
    assert all(isinstance(n, Outgoing) for n in mail.got)
    # Another cycle delivers nothing twice; the failing destination's rows are still waiting.
    again = run_check(RULES, UsageSource(client), store, [ConsoleNotifier(out), mail], NOW)
    assert again.sent == [] and len(mail.got) == len(by_destination["mail"])
    assert {r.destination for r in store.pending()} == {"metrics"}
    store.close()


def test_rows_of_a_destination_no_notifier_serves_are_left_alone(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    enqueue_notice(store, "notice|x", "hello", "#c", NOW, destinations=["mail"])
    done = deliver(store, [ConsoleNotifier(io.StringIO())], NOW, clock=lambda: NOW)
    assert done.sent == [] and done.failed == []
    mail = Keep("mail")
    done = deliver(store, [mail], NOW, clock=lambda: NOW)
    assert [type(n) for n in done.sent] == [OutgoingNotice]
    store.close()


def test_law_the_alert_path_reads_no_clock() -> None:
    """``now`` comes in; the lease clock and the stage timer are parameters."""
    reads = []
    for path in sorted(ALERTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"now", "utcnow", "today", "time", "monotonic"}
                and ast.unparse(node.func.value) in CLOCKS
            ):
                reads.append(f"{path.name}:{node.lineno}")
    assert reads == []


class Resumes(Keep):
    def __init__(self) -> None:
        super().__init__(CHAT)
        self.resumed: list[bool] = []

    def deliver(self, note: Note, *, resumed: bool = False) -> Receipt:
        self.resumed.append(resumed)
        return super().deliver(note, resumed=resumed)


def test_a_row_an_earlier_attempt_started_is_handed_over_as_resumed(tmp_path) -> None:
    """Exactly once: the notifier is told when it must look before delivering again."""
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    [fresh] = store.record([], [("fresh", "fresh", "#c", '{"type": "notice", "text": "a"}')], NOW)
    [crashed] = store.record(
        [], [("crashed", "crashed", "#c", '{"type": "notice", "text": "b"}')], NOW
    )
    lease = dt.timedelta(minutes=10)
    assert store.claim(crashed, "gone-host:1:0:0", NOW - 2 * lease, lease) == 0  # then it died
    notifier = Resumes()
    done = deliver(store, [notifier], NOW, clock=lambda: NOW)
    assert [n.id for n in done.sent] == [fresh, crashed]
    assert notifier.resumed == [False, True]
    store.close()
