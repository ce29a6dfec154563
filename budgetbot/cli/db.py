"""``budgetbot db``: the state store's schema."""

from __future__ import annotations

import click

from budgetbot.settings import Settings

from .group import main
from .options import friendly_errors
from .runtime import Runtime

__all__ = ["db", "db_upgrade"]


@main.group()
def db() -> None:
    """Manage the state store (DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to this budgetbot's version.

    Safe to run on every deploy (the Procfile's release step does) and from several processes
    at once. Reads DATABASE_URL (default sqlite:///budgetbot.db).

    Example: DATABASE_URL=postgresql://bot@db/budgetbot budgetbot db upgrade
    """
    settings = Settings()
    with friendly_errors(), Runtime(settings) as runtime:
        version = runtime.store().schema_version()
    click.echo(f"database schema at version {version}")
