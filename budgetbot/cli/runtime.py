"""The process's connections, built from settings once and shared by every part that needs them.

A command (``check``, ``digest``, ``schedule``, ``serve``, ``demo``) makes one :class:`Runtime`;
the check cycle, the digest poster, the scheduler's jobs and the Slack listeners all take the IonQ
client, the usage cache, the store and the Slack client from it. Each is built on first use (a
command that fails on a missing IonQ key has not created a database yet) and closed once, when
the runtime is.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from pydantic import SecretStr

from budgetbot.ionq import IonQClient
from budgetbot.ledger.figures import LedgerFigures, RecentLedger
from budgetbot.ledger.reconcile import LedgerSource
from budgetbot.rules import PolicySet
from budgetbot.settings import Settings
from budgetbot.store import Store
from budgetbot.usage import UsageSource
from budgetbot.usage.cache import UsageCache

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from budgetbot.actions.outcomes import ActionRuntime
    from budgetbot.alerts.cycle import HomeHook
    from budgetbot.alerts.notifiers import Notifier
    from budgetbot.ledger.walk import LedgerReader
    from budgetbot.queue.reader import IonQQueueReader
    from budgetbot.slack.deps import Deps

__all__ = ["Runtime", "notice_channel", "serve_runtime", "slack_deps", "utc_now"]


def utc_now() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


class Runtime:
    """Settings turned into connections: store, IonQ client, usage cache, Slack client.

    ``ionq_endpoint`` (base URL, organization id, key) overrides the IonQ settings (the demo's
    simulator) and ``ionq_project_keys`` IONQ_PROJECT_KEYS (the simulator's project keys);
    ``store`` an already open store (the demo's throwaway one); ``ledger`` the ledger the
    figures are refined with when BUDGETBOT_LEDGER is on (default: IonQ's completed jobs walked
    with every key, :meth:`ledger_source`). ``ionq_limits``
    (deadline in seconds, attempts) bounds IonQ calls where someone waits for them (``serve``).
    Safe to share between threads: each connection is built once under a lock.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], dt.datetime] = utc_now,
        ionq_endpoint: tuple[str, str, SecretStr | str] | None = None,
        ionq_limits: tuple[float, int] | None = None,
        ionq_project_keys: Sequence[SecretStr | str] | None = None,
        store: Store | None = None,
        ledger: LedgerSource | None = None,
    ) -> None:
        self.settings = settings
        self._now = now
        self._endpoint = ionq_endpoint
        self._limits = ionq_limits
        self._project_keys = ionq_project_keys
        self._store = store
        self._ledger_source = ledger
        self._ionq: IonQClient | None = None
        self._cache: UsageCache | None = None
        self._queue: IonQQueueReader | None = None
        self._ledger: LedgerReader | None = None
        self._slack: WebClient | None = None
        self._notifiers: list[Notifier] | None = None
        self._closed = False
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return "Runtime()"  # settings hold secrets: say nothing about them

    def _open(self) -> None:
        # A connection built after close() would never be closed: refuse instead.
        if self._closed:
            raise RuntimeError("the runtime is closed")

    def store(self) -> Store:
        """The state store at DATABASE_URL, created or upgraded on first use."""
        with self._lock:
            self._open()
            if self._store is None:
                self._store = self.settings.store()
            return self._store

    def ionq(self) -> IonQClient:
        """The IonQ client; raises ``MissingSetting`` when the IonQ settings are missing."""
        with self._lock:
            self._open()
            if self._ionq is None:
                base_url, org_id, key = self._endpoint or self.settings.require_ionq()
                if self._limits is None:
                    self._ionq = IonQClient(base_url, org_id, key)
                else:
                    deadline, attempts = self._limits
                    self._ionq = IonQClient(
                        base_url, org_id, key, deadline=deadline, max_attempts=attempts
                    )
            return self._ionq

    def cache(self) -> UsageCache:
        """One usage cache for the process: settled buckets from the store, and identical
        concurrent queries sharing one IonQ call."""
        with self._lock:
            if self._cache is None:
                self._cache = UsageCache(self.ionq(), self.store(), now=self._now)
            return self._cache

    def queue_reader(self) -> IonQQueueReader:
        """The process's queue reader: IONQ_API_KEY's client and one per project key
        (IONQ_PROJECT_KEYS, sharing its connections), estimates kept in the store. Keys are
        asked ``/whoami`` once per process."""
        with self._lock:
            if self._queue is None:
                from budgetbot.queue.reader import IonQQueueReader

                self._queue = IonQQueueReader(self._job_clients(), self.store())
            return self._queue

    def ledger_reader(self) -> LedgerReader:
        """The process's ledger walk: the same keys as the queue reader (IONQ_API_KEY's client
        and one per project key), the ledger and its walk marks kept in the store."""
        with self._lock:
            if self._ledger is None:
                from budgetbot.ledger.walk import LedgerReader

                self._ledger = LedgerReader(self._job_clients(), self.store())
            return self._ledger

    def _job_clients(self) -> list[IonQClient]:
        """IONQ_API_KEY's client, then one per distinct project key (sharing its connections),
        each counting its own requests (a reader's counts are its own)."""
        main = self.ionq()
        keys = self._project_keys
        if keys is None:
            keys = self.settings.project_keys
        clients = [main.counted_apart()]
        for position, key in enumerate(keys, start=1):
            if any(client.has_key(key) for client in clients):
                continue  # the same key twice would read the same jobs twice
            label = f"IONQ_PROJECT_KEYS key {position}"
            clients.append(main.with_key(key, key_label=label))
        return clients

    def ledger_source(self) -> LedgerSource:
        """What the figures are refined with (BUDGETBOT_LEDGER): the walk of every key's
        completed jobs, a recent view used again (:class:`RecentLedger`), unless the runtime
        was given another."""
        with self._lock:
            self._open()
            if self._ledger_source is None:
                self._ledger_source = RecentLedger(self.ledger_reader())
            return self._ledger_source

    def action_runtime(self) -> ActionRuntime:
        """What budget actions need: the store, the queue reader's clients (IONQ_API_KEY's and
        one per project key: a job is cancelled with a key that sees it) and
        BUDGETBOT_ACTIONS."""
        from budgetbot.actions.outcomes import ActionRuntime

        clients = self.queue_reader().clients
        return ActionRuntime(self.store(), clients, mode=self.settings.budgetbot_actions)

    def usage_source(
        self,
        today: dt.date | None = None,
        *,
        cached: bool = True,
        at: dt.datetime | None = None,
        ledger: bool | None = None,
    ) -> UsageSource:
        """A fresh usage source (its own memo) over the shared client and cache.

        ``cached=False`` reads IonQ only (reports, backtests and the demo keep no state).
        With BUDGETBOT_LEDGER on, the figures are refined by the ledger read at ``at`` (default
        now) — for cached sources, or where ``ledger`` says so.
        """
        at = at or self._now()
        refiner = None
        if self.settings.budgetbot_ledger and (cached if ledger is None else ledger):
            refiner = LedgerFigures(self.ledger_source(), at)
        if not cached:
            return UsageSource(self.ionq(), refiner=refiner)
        client, cache = self.ionq(), self.cache()
        return UsageSource(client, cache=cache, today=today or at.date(), refiner=refiner)

    def slack_client(self) -> WebClient | None:
        """The Slack Web API client, or None without SLACK_BOT_TOKEN."""
        if self.settings.slack_bot_token is None:
            return None
        with self._lock:
            if self._slack is None:
                from budgetbot.slack.deliver import make_web_client

                self._slack = make_web_client(
                    self.settings.slack_bot_token.get_secret_value(), self.settings.slack_api_url
                )
            return self._slack

    def notifiers(self) -> list[Notifier]:
        """This process's notifiers: Slack (channels and direct messages) when SLACK_BOT_TOKEN
        is set, else the terminal."""
        with self._lock:
            if self._notifiers is None:
                client = self.slack_client()
                if client is None:
                    from budgetbot.alerts.console import ConsoleNotifier

                    self._notifiers = [ConsoleNotifier(sys.stdout)]
                else:
                    from budgetbot.slack.direct import DirectMessageNotifier
                    from budgetbot.slack.notifier import SlackNotifier

                    self._notifiers = [
                        SlackNotifier(
                            client, default_channel=self.settings.budgetbot_default_channel
                        ),
                        DirectMessageNotifier(client),
                    ]
            return self._notifiers

    def home_hook(self) -> HomeHook | None:
        """After each cycle, refresh the App Home of those who opened it (with SLACK_BOT_TOKEN)."""
        client = self.slack_client()
        if client is None:
            return None
        from budgetbot.slack.home import HomeRefresher

        return HomeRefresher(
            client, self.store(), user_report_viewers=self.settings.user_report_viewers
        )

    def close(self) -> None:
        """Close the IonQ client and the store; a second call does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            ionq, store = self._ionq, self._store
            self._ionq = self._cache = self._queue = self._ledger = None
            self._store = None
        if ionq is not None:
            ionq.close()
        if store is not None:
            store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def notice_channel(settings: Settings, rules: PolicySet) -> str | None:
    """Where operational notices go: the default channel, else the first rule's channel."""
    if settings.budgetbot_default_channel:
        return settings.budgetbot_default_channel
    return next((p.channel for p in rules.policies if p.channel), None)


