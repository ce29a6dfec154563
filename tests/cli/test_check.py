"""`budgetbot check` and `backtest` end to end against the simulator over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.store import Store

NOW_QUEUE = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)

POLICY = """
policies:
  - name: org-month
    scope: organization
    period: month
    budget: {usd: 180000}
    alert_at: [25, 50, 75, 100]
  - name: chem-week
    scope: project
    match: ["Quantum Chem"]
    period: week
    budget: {usd: 9000}
    alert_at: [50, 100]
  - name: org-quarter
    scope: organization
    period: quarter
    budget: {usd: 540000}
    alert_at: [30, 60, 90]
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "budgets.yaml").write_text(POLICY)
    return folder


def check(now: dt.datetime, rules: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        main, ["check", "--now", now.isoformat(), "--policies", str(rules), *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def notified(tmp_path: Path) -> list[tuple[str, str, str, Decimal, str | None]]:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    out = []
    for row in store.notifications():
        f = json.loads(row.payload)["finding"]
        out.append((f["rule"], f["period"], f["kind"], Decimal(f["level"]), row.ts))
    store.close()
    return out


def step_days(sim, rules, first: dt.date, days: int) -> None:
    for i in range(days):
        now = dt.datetime.combine(first + dt.timedelta(days=i), dt.time(23, 0), tzinfo=dt.UTC)
        sim.now = now
        check(now, rules)


def test_check_twice_at_the_same_time_notifies_once(ionq_env, rules, tmp_path):
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    first = check(now, rules)
    assert "ALERT org-month" in first
    count = len(notified(tmp_path))
    second = check(now, rules)
    assert "ALERT" not in second
    assert len(notified(tmp_path)) == count
    assert "0 to notify" in second


def test_dry_run_shows_and_records_nothing(ionq_env, rules, tmp_path):
    now = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    out = check(now, rules, "--dry-run")
    assert "would notify" in out
    assert notified(tmp_path) == []
    assert "ALERT org-month" in check(now, rules)  # a dry run left nothing behind


def test_stepping_through_a_month_fires_each_level_once_in_order(ionq_env, rules, tmp_path):
    step_days(ionq_env, rules, dt.date(2026, 9, 28), 40)  # Sept 28 .. Nov 6
    sent = notified(tmp_path)
    assert all(ts for *_, ts in sent)  # delivered
    for period in ("2026-10", "2026-11"):
        levels = [lvl for rule, p, _, lvl, _ in sent if rule == "org-month" and p == period]
        assert levels == sorted(levels) and len(set(levels)) == len(levels)
    october = [lvl for rule, p, _, lvl, _ in sent if rule == "org-month" and p == "2026-10"]
    # A month of ~$200k against $180k crosses every level; several may come in one message.
    assert october[-1] == Decimal(100)
    # The next month starts clean: November's first alert is a new thread, from a low level.
    november = [lvl for rule, p, _, lvl, _ in sent if rule == "org-month" and p == "2026-11"]
    assert november and november[0] < Decimal(100)


def test_quarter_boundary_starts_clean(ionq_env, rules, tmp_path):
    step_days(ionq_env, rules, dt.date(2026, 9, 20), 42)  # crosses Q3 -> Q4 on Oct 1
    sent = notified(tmp_path)
    q3 = [lvl for rule, p, _, lvl, _ in sent if rule == "org-quarter" and p == "2026-Q3"]
    q4 = [lvl for rule, p, _, lvl, _ in sent if rule == "org-quarter" and p == "2026-Q4"]
    assert q3 and q3[-1] == Decimal(90)
    assert q4 and q4[0] == Decimal(30)


def test_iso_week_spanning_new_year(ionq_env, rules, tmp_path):
    # ISO week 2026-W01 runs Mon 2025-12-29 .. Sun 2026-01-04.
    step_days(ionq_env, rules, dt.date(2025, 12, 27), 10)
    sent = notified(tmp_path)
    weeks = [(p, lvl) for rule, p, _, lvl, _ in sent if rule == "chem-week"]
    assert ("2026-W01", Decimal(50)) in weeks or ("2026-W01", Decimal(100)) in weeks
    assert all(p in ("2025-W52", "2026-W01", "2026-W02") for p, _ in weeks)
    w01 = [lvl for p, lvl in weeks if p == "2026-W01"]
    assert w01 == sorted(w01) and len(set(w01)) == len(w01)


def test_backtest_matches_stepping_check_day_by_day(ionq_env, rules, tmp_path):
    start, days = dt.date(2026, 7, 1), 92  # Q3 2026
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            "--from",
            str(start),
            "--to",
            str(start + dt.timedelta(days=days - 1)),
            "--step",
            "daily",
            "--policies",
            str(rules),
        ],
    )
    assert result.exit_code == 0, result.output
    timeline = [line for line in result.output.splitlines() if line[:4].isdigit()]
    assert timeline
    # Live checks at each day's end against a simulator whose present is that moment.
    for i in range(days):
        day = start + dt.timedelta(days=i)
        now = dt.datetime.combine(day, dt.time(23, 59, 59, 999999), tzinfo=dt.UTC)
        ionq_env.now = now
        check(now, rules)
    bt = [(line.split("[")[1].split("]")[0]) for line in timeline]
    live = [
        f"{rule} {kind} {level.normalize():f}" for rule, _, kind, level, _ in notified(tmp_path)
    ]
    assert bt == live


