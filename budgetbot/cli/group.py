"""The ``budgetbot`` command group; each command lives in its own module of this package."""

from __future__ import annotations

import click

from budgetbot.logs import configure as configure_logging

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="budgetbot")
def main() -> None:
    """budgetbot: budget policies, alerts and reports for IonQ Quantum Cloud spend.

    Settings come from the environment or a .env file: IONQ_API_KEY, IONQ_ORG_ID,
    IONQ_BASE_URL, SLACK_BOT_TOKEN, DATABASE_URL, BUDGETBOT_POLICIES (see the README).
    Try `budgetbot demo` to see everything against a simulated organization.
    """
    configure_logging()
