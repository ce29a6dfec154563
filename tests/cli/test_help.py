"""Every command's --help, word for word as before the command line became a package.

tests/cli/help.json was written by the single-module cli.py (issue 12 moved each command into its
own module of budgetbot/cli/); a change to a help text is a change to what users read, so it is
made there on purpose, never by accident.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from budgetbot.cli import main

GOLDEN = json.loads((Path(__file__).parent / "help.json").read_text())


@pytest.mark.parametrize("command", sorted(GOLDEN))
def test_help_is_unchanged(command):
    args = [] if command == "budgetbot" else command.split()
    result = CliRunner().invoke(main, [*args, "--help"], prog_name="budgetbot")
    assert result.exit_code == 0, result.output
    assert result.output == GOLDEN[command]


def test_every_command_has_a_golden_help():
    names = {"budgetbot", *main.commands}  # type: ignore[attr-defined]
    assert names <= set(GOLDEN)


def _command_names(help_text: str) -> list[str]:
    listing = help_text.split("Commands:")[1]
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def test_python_dash_m_is_the_same_command():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "budgetbot", "--help"], capture_output=True, text=True, check=True
    )
    golden = GOLDEN["budgetbot"]
    # The terminal's width changes where lines wrap and summaries end, not what is listed.
    assert out.stdout.splitlines()[0] == golden.splitlines()[0]
    assert _command_names(out.stdout) == _command_names(golden)
