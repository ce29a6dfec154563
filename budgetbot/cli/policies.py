"""``budgetbot validate`` and ``budgetbot schema``: the policy files, checked and described."""

from __future__ import annotations

import json
from pathlib import Path

import click

from budgetbot.rules import PolicySet
from budgetbot.rules.models import policy_json_schema
from budgetbot.rules.people import is_glob, unmapped_users
from budgetbot.settings import Settings

from .group import main
from .options import _load, friendly_errors

__all__ = ["schema", "validate"]


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--strict",
    is_flag=True,
    help=(
        "Also fail on IonQ users a 'notify: person' policy alerts about that 'people:' does not"
        " map: those named in 'match:', and those the store (DATABASE_URL) has seen."
    ),
)
def validate(paths: tuple[Path, ...], strict: bool) -> None:
    """Check policy files; every error names its file, line and field.

    PATHS are policy files or folders of them, checked together as one set (default:
    BUDGETBOT_POLICIES, else ./policies). Exits 1 when any file has an error, listing all of
    them; with --strict, also when a user a 'notify: person' policy would tell has no
    'people:' entry, listing them.

    Example: budgetbot validate --strict policies/
    """
    settings = Settings()
    targets = paths or (settings.budgetbot_policies,)
    rules = _load(*targets)
    click.echo(
        f"{', '.join(map(str, targets))}: {len(rules.files)} file(s) OK:"
        f" {len(rules.policies)} policies, {len(rules.anomalies)} anomaly watches,"
        f" {len(rules.digests)} digests" + (f", {len(rules.people)} people" if rules.people else "")
    )
    if strict and unmapped_report(rules, _known_users(settings)):
        raise SystemExit(1)


def unmapped_report(rules: PolicySet, known: dict[str, str]) -> bool:
    """Print each ``notify: person`` policy's unmapped users; True if there is one."""
    found = False
    for policy in rules.policies:
        if policy.notify != "person":
            continue
        if not known and (policy.match is None or any(is_glob(m) for m in policy.match)):
            click.echo(
                f"{policy.source}: policy {policy.name}: the users its match: covers are not"
                " known yet (no store has seen them): each cycle logs any without people:",
                err=True,
            )
        for user in unmapped_users(policy.match, rules.people, known):
            found = True
            click.echo(
                f"{policy.source}: policy {policy.name}: IonQ user {user!r} has no entry in"
                " people: (no direct message can reach them)",
                err=True,
            )
    return found


def _known_users(settings: Settings) -> dict[str, str]:
    """The IonQ users (id → name) the store has seen; none when there is no store yet
    (validating must not create one)."""
    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return {}
    with friendly_errors():
        store = settings.store()
        try:
            return store.group_names("user")
        finally:
            store.close()


@main.command()
def schema() -> None:
    """Print the JSON Schema of the policy file format (for editors).

    Example: budgetbot schema > policy.schema.json
    """
    click.echo(json.dumps(policy_json_schema(), indent=2))
