"""The job ledger: completed jobs' billed costs, summed per group and UTC day (exact figures
where IonQ's top-5 lists give only bounds)."""

from .model import LedgerDay, LedgerView

__all__ = ["LedgerDay", "LedgerView"]
