"""What the Slack listeners need besides the request, in a module of its own.

``app.py`` builds the Bolt app and registers the listeners; the listeners read :class:`Deps`. Both
import this module and neither imports the other, so there is no import circle between them.
Who builds a :class:`Deps` (``budgetbot serve``, the tests) decides where usage and the store
come from; ``budgetbot.cli.runtime`` builds it from the one shared ``Runtime``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from budgetbot.queue.model import QueueReader
from budgetbot.rules import PolicySet
from budgetbot.store import Store
from budgetbot.usage import UsageSource

if TYPE_CHECKING:
    from budgetbot.actions.execute import ActionRuntime

__all__ = ["Deps", "utc_now"]


def utc_now() -> dt.datetime:
    """The wall clock, in UTC: read once per request."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Deps:
    """What the listeners need besides the request: policies, usage and the clock."""

    rules: PolicySet
    #: A fresh usage source (its own per-request memo) each call.
    usage_source: Callable[[], UsageSource]
    #: Read once per request.
    now: Callable[[], dt.datetime] = utc_now
    #: Called when the process stops (closes the IonQ connection).
    close: Callable[[], None] = field(default=lambda: None)
    #: Slack user or channel ids that may see spend by user; None: everyone.
    user_report_viewers: frozenset[str] | None = None
    #: The state store: snoozes and acknowledgements from buttons, App Home viewers, the outbox.
    store: Store | None = None
    #: IonQ's queue (``/ionq-usage queue``); None: budgetbot does not read it here.
    queue_reader: Callable[[], QueueReader] | None = None

    def queue(self) -> QueueReader | None:
        """The queue reader, or None where budgetbot does not read the queue."""
        return None if self.queue_reader is None else self.queue_reader()

    #: The budget action service (store, IonQ keys, BUDGETBOT_ACTIONS), built on first click;
    #: None where budgetbot cannot act (no store).
    actions: Callable[[], ActionRuntime] | None = None
