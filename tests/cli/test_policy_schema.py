"""policy.schema.json: committed for editors, always what ``budgetbot schema`` prints, and named
by the example policies' ``yaml-language-server`` first line."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.sim import example_policies
from budgetbot.usage.measures import Measure, register, unregister

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "policy.schema.json"
MODELINE = "# yaml-language-server: $schema=../policy.schema.json"


def schema_drift() -> str:
    """The diff from the committed policy.schema.json to what ``budgetbot schema`` prints now."""
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    return "".join(
        difflib.unified_diff(
            SCHEMA_FILE.read_text().splitlines(keepends=True),
            result.output.splitlines(keepends=True),
            "policy.schema.json (committed)",
            "budgetbot schema",
        )
    )


def test_the_committed_schema_is_what_budgetbot_schema_prints():
    drift = schema_drift()
    assert not drift, (
        "policy.schema.json is out of date; regenerate it with `make schema`"
        " (or `budgetbot schema > policy.schema.json`):\n" + drift
    )


@pytest.fixture
def qpu_minutes() -> Iterator[Measure]:
    """A budget key only this test knows, as a new field of the policy models."""
    unit = register(Measure("qpu_minutes", "QPU minutes", lambda f: Decimal(0)))
    yield unit
    unregister(unit.key)


def test_a_field_added_to_the_models_without_regenerating_shows_as_drift(qpu_minutes):
    drift = schema_drift()
    assert '+        "qpu_minutes": {' in drift


@pytest.mark.parametrize("folder", [ROOT / "policies", example_policies()], ids=["repo", "package"])
def test_every_example_policy_names_the_schema_on_its_first_line(folder: Path):
    files = sorted(folder.glob("*.yaml"))
    assert files
    for f in files:
        assert f.read_text().splitlines()[0] == MODELINE, f
        # The relative path resolves from the file's folder, as an editor resolves it.
        assert (f.parent / "../policy.schema.json").read_text() == SCHEMA_FILE.read_text(), f
