"""The example policies shipped with budgetbot, tuned to fire on the simulated organization."""

from __future__ import annotations

from pathlib import Path

__all__ = ["example_policies"]


def example_policies() -> Path:
    """The folder of example policy files inside the installed package."""
    return Path(__file__).with_name("policies")