def serve_runtime(settings: Settings, *, now: Callable[[], dt.datetime] = utc_now) -> Runtime:
    """The web process's runtime: someone waits in Slack, so IonQ is given up on sooner than a
    scheduled check would (``INTERACTIVE_DEADLINE``, ``INTERACTIVE_ATTEMPTS``)."""
    from budgetbot.slack.app import INTERACTIVE_ATTEMPTS, INTERACTIVE_DEADLINE

    return Runtime(settings, now=now, ionq_limits=(INTERACTIVE_DEADLINE, INTERACTIVE_ATTEMPTS))


def slack_deps(
    runtime: Runtime, rules: PolicySet, *, now: Callable[[], dt.datetime] = utc_now
) -> Deps:
    """What ``serve``'s listeners need, from the shared runtime: one IonQ client and cache for
    every request, the store, the budget action service (built on the first click), and
    ``runtime.close`` when the process stops."""
    from budgetbot.slack.deps import Deps

    def usage_source() -> UsageSource:
        return runtime.usage_source(at=now())

    return Deps(
        rules=rules,
        usage_source=usage_source,
        now=now,
        close=runtime.close,
        user_report_viewers=runtime.settings.user_report_viewers,
        store=runtime.store(),
        queue_reader=runtime.queue_reader,
        actions=runtime.action_runtime,
    )
