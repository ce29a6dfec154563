"""`budgetbot report` and `demo` end to end: the CLI, the real client, the simulator over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from click.testing import CliRunner

from budgetbot.cli import main

NOW = "2026-11-20T12:00:00Z"


def test_report_project_weekly_against_the_simulator(ionq_env, org):
    result = CliRunner().invoke(main, ["report", "project", "weekly", "--now", NOW])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "IonQ spend by project, weekly, 2026-10-26 to 2026-11-20" in out
    assert "other / not itemized" in out and "total (IonQ)" in out
    assert "Nov 16*" in out  # the current week is marked as to date


def test_report_json_totals_reconcile_with_truth(ionq_env, org):
    import datetime as dt

    result = CliRunner().invoke(
        main, ["report", "user", "daily", "2026-11-01..2026-11-19", "--json", "--now", NOW]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    truth = org.truth("user", dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    assert Decimal(doc["grand_total"]) == sum(t.amount for t in truth.values())
    assert Decimal(doc["ionq_amount_total"]) == Decimal(doc["grand_total"])
    for row in doc["rows"]:
        true = truth[row["key"]].amount
        assert Decimal(row["total"]["low"]) <= true <= Decimal(row["total"]["high"])


def test_bad_grouping_is_one_line_with_choices_and_exit_2(ionq_env):
    result = CliRunner().invoke(main, ["report", "projekt", "weekly"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1
    assert (
        "project, user, job, org" in error_lines[0] and "did you mean 'project'" in error_lines[0]
    )


def test_bad_range_is_a_usage_error(ionq_env):
    result = CliRunner().invoke(main, ["report", "project", "weekly", "fortnight", "--now", NOW])
    assert result.exit_code == 2
    assert "not a range" in result.output


def test_missing_settings_are_named(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("IONQ_API_KEY", "IONQ_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 1
    assert "IONQ_API_KEY and IONQ_ORG_ID are not set" in result.output


def test_ionq_errors_are_one_line_without_traceback(ionq_env, monkeypatch):
    monkeypatch.setenv("IONQ_API_KEY", "not-the-key-XYZ")
    result = CliRunner().invoke(main, ["report", "--now", NOW])
    assert result.exit_code == 1
    assert "IonQ rejected the API key" in result.output
    assert "not-the-key-XYZ" not in result.output
    assert "Traceback" not in result.output


def test_console_script_runs_in_a_subprocess(ionq_env):
    # The installed entry point, not just the click object: what a user actually types.
    proc = subprocess.run(
        [sys.executable, "-m", "budgetbot", "report", "org", "monthly", "3m", "--now", NOW],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "IonQ spend by organization, monthly, 2026-09-01 to 2026-11-20" in proc.stdout


def test_a_range_out_of_bounds_is_a_usage_error(ionq_env):
    for args in (
        ["2026-01-01..9999-12-31", "--now", NOW],
        ["0001-01-01..0001-01-07", "--now", NOW],
        ["4w", "--now", "9999-12-31T12:00:00Z"],
        ["4w", "--now", "0001-01-02T00:00:00Z"],
    ):
        result = CliRunner().invoke(main, ["report", "project", "weekly", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), args
        error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(error_lines) == 1 and "2000-01-01" in error_lines[0], result.output
    assert ionq_env.usage_requests == []


def test_a_bad_range_is_a_usage_error_before_any_setting_is_needed(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in ("IONQ_API_KEY", "IONQ_ORG_ID"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(main, ["report", "project", "weekly", "2026-01-01..9999-12-31"])
    assert result.exit_code == 2, result.output
    assert "IONQ_API_KEY" not in result.output
