"""The example policies shipped with budgetbot, tuned to fire on the simulated organization."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Final

from .model import Job, SimOrg

__all__ = ["DEMO_BATCH", "example_policies", "queue_demo_batch"]

#: The demo's story of committed spend: twenty minutes before "now", Quantum Chem queues fifteen
#: $400 jobs. Billed only after they ran, hours later; counted as committed at once.
DEMO_BATCH: Final = ("Quantum Chem", 15, Decimal(400), dt.timedelta(minutes=20))


def example_policies() -> Path:
    """The folder of example policy files inside the installed package."""
    return Path(__file__).with_name("policies")


def queue_demo_batch(org: SimOrg, now: dt.datetime) -> list[Job]:
    """Queue :data:`DEMO_BATCH` in ``org`` before ``now`` (the example policies' committed_at
    levels then fire in the demo)."""
    project, count, amount, before = DEMO_BATCH
    return org.submit(project, None, [amount] * count, now - before, name="FeMoco scan batch")
