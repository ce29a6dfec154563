"""``budgetbot audit``: the audit trail, newest first, as lines or JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.actions import records
from budgetbot.actions.execute import record_refusal
from budgetbot.cli import main
from budgetbot.store import Store
from tests.store.test_action_store import NOW, proposal


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return Store(url)


def test_an_empty_trail_says_so(db: Store) -> None:
    result = CliRunner().invoke(main, ["audit"])
    assert result.exit_code == 0, result.output
    assert result.output == "No budget action yet: the audit trail is empty.\n"


def test_the_trail_newest_first_as_lines_and_json(db: Store) -> None:
    p = proposal()
    records.add_proposal(db, p, NOW)
    record_refusal(db, p.id, "U0STRANGER", NOW + dt.timedelta(minutes=1))
    lines = CliRunner().invoke(main, ["audit"]).output.splitlines()
    assert lines == [
        "2026-11-20 12:01:00Z  refused        cap  Quantum Chem  by U0STRANGER"
        "  not an approver: nothing was done",
        "2026-11-20 12:00:00Z  proposed       cap  Quantum Chem"
        "  Cancel 2 queued jobs of Quantum Chem ($640.00 estimated); manual approval; mode on",
    ]
    as_json = json.loads(CliRunner().invoke(main, ["audit", "--json", "--limit", "1"]).output)
    assert [(e["event"], e["by_user"], e["proposal_id"]) for e in as_json] == [
        ("refused", "U0STRANGER", p.id)
    ]
