"""``budgetbot demo`` prints what it printed before the command line became a package.

tests/cli/demo.txt (standard output) was written by the single-module cli.py; only the
simulator's port and the policy folder's path (which differ per run and per checkout) are
normalized.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from budgetbot.cli import main
from budgetbot.sim import example_policies

GOLDEN = (Path(__file__).parent / "demo.txt").read_text()


def test_demo_output_is_unchanged(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./policies here: the shipped examples
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(main, ["demo", "--now", "2026-11-20T12:00:00Z"])
    assert result.exit_code == 0, result.output
    out = re.sub(r"http://127\.0\.0\.1:\d+", "http://SIM", result.stdout)
    assert out.replace(str(example_policies()), "POLICIES") == GOLDEN
