"""The registries: a budget measure and a finding kind are each one entry.

The acceptance law of issue 12: a measure registered here, in a test, flows from a policy file
through the planner and engine to a rendered alert, with no module outside the registry touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from budgetbot.alerts.decide import Decision, Reason
from budgetbot.alerts.resolve import resolutions
from budgetbot.ionq import UsageQuery
from budgetbot.render.blocks import alert_message, read_alert_ref
from budgetbot.render.terminal import render_alert
from budgetbot.rules import load_policies, policy_json_schema
from budgetbot.rules.engine import evaluate_plan
from budgetbot.rules.findings import Burn, Figure, Finding, alert_key, resolved_key, thread_key
from budgetbot.rules.kinds import KINDS, Kind
from budgetbot.rules.kinds import register as register_kind
from budgetbot.rules.kinds import unregister as unregister_kind
from budgetbot.rules.models import Budget, Policy
from budgetbot.rules.planner import plan_cycle
from budgetbot.usage.measures import MEASURES, Measure, register, unregister
from budgetbot.usage.model import Bucket, Figures, UsageSeries

D = Decimal
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
US_PER_MINUTE = D(60_000_000)


@pytest.fixture
def qpu_minutes() -> Iterator[Measure]:
    """A measure only this test knows: QPU time in minutes."""
    unit = register(
        Measure(
            "qpu_minutes",
            "QPU minutes",
            lambda f: None if f.time_us is None else f.time_us / US_PER_MINUTE,
            suffix=" QPU min",
            places=1,
            description="QPU time in minutes.",
        )
    )
    yield unit
    unregister(unit.key)


def _answer(query: UsageQuery) -> UsageSeries:
    """Quantum Chem used 90 QPU minutes and $900 over every window asked, in one bucket."""
    listed = {"p-chem": Figures(usd=D(900), time_us=90 * US_PER_MINUTE, jobs=9)}
    if query.modality.value == "daily":
        days = (query.end - query.start).days
        buckets = tuple(
            Bucket(
                day,
                day + dt.timedelta(days=1),
                Figures(D(10), US_PER_MINUTE, 1),
                {"p-chem": Figures(D(10), US_PER_MINUTE, 1)},
            )
            for day in (query.start + dt.timedelta(days=i) for i in range(days))
        )
    else:
        buckets = (Bucket(query.start, query.end, Figures(D(900), 90 * US_PER_MINUTE, 9), listed),)
    return UsageSeries(
        group_by=query.group_by.value,
        modality=query.modality.value,
        start=query.start,
        end=query.end,
        buckets=buckets,
        names={"p-chem": "Quantum Chem"},
    )


def test_a_measure_registered_in_a_test_flows_from_policy_file_to_alert(
    qpu_minutes: Measure, tmp_path: Path
) -> None:
    (tmp_path / "chem.yaml").write_text(
        "policies:\n"
        "  - name: chem-minutes\n"
        "    scope: project\n"
        "    match: ['Quantum Chem']\n"
        "    each: true\n"
        "    budget:\n"
        "      qpu_minutes: 100\n"
        "    alert_at: [80, 100]\n"
    )
    rules = load_policies(tmp_path)
    [policy] = rules.policies
    assert policy.budget.measure == "qpu_minutes" and policy.budget.format() == "100.0 QPU min"
    planned = plan_cycle(rules.policies, (), NOW)
    findings = evaluate_plan(planned, {q: _answer(q) for q in planned.queries})
    [finding] = [f for f in findings if f.kind == "spend"]
    assert finding.measure == "qpu_minutes" and finding.level == D(80) and finding.certain
    text, blocks = alert_message(finding, mentions=[])
    assert (
        "Quantum Chem has used 90% of its November budget (90.0 QPU min of 100.0 QPU min)" in text
    )
    assert "*Budget*\\n100.0 QPU min" in str(blocks)
    assert "90.0 QPU min" in render_alert(finding, channel=None, threaded=False)
    # The schema editors use offers the new key.
    assert "qpu_minutes" in policy_json_schema()["$defs"]["Budget"]["properties"]


def test_an_unregistered_measure_is_no_budget_key(qpu_minutes: Measure) -> None:
    unregister(qpu_minutes.key)
    try:
        with pytest.raises(ValueError, match="qpu_minutes"):
            Policy.model_validate({"name": "a", "scope": "project", "budget": {"qpu_minutes": 5}})
    finally:
        register(qpu_minutes)
    assert set(Budget.model_fields) == set(MEASURES)


def test_measures_register_once() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(Measure("usd", "USD", lambda f: f.usd))
    assert [m.key for m in MEASURES.values()][:3] == ["usd", "qpu_hours", "jobs"]
    assert Measure.USD.read(Figures(D(5), D(7_200_000_000), 3)) == D(5)
    assert Measure.QPU_HOURS.read(Figures(D(5), D(7_200_000_000), 3)) == D(2)
    assert Measure.JOBS.read(Figures(D(5), D(7_200_000_000), 3)) == D(3)


def _burn(**changes: object) -> Burn:
    base: dict[str, object] = {
        "rule": "chem",
        "scope": "project",
        "group_key": "p1",
        "group_name": "Quantum Chem",
        "period": "2026-11",
        "period_start": dt.date(2026, 11, 1),
        "period_end": dt.date(2026, 12, 1),
        "measure": "usd",
        "budget": D(1000),
        "value": Figure(D(700), D(700)),
        "percent": Figure(D(70), D(70)),
        "forecast": Figure(D(900), D(900)),
    }
    base.update(changes)
    return Burn.model_validate(base)


@pytest.fixture
def overdraft() -> Iterator[Kind]:
    """A kind only this test knows, read off the forecast (as *committed spend* will be)."""
    kind = register_kind(
        Kind(
            "overdraft",
            "Budget overdraft",
            "{who} may overdraw {its} {period} budget of {budget}",
            levels=lambda p: p.forecast_at,
            figure=lambda b: b.forecast_percent,
            resolved="Back under {mark} overdraft: {who} {is} now on course for {forecast}.",
        )
    )
    yield kind
    unregister_kind(kind.key)


def test_renderers_and_resolver_look_kinds_up(overdraft: Kind) -> None:
    burn = _burn()
    finding = Finding.about(burn, "overdraft", D(95), certain=True)
    text, blocks = alert_message(finding, mentions=[])
    assert text.startswith("Quantum Chem may overdraw its November budget of $1,000.00")
    assert "Budget overdraft: Quantum Chem" in str(blocks)
    [r] = [r for r in resolutions([burn], {("chem", "p1", "2026-11", "overdraft"): {"95"}})]
    assert r.kind == "overdraft" and r.level == D(95)
    assert r.text == "Back under 95% overdraft: Quantum Chem is now on course for $900.00."


def test_every_kind_has_its_words() -> None:
    assert list(KINDS)[:5] == ["spend", "forecast", "pace", "anomaly", "no_usd"]
    for kind in KINDS.values():
        assert kind.title and kind.headline
        assert kind.resolvable == (kind.key in ("spend", "forecast", "pace", "committed"))


def test_keys_are_written_in_one_place() -> None:
    finding = Finding.about(_burn(), "spend", D("80.0"), certain=True)
    assert thread_key("chem", "p1", "2026-11") == finding.thread_key == "chem|p1|2026-11"
    assert (
        finding.dedup_key
        == alert_key(finding.thread_key, "spend", D(80))
        == ("chem|p1|2026-11|spend|80")
    )
    assert Decision(finding, Reason.FIRST).dedup_key == finding.dedup_key
    _, blocks = alert_message(finding, mentions=[])
    [ref] = [
        read_alert_ref(e["value"])
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == "budgetbot_ack"
    ]
    assert ref is not None and ref.dedup_key == finding.dedup_key
    assert ref.thread_key == finding.thread_key
    assert (
        resolved_key(finding.thread_key, "pace", D("1.50")) == "chem|p1|2026-11|pace|resolved|1.5"
    )


def test_forecast_percent_is_computed_once_on_the_burn() -> None:
    burn = _burn(budget=D(300), forecast=Figure(D(240), D(300)))
    # 240 of 300 is exactly 80: multiplied before dividing, so no 79.999… misses the level.
    assert burn.forecast_percent == Figure(D(80), D(100))
    assert _burn(forecast=None).forecast_percent is None
