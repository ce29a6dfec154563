"""Laws of the engine and alert decisions, over the simulator's data (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from budgetbot.alerts.notifiers import CHAT, Outgoing, OutgoingDigest, OutgoingNotice, Receipt
from budgetbot.alerts.pipeline import run_check
from budgetbot.rules.engine import evaluate, plan
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Budget, Policy
from budgetbot.store import Store
from budgetbot.usage import UsageSource

LAWS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

levels = st.lists(st.integers(min_value=5, max_value=100), min_size=1, max_size=4, unique=True).map(
    lambda xs: [Decimal(x) for x in sorted(xs)]
)

policies = st.builds(
    lambda scope, each, period, usd, alert_at, forecast_at, pace_at, match: Policy(
        name="p",
        scope=scope,
        each=each and scope != "organization",
        match=match if scope == "project" else None,
        period=period,
        budget=Budget(usd=Decimal(usd)),
        alert_at=alert_at,
        forecast_at=forecast_at,
        pace_at=pace_at,
    ),
    st.sampled_from(["project", "user", "organization"]),
    st.booleans(),
    st.sampled_from(["day", "week", "month", "quarter", "year"]),
    st.integers(min_value=200, max_value=400_000),
    levels,
    st.lists(st.integers(50, 200), max_size=2, unique=True).map(
        lambda xs: [Decimal(x) for x in sorted(xs)]
    ),
    st.lists(st.integers(50, 200), max_size=2, unique=True).map(
        lambda xs: [Decimal(x) for x in sorted(xs)]
    ),
    st.sampled_from([None, ["Quantum Chem"], ["*Lab*", "Drug*"], ["Compiler Research"]]),
)

moments = st.datetimes(
    min_value=dt.datetime(2026, 1, 2), max_value=dt.datetime(2026, 11, 19, 23)
).map(lambda t: t.replace(tzinfo=dt.UTC))


class Collect:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    destination = CHAT

    def deliver(self, note, *, resumed: bool = False) -> Receipt:
        if isinstance(note, OutgoingDigest):
            raise AssertionError("no digest in this law")
        if isinstance(note, OutgoingNotice):
            return Receipt("c", f"notice-{note.id}")  # "back under" replies are not alerts
        self.sent.append(note)
        return Receipt("c", f"ts-{note.id}")


@LAWS
@given(policy=policies, now=moments)
def test_findings_respect_bounds_and_forecast_is_at_least_spend(client, org, policy, now):
    source = UsageSource(client)
    queries = plan([policy], [], now)
    data = {q: source.series(q) for q in queries}
    for f in evaluate([policy], [], data, now):
        assert f.value.low <= f.value.high
        if f.forecast is not None:
            assert f.forecast.low >= f.value.low and f.forecast.high >= f.value.high
        if f.kind == "spend":
            assert f.percent is not None
            # Certain only when the lower bound itself crosses; a bound is never called exact.
            assert f.certain == (f.percent.low >= f.level)
            assert f.percent.high >= f.level
        if f.scope == "organization":
            assert f.value.exact


@LAWS
@given(policy=policies, start=moments, hours=st.lists(st.integers(1, 200), min_size=2, max_size=8))
def test_idempotent_and_levels_fire_in_order(client, policy, start, hours):
    source = UsageSource(client)
    store = Store.memory()
    sink = Collect()
    rules = PolicySet(policies=(policy,))
    now = start
    for step in hours:
        now = min(now + dt.timedelta(hours=step), dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC))
        run_check(rules, source, store, [sink], now)
        before = len(sink.sent)
        again = run_check(rules, source, store, [sink], now)
        assert len(sink.sent) == before and not again.to_notify  # idempotent
    event(f"notified {min(len(sink.sent), 3)}+")
    seen: dict[tuple[str, str, str], list[Decimal]] = {}
    for note in sink.sent:
        f = note.finding
        assert f.certain
        seen.setdefault((f.group_key, f.period, f.kind), []).append(f.level)
    for fired in seen.values():
        assert fired == sorted(fired) and len(set(fired)) == len(fired)
    store.close()
