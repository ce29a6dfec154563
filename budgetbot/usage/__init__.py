"""Usage data: normalized per-group series with exact or bounded figures, and how to fetch them."""

from .measures import MEASURES, Measure, measure, register
from .model import ZERO, Bound, Bucket, Figures, UsageSeries
from .normalize import UsageDataError, natural_end, normalize, usd_of
from .source import UsageClient, UsageSource

__all__ = [
    "MEASURES",
    "ZERO",
    "Bound",
    "Bucket",
    "Figures",
    "Measure",
    "UsageClient",
    "UsageDataError",
    "UsageSeries",
    "UsageSource",
    "measure",
    "natural_end",
    "normalize",
    "register",
    "usd_of",
]
