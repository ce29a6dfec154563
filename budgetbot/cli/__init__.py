"""The ``budgetbot`` command line: one module per command, each a thin layer over the library.

Commands read the clock once, turn settings into one :class:`~budgetbot.cli.runtime.Runtime`
(store, IonQ client, usage cache, Slack client) and hand it to the cycle, the scheduler or the
Slack app. ``budgetbot = "budgetbot.cli:main"`` and ``python -m budgetbot`` start here.
"""

from __future__ import annotations

# Importing a command module registers its command(s) on ``main``.
from . import audit, check, db, demo, digest, policies, queue, report, schedule, serve
from .group import main

__all__ = ["main"]

_COMMANDS = (audit, check, db, demo, digest, policies, queue, report, schedule, serve)
