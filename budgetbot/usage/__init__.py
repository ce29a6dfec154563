"""Usage data: normalized per-group series with exact or bounded figures, and how to fetch them."""

from .model import ZERO, Bound, Bucket, Figures, Measure, UsageSeries
from .normalize import UsageDataError, natural_end, normalize, usd_of
from .source import UsageClient, UsageSource

__all__ = [
    "ZERO",
    "Bound",
    "Bucket",
    "Figures",
    "Measure",
    "UsageClient",
    "UsageDataError",
    "UsageSeries",
    "UsageSource",
    "natural_end",
    "normalize",
    "usd_of",
]