def test_validate_reports_every_error_with_file_and_line(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "policies:\n"
        "  - name: chem\n"
        "    scope: project\n"
        "    budget: {usd: 100}\n"
        "    alert_a: [50]\n"  # typo'd key
        "  - name: team\n"
        "    scope: project\n"
        "    budget: {usd: 100}\n"
        "    alert_at: [120]\n"
        "digests:\n"
        "  - name: weekly\n"
        "    schedule: '0 9 * * MOON'\n"
        "    timezone: Europe/Berlni\n"
    )
    (folder / "b.yaml").write_text(
        "policies:\n  - name: chem\n    scope: organization\n    budget: {usd: 5}\n"
    )
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ".yaml:" in ln]
    assert len(lines) == 5, result.output
    joined = "\n".join(lines)
    assert "a.yaml:5:5" in joined and "did you mean 'alert_at'" in joined
    assert "a.yaml:9:" in joined and "120 is over 100" in joined
    assert "a.yaml:12:" in joined and "a.yaml:13:" in joined
    assert "b.yaml:2:" in joined and "already defined" in joined
    assert "Traceback" not in result.output


def test_shipped_policies_validate_and_match_the_packaged_examples():
    root = Path(__file__).resolve().parents[2]
    result = CliRunner().invoke(main, ["validate", str(root / "policies")])
    assert result.exit_code == 0, result.output
    packaged = root / "budgetbot" / "sim" / "policies"
    for f in (root / "policies").glob("*.yaml"):
        assert (packaged / f.name).read_text() == f.read_text(), f.name


def test_shipped_policies_pass_the_printed_schema():
    import jsonschema
    import yaml

    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    root = Path(__file__).resolve().parents[2]
    for f in (root / "policies").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(f.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"policies": [{"name": "x", "scope": "nope"}]}, schema)


def test_backtest_scores_the_forecast_at_25_50_75_percent(ionq_env, rules):
    result = CliRunner().invoke(
        main,
        [
            "backtest",
            "--from",
            "2026-07-01",
            "--to",
            "2026-09-30",
            "--step",
            "daily",
            "--policies",
            str(rules),
        ],
    )
    assert result.exit_code == 0, result.output
    table = result.output.split("Forecast error", 1)[1].splitlines()
    org = next(line for line in table if line.strip().startswith("org-month "))
    cells = org.split()
    assert cells[1] == "3"  # July, August, September
    errors = [Decimal(c.rstrip("%")) for c in cells[2:5]]
    assert all(Decimal(0) <= e < Decimal(25) for e in errors)  # org totals are exact
    quarter = next(line for line in table if line.strip().startswith("org-quarter "))
    assert quarter.split()[1] == "1"


def test_check_dry_run_reads_the_queue_for_committed_at(ionq_env, org, tmp_path, monkeypatch):
    """The command wires the queue reader: committed findings listed, an unseen queue said."""
    portfolio, lattice = org.project("Portfolio Opt"), org.project("Lattice QCD")
    assert org.queued(NOW_QUEUE, portfolio.name), "the simulator queues Portfolio Opt jobs then"
    monkeypatch.setenv("IONQ_PROJECT_KEYS", ionq_env.project_keys[portfolio.id])
    folder = tmp_path / "committed"
    folder.mkdir()
    (folder / "q.yaml").write_text(
        "policies:\n"
        + "".join(
            f"  - name: {name}\n    scope: project\n    match: [{project.name!r}]\n"
            "    budget: {usd: 1}\n    alert_at: [100]\n    committed_at: [100]\n"
            for name, project in (("portfolio", portfolio), ("lattice", lattice))
        )
    )
    ionq_env.now = NOW_QUEUE
    out = check(NOW_QUEUE, folder, "--dry-run")
    assert "ALERT portfolio: Portfolio Opt has committed" in out
    assert "Queued now: $" in out and " queued job" in out
    assert "committed spend not checked: lattice for Lattice QCD: queue not visible" in out
    assert "IonQ queue requests" in out  # the summary line (stderr, mixed in by CliRunner)
