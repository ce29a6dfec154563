"""Listener registration: one ``register(app, deps)`` per module, called from one place.

Issue by issue more modules join here (buttons in ``actions``, the App Home in ``events``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App

from .commands import register as register_commands

if TYPE_CHECKING:
    from budgetbot.slack.app import Deps

__all__ = ["register_listeners"]


def register_listeners(app: App, deps: Deps) -> None:
    """Bind every listener budgetbot has to ``app``."""
    register_commands(app, deps)
