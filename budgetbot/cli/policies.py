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
@click.argument("path", type=click.Path(path_type=Path), required=False)
def validate(path: Path | None) -> None:
    """Check policy files; every error names its file, line and field.

    PATH is a policy file or a folder of them (default: BUDGETBOT_POLICIES, else ./policies).
    Exits 1 when any file has an error, listing all of them.

    Example: budgetbot validate policies/
    """
    target = path or Settings().budgetbot_policies
    rules = _load(target)
    click.echo(
        f"{target}: {len(rules.files)} file(s) OK: {len(rules.policies)} policies,"
        f" {len(rules.anomalies)} anomaly watches, {len(rules.digests)} digests"
    )


@main.command()
def schema() -> None:
    """Print the JSON Schema of the policy file format (for editors).

    Example: budgetbot schema > policy.schema.json
    """
    click.echo(json.dumps(policy_json_schema(), indent=2))
