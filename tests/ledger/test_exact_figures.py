"""Exact figures beyond IonQ's top 5, through the check cycle: usage from the simulator over HTTP,
refined by the ledger — the simulator's truth as a walk would sum it, then the real walk over
HTTP with project keys (``IONQ_PROJECT_KEYS``) — checked against ``SimOrg`` to the cent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from budgetbot.alerts.cycle import CycleResult
from budgetbot.alerts.pipeline import run_check
from budgetbot.cli.runtime import Runtime, slack_deps
from budgetbot.ionq import GroupBy, IonQClient, Modality, UsageQuery
from budgetbot.ledger.figures import LedgerFigures
from budgetbot.ledger.reconcile import LedgerSource
from budgetbot.reports.fetch import fetch_burns
from budgetbot.rules.loader import PolicySet
from budgetbot.rules.models import Policy
from budgetbot.settings import Settings
from budgetbot.sim import SimOrg, SimServer
from budgetbot.sim.model import Project
from budgetbot.store import Store
from budgetbot.usage import normalize
from tests.ledger.truth_ledger import TruthLedger
from tests.support import API_KEY, NOW

D = Decimal
MONTH = (dt.date(2026, 11, 1), NOW.date() + dt.timedelta(days=1))
ONE_DAY = dt.timedelta(days=1)


def never_listed(client: IonQClient, org: SimOrg) -> list[Project]:
    """The quiet projects IonQ lists in no bucket of the month (daily or monthly) nor before."""
    listed: set[str] = set()
    for modality, start in (
        (Modality.DAILY, MONTH[0] - 30 * ONE_DAY),
        (Modality.MONTHLY, MONTH[0]),
    ):
        query = UsageQuery(group_by=GroupBy.PROJECT, modality=modality, start=start, end=MONTH[1])
        listed.update(normalize(client.usage(query), query).groups())
    quiet = [p for p in org.quiet_projects if p.id not in listed]
    assert len(quiet) >= 2, "the simulator's quiet projects should stay out of every top 5"
    return quiet


def spent(org: SimOrg, project: Project) -> Decimal:
    return org.truth(GroupBy.PROJECT, *MONTH, until=NOW)[project.id].amount


def policy(name: str, project: Project, budget: Decimal) -> Policy:
    return Policy.model_validate(
        {
            "name": name,
            "scope": "project",
            "match": [project.id],  # IonQ never names it: matched by id
            "each": True,
            "budget": {"usd": budget},
            "alert_at": [50, 90],
            "channel": "#quantum-spend",
        }
    )


@pytest.fixture
def quiet(client: IonQClient, org: SimOrg) -> list[Project]:
    return never_listed(client, org)


@pytest.fixture
def rules(org: SimOrg, quiet: list[Project]) -> PolicySet:
    # Each quiet project has spent 60% of its budget: past the 50% level, short of 90%.
    return PolicySet(
        policies=tuple(
            policy(f"quiet-{n}", p, (spent(org, p) / D("0.6")).quantize(D(1)))
            for n, p in enumerate(quiet[:2])
        )
    )


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'state.db'}")
    yield s
    s.close()


def runtime(sim: SimServer, org: SimOrg, store: Store, ledger: LedgerSource | None) -> Runtime:
    settings = Settings(_env_file=None, budgetbot_ledger=ledger is not None)  # type: ignore[call-arg]
    return Runtime(
        settings,
        now=lambda: NOW,
        ionq_endpoint=(sim.base_url, org.org_id, API_KEY),
        store=store,
        ledger=ledger,
    )


def check(sim, org, store, rules, ledger: LedgerSource | None) -> CycleResult:
    with runtime(sim, org, store, ledger) as rt:
        return run_check(rules, rt.usage_source(at=NOW), store, [], NOW, dry_run=True)


def every_project(org: SimOrg) -> set[str]:
    return {p.id for p in org.projects}


def test_a_quiet_project_matched_by_id_fires_a_certain_alert_with_its_exact_figure(
    sim, org, store, rules, quiet
):
    without = check(sim, org, store, rules, None)
    assert without.findings == []  # only bounds: possibly over, never certainly
    ledger = TruthLedger(org, every_project(org))
    result = check(sim, org, store, rules, ledger)
    assert result.queries == without.queries  # the usage queries asked are the same
    assert len(ledger.calls) == 1  # the ledger is read once per cycle, for every query's days
    assert result.ledger_requests == {"jobs": 1, "cost": 0} and result.ledger_refined > 0
    assert [r for r in result.ledger_reasons if r.kind != "unread"] == []
    found = {f.rule: f for f in result.findings}
    assert set(found) == {"quiet-0", "quiet-1"}
    for n, project in enumerate(quiet[:2]):
        finding = found[f"quiet-{n}"]
        assert finding.certain and finding.level == 50 and finding.group_key == project.id
        truth = spent(org, project)
        assert finding.value.low == finding.value.high == truth  # to the cent
        assert truth == truth.quantize(D("0.01"))


def test_the_home_tab_digest_and_reports_see_the_same_exact_figures(sim, org, store, rules, quiet):
    ledger = TruthLedger(org, every_project(org))
    with runtime(sim, org, store, ledger) as rt:
        deps = slack_deps(rt, rules, now=lambda: NOW)
        burns = {b.rule: b for b in fetch_burns(rules, deps.usage_source(), NOW)}
        report_source = rt.usage_source(cached=False, at=NOW, ledger=True)
        query = UsageQuery(
            group_by=GroupBy.PROJECT, modality=Modality.MONTHLY, start=MONTH[0], end=MONTH[1]
        )
        monthly = report_source.series(query)
    assert isinstance(report_source.refiner, LedgerFigures)
    for n, project in enumerate(quiet[:2]):
        value = burns[f"quiet-{n}"].value
        assert value.low == value.high == spent(org, project)
        assert project.id in monthly.groups()


def test_a_missing_project_key_keeps_bounds_names_the_days_and_alerts_nothing(
    sim, org, store, rules, quiet
):
    hidden = quiet[0]
    ledger = TruthLedger(org, every_project(org) - {hidden.id})
    result = check(sim, org, store, rules, ledger)
    # Its unseen spend breaks every bucket it spent in: the other quiet project's month too, so
    # neither is certainly over; the hidden one, listed nowhere, is not even possibly over.
    assert not any(f.certain for f in result.findings)
    assert not any(f.group_key == hidden.id for f in result.findings)
    assert result.ledger_error is None
    daily = {
        r.start
        for r in result.ledger_reasons
        if r.kind == "mismatch" and r.end - r.start == ONE_DAY
    }
    assert daily, "the reasons name the days that do not add up"
    start = min(daily)
    for day in daily:
        shown = {j.project_id for j in org.billed(day, day + ONE_DAY, until=NOW)}
        assert hidden.id in shown  # every day named is a day the hidden project spent
    hidden_days = {
        d
        for d in (start + n * ONE_DAY for n in range((NOW.date() - start).days))
        if any(j.project_id == hidden.id for j in org.billed(d, d + ONE_DAY, until=NOW))
    }
    assert hidden_days <= daily | {d for d in hidden_days if d < start}
    reason = next(r for r in result.ledger_reasons if r.start in daily)
    assert "of the remainder is not in the ledger" in reason.text
    assert reason.days in str(reason)


def test_a_day_with_an_unbilled_job_keeps_bounds(sim, org, store, rules, quiet):
    late = NOW.date() - 2 * ONE_DAY
    ledger = TruthLedger(org, every_project(org), unbilled={late: 1})
    result = check(sim, org, store, rules, ledger)
    assert not any(f.certain for f in result.findings)
    unbilled = [r for r in result.ledger_reasons if r.kind == "unbilled"]
    assert {r.start for r in unbilled if r.end - r.start == ONE_DAY} == {late}
    assert any(r.start == MONTH[0] for r in unbilled)  # the month holding that day, too
    assert "1 job completed then is not billed yet" in str(unbilled[0])


def test_a_dry_run_says_which_days_kept_bounds_and_what_the_ledger_cost(
    sim, org, store, rules, quiet, capsys
):
    from budgetbot.cli.cycle_output import print_cycle

    ledger = TruthLedger(org, every_project(org) - {quiet[0].id})
    result = check(sim, org, store, rules, ledger)
    print_cycle(result, NOW, dry_run=True)
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if "kept as bounds" in line]
    assert lines and "(the ledger does not add up): 2026-11-" in lines[0]
    assert "of the remainder is not in the ledger" in lines[0]
    assert "1 IonQ ledger requests" in err


# -- the real walk ---------------------------------------------------------------------------


def walk_check(
    sim: SimServer, org: SimOrg, store: Store, rules: PolicySet, keys: Sequence[str]
) -> CycleResult:
    settings = Settings(_env_file=None, budgetbot_ledger=True)  # type: ignore[call-arg]
    with Runtime(
        settings,
        now=lambda: NOW,
        ionq_endpoint=(sim.base_url, org.org_id, API_KEY),
        ionq_project_keys=keys,
        store=store,
    ) as rt:
        return run_check(rules, rt.usage_source(at=NOW), store, [], NOW, dry_run=True)


def keys_but(sim: SimServer, *missing: str) -> list[str]:
    return [key for project, key in sim.project_keys.items() if project not in missing]


def test_with_every_key_a_never_listed_project_alerts_certainly_to_the_cent(
    sim, org, store, rules, quiet
):
    result = walk_check(sim, org, store, rules, keys_but(sim))
    assert result.ledger_error is None
    assert result.ledger_requests["cost"] > 0 and result.ledger_refined > 0
    found = {f.rule: f for f in result.findings}
    assert set(found) == {"quiet-0", "quiet-1"}
    for n, project in enumerate(quiet[:2]):
        finding = found[f"quiet-{n}"]
        assert finding.certain and finding.group_key == project.id
        assert finding.value.low == finding.value.high == spent(org, project)
    # A second cycle walks only what is new: no cost asked again for a job already in the ledger.
    again = walk_check(sim, org, store, rules, keys_but(sim))
    assert again.ledger_requests.get("cost", 0) == 0
    assert {f.rule for f in again.findings if f.certain} == {"quiet-0", "quiet-1"}


def test_without_one_project_key_its_days_stay_bounds_and_nothing_certain_is_alerted(
    sim, org, store, rules, quiet
):
    hidden = quiet[0]
    result = walk_check(sim, org, store, rules, keys_but(sim, hidden.id))
    assert not any(f.certain for f in result.findings)
    assert not any(f.group_key == hidden.id for f in result.findings)
    named = {
        r.start
        for r in result.ledger_reasons
        if r.kind == "mismatch" and r.end - r.start == ONE_DAY
    }
    assert named
    for day in named:  # each day named is one the hidden project spent on
        billed = org.billed(day, day + ONE_DAY, until=NOW)
        assert any(j.project_id == hidden.id for j in billed)


def test_a_job_whose_cost_is_not_in_yet_keeps_its_day_bounded(sim, org, store, rules, quiet):
    sim.drop_field("cost", route="cost")  # the first job asked: no billed cost yet
    result = walk_check(sim, org, store, rules, keys_but(sim))
    assert not any(f.certain for f in result.findings)
    unbilled = [r for r in result.ledger_reasons if r.kind == "unbilled"]
    assert unbilled and all("1 job completed then is not billed yet" in r.text for r in unbilled)
    assert any(r.start == dt.date(2026, 11, 1) for r in unbilled)  # the month holding it
