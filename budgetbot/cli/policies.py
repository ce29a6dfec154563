"""``budgetbot validate`` and ``budgetbot schema``: the policy files, checked and described."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetbot.rules.models import policy_json_schema
from budgetbot.settings import Settings

from .group import main
from .options import _load

__all__ = ["schema", "validate"]


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check policy files; every error names its file, line and field.

    PATHS are policy files or folders of them, checked together as one set (default:
    BUDGETBOT_POLICIES, else ./policies). Exits 1 when any file has an error, listing all of
    them.

    Example: budgetbot validate policies/
    """
    targets = paths or (Settings().budgetbot_policies,)
    rules = _load(*targets)
    click.echo(
        f"{', '.join(map(str, targets))}: {len(rules.files)} file(s) OK:"
        f" {len(rules.policies)} policies, {len(rules.anomalies)} anomaly watches,"
        f" {len(rules.digests)} digests"
    )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the policy file format (for editors).

    Example: budgetbot schema > policy.schema.json
    """
    click.echo(json.dumps(policy_json_schema(), indent=2))
