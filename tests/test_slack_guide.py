"""docs/connect-to-slack.md takes a newcomer from an empty workspace to alerts in Slack (item 18).

The guide is checked against the code: every ``budgetbot`` command it shows exists (with the
flags it uses), every bot scope of the manifest is named, and the steps without which nothing
is ever posted are there: the clock process, one shared database, HTTPS, where the settings
come from.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from budgetbot.cli import main

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "connect-to-slack.md").read_text()


def _commands() -> list[list[str]]:
    """``budgetbot …`` command lines of the guide (code blocks and inline code)."""
    blocks = "\n".join(re.findall(r"```sh\n(.*?)```", GUIDE, re.DOTALL))
    found = re.findall(r"^\s*(budgetbot [^\n#]*)", blocks, re.MULTILINE)
    found += re.findall(r"`(budgetbot [^`]*)`", GUIDE)
    return [shlex.split(line.strip())[1:] for line in found]


def test_every_command_in_the_guide_exists_with_its_flags() -> None:
    commands = _commands()
    assert len(commands) >= 6
    for argv in commands:
        words = [a for a in argv if not a.startswith("-")]
        flags = [a.split("=")[0] for a in argv if a.startswith("--")]
        path = words[:2] if words[:1] == ["db"] else words[:1]
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (argv, result.output)
        for flag in flags:
            assert flag in result.output, (argv, flag)


def test_the_guide_runs_the_clock_process_on_a_shared_database() -> None:
    # Without `schedule` no alert, digest or Home refresh ever happens.
    assert ["schedule"] in _commands()
    assert "same** `DATABASE_URL`" in GUIDE
    for needed in ("IONQ_ORG_ID", "IONQ_API_KEY", "HTTPS", "pip install", "Socket Mode"):
        assert needed in GUIDE, needed


def test_the_guide_says_to_create_or_change_the_example_channels_and_groups() -> None:
    shipped = "\n".join(p.read_text() for p in sorted((REPO / "policies").glob("*.yaml")))
    channels = set(re.findall(r'channel: "(#[a-z0-9-]+)"', shipped))
    groups = set(re.findall(r'"(@[a-z0-9-]+)"', shipped))
    assert channels and groups
    for name in channels | groups:
        assert f"`{name}`" in GUIDE, name


def test_every_manifest_scope_is_explained() -> None:
    manifest = yaml.safe_load((REPO / "slack-manifest.yaml").read_text())
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in GUIDE, scope
