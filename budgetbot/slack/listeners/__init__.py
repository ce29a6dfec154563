"""Listener registration: one ``register(app, deps)`` per module, called from one place.

``commands`` (``/ionq-usage``), ``actions`` (the alert buttons), ``budget_actions`` (a budget
action's approve and resubmit buttons), ``events`` (the App Home).
"""

from __future__ import annotations

from slack_bolt import App

from budgetbot.slack.deps import Deps

from .actions import register as register_actions
from .budget_actions import register as register_budget_actions
from .commands import register as register_commands
from .events import register as register_events

__all__ = ["register_listeners"]


def register_listeners(app: App, deps: Deps) -> None:
    """Bind every listener budgetbot has to ``app``."""
    register_commands(app, deps)
    register_actions(app, deps)
    register_budget_actions(app, deps)
    register_events(app, deps)
