"""The cycle's metrics snapshot and its exposition, in-process: counters carry over cycles, an
outage keeps the last good budgets, names are escaped, the cap keeps the largest budgets, and
``/metrics`` answers without a Slack signature."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from budgetbot.alerts.console import ConsoleNotifier
from budgetbot.alerts.exposition import capped, exposition
from budgetbot.alerts.metrics import (
    METRICS_SNAPSHOT,
    BudgetFigures,
    MetricsSnapshot,
    budget_figures,
    load_snapshot,
)
from budgetbot.alerts.pipeline import run_check
from budgetbot.ionq import IonQClient
from budgetbot.rules.findings import Burn, Figure, QueueStanding
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Budget, Policy
from budgetbot.sim import SimServer
from budgetbot.slack.web import create_wsgi_app
from budgetbot.store import Store
from budgetbot.usage import UsageSource

T0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
RULES = PolicySet(
    policies=(
        Policy(
            name="org",
            scope="organization",
            budget=Budget(usd=Decimal(100000)),
            alert_at=[100],
            channel="#quantum-spend",
        ),
        Policy(
            name="projects",
            scope="project",
            each=True,
            period="week",
            budget=Budget(usd=Decimal(5000)),
            alert_at=[100],
            channel="#quantum-spend",
        ),
    )
)


def families(text: str) -> dict[str, list[Sample]]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def scrape(store: Store, at: dt.datetime, cap: int = 1000) -> dict[str, list[Sample]]:
    return families(exposition(store, lambda: at, cap).decode())


def test_counters_carry_over_cycles_and_an_outage_keeps_the_last_good_budgets(
    sim: SimServer, client: IonQClient, tmp_path: Path
):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    sink = ConsoleNotifier(io.StringIO())

    def cycle(at: dt.datetime, **kw: object) -> None:
        sim.now = at
        run_check(RULES, UsageSource(client), store, [sink], at, **kw)  # type: ignore[arg-type]

    assert load_snapshot(store) is None
    assert scrape(store, T0)["budgetbot_budget_spend"] == []
    cycle(T0, dry_run=True)
    assert load_snapshot(store) is None  # a dry run records nothing

    asked = len(sim.usage_requests)
    cycle(T0)
    first = scrape(store, T0)
    spend = {s.labels["group"]: s for s in first["budgetbot_budget_spend"]}
    assert "Quantum Chem" in spend and len(spend) > 2
    assert {s.labels["period"] for s in first["budgetbot_budget_spend"]} == {"month", "week"}
    requests = {s.labels["kind"]: s.value for s in first["budgetbot_ionq_requests"]}
    assert requests == {"usage": len(sim.usage_requests) - asked}

    sim.fail(503, times=10_000)
    cycle(T0 + dt.timedelta(minutes=15))
    later = T0 + dt.timedelta(minutes=20)
    down = scrape(store, later)
    assert down["budgetbot_budget_spend"] == first["budgetbot_budget_spend"]
    assert down["budgetbot_last_good_cycle_timestamp_seconds"][0].value == T0.timestamp()
    last = down["budgetbot_last_cycle_timestamp_seconds"][0].value
    assert last == (T0 + dt.timedelta(minutes=15)).timestamp()
    assert [(s.labels, s.value) for s in down["budgetbot_ionq_errors"]] == [({"kind": "usage"}, 1)]
    assert down["budgetbot_cycles"][0].value == 2
    # The outage notice waits: the console prints it, so it was sent, not left.
    assert down["budgetbot_notifications_sent"][0].value >= 1
    store.close()


def test_outbox_depth_and_oldest_age_are_read_at_scrape_time(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.record([], [("k", "k", "#c", '{"type": "notice", "text": "x"}')], T0)
    found = scrape(store, T0 + dt.timedelta(minutes=7))
    assert found["budgetbot_outbox_depth"][0].value == 1
    assert found["budgetbot_outbox_oldest_age_seconds"][0].value == 420
    store.close()


def burn(group: str, key: str, value: Figure, **kw: object) -> Burn:
    fields: dict[str, object] = {
        "rule": "p",
        "scope": "project",
        "group_key": key,
        "group_name": group,
        "period": "2026-11",
        "period_start": dt.date(2026, 11, 1),
        "period_end": dt.date(2026, 12, 1),
        "measure": "usd",
        "budget": Decimal(100),
        "value": value,
    }
    return Burn.model_validate(fields | kw)


def test_bounds_committed_and_two_groups_of_one_name():
    exact, bounded = Figure(Decimal(5), Decimal(5)), Figure(Decimal(2), Decimal(9))
    queue = QueueStanding(state="counted", amount=Decimal(30), jobs=2)
    figures = budget_figures(
        [
            burn("A", "id-1", exact, queue=queue),
            burn("A", "id-2", bounded),
            burn("day", "d", exact, rule_type="anomaly"),
        ],
        {"p": "month"},
    )
    assert [(f.group, f.spend, f.spend_lower, f.spend_upper, f.committed) for f in figures] == [
        ("A", 5.0, None, None, 35.0),
        ("A (id-2)", 9.0, 2.0, 9.0, None),
    ]
    assert {f.period for f in figures} == {"month"}


def test_hostile_label_values_are_escaped_and_read_back_whole(tmp_path: Path):
    hostile = 'a "b" \\ c\nd} {e="f"'
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    snap = MetricsSnapshot(
        budgets=budget_figures([burn(hostile, "x", Figure(Decimal(1), Decimal(1)))], {})
    )
    store.set_status(METRICS_SNAPSHOT, snap.encode(), T0)
    text = exposition(store, lambda: T0, 10).decode()
    assert "\nd}" not in text  # the newline is escaped, not written
    (sample,) = families(text)["budgetbot_budget_spend"]
    assert sample.labels["group"] == hostile
    store.close()


amounts = st.lists(st.one_of(st.none(), st.integers(0, 10**6)), max_size=30)


@given(amounts, st.integers(0, 40))
def test_the_cap_keeps_the_largest_budgets_and_counts_the_rest(budgets, cap):
    figures = [
        BudgetFigures("p", f"g{i}", "month", "usd", 1.0, None, None, b, None, None)
        for i, b in enumerate(float(b) if b is not None else None for b in budgets)
    ]
    kept, dropped = capped(figures, cap)
    assert len(kept) == min(cap, len(figures)) and dropped == len(figures) - len(kept)
    left = [f for f in figures if f not in kept]
    if kept and left:
        assert min(f.budget or 0 for f in kept) >= max(f.budget or 0 for f in left)


def test_metrics_route_needs_no_signature_and_never_shows_a_trace():
    def start(status: str, headers: list[tuple[str, str]]) -> None:
        seen.append(status)

    def broken() -> bytes:
        raise RuntimeError("postgresql://user:secret@db/x unreachable")

    seen: list[str] = []
    environ = {"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}
    app = create_wsgi_app(None, signing_secret="s", metrics=lambda: b"# ok\n")  # type: ignore[arg-type]
    assert b"".join(app(environ, start)) == b"# ok\n" and seen == ["200 OK"]
    app = create_wsgi_app(None, signing_secret="s", metrics=broken)  # type: ignore[arg-type]
    body = b"".join(app(environ, start))
    assert seen[-1].startswith("503") and b"secret" not in body
    app = create_wsgi_app(None, signing_secret="s")  # type: ignore[arg-type]
    b"".join(app(environ, start))
    assert seen[-1].startswith("404")
