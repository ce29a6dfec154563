"""The App Home tab: published when a user opens it.

``app_home_opened`` (Bolt acknowledges events by itself) records the user as a Home viewer in the
store, computes every budget's burn for the current period and publishes the view built by
:func:`budgetbot.slack.home.home_for`. The refresh after every check cycle is
:class:`budgetbot.slack.home.HomeRefresher`, a cycle hook, not a listener.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.ionq import IonQError
from budgetbot.reports.fetch import fetch_burns, read_queue
from budgetbot.rules.findings import Burn
from budgetbot.settings import MissingSetting
from budgetbot.slack.deliver import publish_view
from budgetbot.slack.deps import Deps
from budgetbot.slack.home import home_for, may_see_user_spend
from budgetbot.slack.replies import failure_sentence
from budgetbot.usage import UsageDataError

__all__ = ["handle_home_opened", "register"]

log = logging.getLogger("budgetbot.slack.home")


def handle_home_opened(
    event: Mapping[str, Any],
    client: WebClient,
    deps: Deps,
    logger: logging.Logger = log,
) -> None:
    """Record the viewer, compute the budgets' burn and publish the Home view."""
    if event.get("tab", "home") != "home":
        return  # the Messages tab
    user = str(event.get("user") or "")
    if not user:
        return
    now = deps.now()
    if deps.store is not None:
        deps.store.add_home_viewer(user, now)
    burns: list[Burn] = []
    note = None
    try:
        queue = read_queue(deps.queue(), deps.rules, now)
        burns = fetch_burns(deps.rules, deps.usage_source(), now, queue)
    except (IonQError, MissingSetting, UsageDataError) as exc:
        logger.warning("App Home for %s: no budgets: %s: %s", user, type(exc).__name__, exc)
        note = failure_sentence(exc)
    view = home_for(
        deps.store,
        burns,
        now,
        show_users=may_see_user_spend(deps.user_report_viewers, user),
        note=note,
    )
    try:
        publish_view(client, user, view)
    except DeliveryError as exc:
        logger.warning("%s", exc)


def register(app: App, deps: Deps) -> None:
    """Bind ``app_home_opened`` to :func:`handle_home_opened` with ``deps``."""

    def app_home_opened(event: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
        handle_home_opened(event, client, deps, logger)

    app.event("app_home_opened")(app_home_opened)
