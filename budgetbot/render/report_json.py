"""A report as JSON (``budgetbot report --json``): money as decimal strings, dates as ISO-8601."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from budgetbot.reports.build import Report

__all__ = ["report_json"]


def _decimal_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def report_json(report: Report) -> str:
    """The report as JSON: money as decimal strings, bounds as ``{low, high, exact}``."""

    def bound(b: Any) -> Any:
        return None if b is None else {"low": b.low, "high": b.high, "exact": b.exact}

    doc = {
        "grouping": report.grouping,
        "modality": report.modality,
        "start": report.start,
        "end_exclusive": report.end,
        "unit": "USD",
        "columns": [
            {"start": c.start, "end_exclusive": c.end, "partial": c.partial} for c in report.columns
        ],
        "rows": [
            {
                "key": r.key,
                "name": r.name,
                "cells": [
                    {"listed": c.listed, "at_most": c.cap if c.listed is None else c.listed}
                    for c in r.cells
                ],
                "total": bound(r.total),
            }
            for r in report.rows
        ],
        "other": list(report.other),
        "totals": list(report.totals),
        "qpu_hours": list(report.qpu_hours),
        "jobs": list(report.jobs),
        "grand_total": report.grand_total,
        "ionq_amount_total": report.reported_total,
        "notes": list(report.notes),
    }
    return json.dumps(doc, default=_decimal_default, indent=2)
