"""The App Home: published when a user opens it, and refreshed after every check cycle.

``app_home_opened`` (Bolt acknowledges events by itself) records the user as a Home viewer in the
store, computes every budget's burn for the current period and publishes the view rendered by
:func:`budgetbot.render.home.home_view`. :class:`HomeRefresher` is the hook the ``check`` and
``schedule`` cycles call with the burns they computed: it republishes the Home of every user who
opened it within :data:`ACTIVE_VIEWERS`, so the tab is current without asking IonQ again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient

from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.alerts.outbox import AlertPayload, PayloadError, decode
from budgetbot.ionq import IonQError
from budgetbot.render.home import RECENT_ALERTS, HomeAlert, home_view
from budgetbot.reports.fetch import fetch_burns
from budgetbot.rules.findings import Burn
from budgetbot.settings import MissingSetting
from budgetbot.slack.deliver import publish_view
from budgetbot.store import Store
from budgetbot.usage import UsageDataError

from .commands import failure_sentence

if TYPE_CHECKING:
    from budgetbot.slack.app import Deps

__all__ = [
    "ACTIVE_VIEWERS",
    "HomeRefresher",
    "handle_home_opened",
    "home_alerts",
    "home_for",
    "register",
]

log = logging.getLogger("budgetbot.slack.home")

#: Users who opened the Home tab within this long have it refreshed after each cycle.
ACTIVE_VIEWERS = dt.timedelta(days=30)
#: Outbox rows read to find the latest alerts (digests and notices are skipped).
_RECENT_ROWS = 100


def home_alerts(store: Store, now: dt.datetime, limit: int = RECENT_ALERTS) -> list[HomeAlert]:
    """The latest ``limit`` alerts of the outbox, newest first, with acks and snoozes."""
    snoozes = store.active_snoozes(now)
    out: list[HomeAlert] = []
    for row in store.recent_notifications(_RECENT_ROWS):
        try:
            payload = decode(row.payload)
        except PayloadError:
            continue
        if not isinstance(payload, AlertPayload):
            continue
        finding = payload.finding
        snooze = snoozes.get((finding.rule, finding.group_key))
        out.append(
            HomeAlert(
                finding,
                row.created_at,
                sent=row.sent_at is not None,
                acknowledged_by=tuple(a.by_user for a in store.acks(row.dedup_key)),
                snoozed_until=snooze.until if snooze else None,
            )
        )
        if len(out) >= limit:
            break
    return out


def _visible(
    burns: Sequence[Burn], alerts: Sequence[HomeAlert], show_users: bool
) -> tuple[list[Burn], list[HomeAlert]]:
    if show_users:
        return list(burns), list(alerts)
    return (
        [b for b in burns if b.scope != "user"],
        [a for a in alerts if a.finding.scope != "user"],
    )


def home_for(
    store: Store | None,
    burns: Sequence[Burn],
    now: dt.datetime,
    *,
    show_users: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    """The Home view at ``now``; without ``show_users``, budgets and alerts by user are left out
    (``BUDGETBOT_USER_REPORTS``)."""
    alerts = home_alerts(store, now) if store is not None else []
    shown_burns, shown_alerts = _visible(burns, alerts, show_users)
    return home_view(shown_burns, shown_alerts, now, note=note)


def _may_see_users(viewers: frozenset[str] | None, user_id: str) -> bool:
    return viewers is None or user_id in viewers


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
        burns = fetch_burns(deps.rules, deps.usage_source(), now)
    except (IonQError, MissingSetting, UsageDataError) as exc:
        logger.warning("App Home for %s: no budgets: %s: %s", user, type(exc).__name__, exc)
        note = failure_sentence(exc)
    view = home_for(
        deps.store,
        burns,
        now,
        show_users=_may_see_users(deps.user_report_viewers, user),
        note=note,
    )
    try:
        publish_view(client, user, view)
    except DeliveryError as exc:
        logger.warning("%s", exc)


class HomeRefresher:
    """The cycle's App Home hook: republish the Home of every recent viewer with new burns.

    A failure for one user is logged and the others still get theirs.
    """

    def __init__(
        self,
        client: WebClient,
        store: Store,
        *,
        user_report_viewers: frozenset[str] | None = None,
        active_within: dt.timedelta = ACTIVE_VIEWERS,
    ) -> None:
        self.client = client
        self.store = store
        self.user_report_viewers = user_report_viewers
        self.active_within = active_within

    def __repr__(self) -> str:
        return "HomeRefresher()"

    def __call__(self, burns: Sequence[Burn], now: dt.datetime) -> None:
        self.refresh(burns, now)

    def refresh(self, burns: Sequence[Burn], now: dt.datetime) -> list[str]:
        """Publish to every recent viewer; returns the users whose Home was refreshed."""
        users = self.store.home_viewers(since=now - self.active_within)
        views: dict[bool, dict[str, Any]] = {}
        done = []
        for user in users:
            show = _may_see_users(self.user_report_viewers, user)
            if show not in views:
                views[show] = home_for(self.store, burns, now, show_users=show)
            try:
                publish_view(self.client, user, views[show])
            except DeliveryError as exc:
                log.warning("%s", exc)
                continue
            done.append(user)
        return done


def register(app: App, deps: Deps) -> None:
    """Bind ``app_home_opened`` to :func:`handle_home_opened` with ``deps``."""

    def app_home_opened(event: dict[str, Any], client: WebClient, logger: logging.Logger) -> None:
        handle_home_opened(event, client, deps, logger)

    app.event("app_home_opened")(app_home_opened)
