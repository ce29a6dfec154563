"""The App Home's content, and the cycle hook that keeps it current.

:func:`home_for` renders a user's Home from burns and the outbox's latest alerts (the listener in
:mod:`budgetbot.slack.listeners.events` publishes it when the user opens the tab).
:class:`HomeRefresher` is the hook the ``check`` and ``schedule`` cycles call with the burns they
computed: it republishes the Home of every user who opened it within :data:`ACTIVE_VIEWERS`, so
the tab is current without asking IonQ again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient

from budgetbot.alerts.notifiers import DeliveryError
from budgetbot.alerts.outbox import AlertPayload, PayloadError, decode
from budgetbot.render.home import RECENT_ALERTS, HomeAlert, home_view
from budgetbot.rules.findings import Burn
from budgetbot.slack.deliver import publish_view
from budgetbot.store import Store

__all__ = [
    "ACTIVE_VIEWERS",
    "HomeRefresher",
    "home_alerts",
    "home_for",
    "may_see_user_spend",
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


def may_see_user_spend(viewers: frozenset[str] | None, user_id: str) -> bool:
    """Whether ``user_id`` may see budgets and alerts by user (``BUDGETBOT_USER_REPORTS``)."""
    return viewers is None or user_id in viewers


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
            show = may_see_user_spend(self.user_report_viewers, user)
            if show not in views:
                views[show] = home_for(self.store, burns, now, show_users=show)
            try:
                publish_view(self.client, user, views[show])
            except DeliveryError as exc:
                log.warning("%s", exc)
                continue
            done.append(user)
        return done
