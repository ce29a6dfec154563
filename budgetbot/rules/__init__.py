"""Budget rules: the policy language, its loader and UTC calendar periods.

Everything here is pure except :func:`load_policies`, which reads the policy files.
"""

from budgetbot.rules.loader import (
    PolicyError,
    PolicyLoadError,
    PolicySet,
    format_errors,
    load_policies,
)
from budgetbot.rules.models import (
    MEASURES,
    Anomaly,
    Budget,
    Digest,
    DigestPeriod,
    Measure,
    MeasureInfo,
    Policy,
    PolicyFile,
    PolicyItem,
    Scope,
    parse_window,
    policy_json_schema,
)
from budgetbot.rules.periods import (
    PERIODS,
    Period,
    elapsed_share,
    next_period,
    period_bounds,
    period_days,
    period_label,
    previous_period,
)

__all__ = [
    "MEASURES",
    "PERIODS",
    "Anomaly",
    "Budget",
    "Digest",
    "DigestPeriod",
    "Measure",
    "MeasureInfo",
    "Period",
    "Policy",
    "PolicyError",
    "PolicyFile",
    "PolicyItem",
    "PolicyLoadError",
    "PolicySet",
    "Scope",
    "elapsed_share",
    "format_errors",
    "load_policies",
    "next_period",
    "parse_window",
    "period_bounds",
    "period_days",
    "period_label",
    "policy_json_schema",
    "previous_period",
]
