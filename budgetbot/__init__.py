"""budgetbot: budget policies, alerts and reports for IonQ Quantum Cloud spend, in Slack."""

__version__ = "0.1.0"
